"""A request id for every HTTP request: in the log context of everything the request logs, and
in the `X-Request-ID` response header, so an operator can find a user's failed request.

A pure ASGI middleware (no `BaseHTTPMiddleware`: that would run the route in another task and
cost a copy of the response stream). An id sent by a reverse proxy in front is kept when it looks
like one (letters, digits, `-`, `_`, `.`, `:`, at most 128 characters); anything else is replaced,
so a header cannot write arbitrary text into the logs.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directpost import logs

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The incoming id when it is sane, else a fresh one."""
    for name, value in headers:
        if name.lower() == HEADER and _SANE.fullmatch(value.strip()):
            return value.strip().decode("ascii")
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request id for the request's log lines and answers it in `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        with logs.log_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)
