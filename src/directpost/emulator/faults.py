"""Fault injection: the next N calls of an endpoint answer an error, a 5xx, a delay or a drop.

An ASGI middleware in front of every route, so the routes stay unaware of it. The ``authorize``
fault is applied by the consent route itself (it answers by redirecting), ``processing`` and
``pull`` by the processing pipeline, ``webhook`` as events are queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import API_ERROR_STATUS, OAUTH_ERROR_CODES, ApiError, OAuthError
from .responses import api_error, oauth_error

PATH_ENDPOINTS: dict[str, str] = {
    "/v2/oauth/token/": "token",
    "/v2/oauth/revoke/": "revoke",
    "/v2/user/info/": "user_info",
    "/v2/post/publish/creator_info/query/": "creator_info",
    "/v2/post/publish/video/init/": "video_init",
    "/v2/post/publish/inbox/video/init/": "inbox_video_init",
    "/v2/post/publish/content/init/": "content_init",
    "/v2/post/publish/status/fetch/": "status_fetch",
    "/v2/post/publish/cancel/": "cancel",
    "/v2/video/query/": "video_query",
    "/upload/video/": "upload",
}
# `webhook` faults (delay_s, duplicate, reorder) are applied as events are queued
# (backend/webhook_events.py).
FAULT_ENDPOINTS = frozenset(
    {*PATH_ENDPOINTS.values(), "authorize", "processing", "pull", "webhook"}
)


class DroppedConnection(Exception):
    """Raised after a partial response so the server closes the connection mid-answer."""


class _HideInjectedDrops(logging.Filter):
    """Keeps uvicorn from logging an injected drop as "Exception in ASGI application".

    The drop is the behaviour a test asked for, not a crash; uvicorn still closes the
    connection because the answer had started. Any other exception is logged as before.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def hide_injected_drops_from_server_logs() -> None:
    """Install the filter on uvicorn's error logger once (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideInjectedDrops) for f in logger.filters):
        logger.addFilter(_HideInjectedDrops())


#: How much of a refused chunk an injected upload error reads before answering (the largest
#: chunk TikTok allows, and a margin); past it the answer closes the connection.
_DRAIN_LIMIT = 129 * 1024 * 1024


async def _drain(receive: Receive, limit: int) -> bool:
    """Read the request's body and drop it; False when it went past `limit` (left unread)."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        seen += len(message.get("body", b""))
        if seen > limit:
            return False
        if not message.get("more_body", False):
            return True


class FaultMiddleware:
    """Applies the queued fault for the request's endpoint, if any."""

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.runtime.ensure_ticker()
        path = scope["path"]
        if not path.startswith("/_emulator/"):
            self.runtime.requests.append((time.time(), scope["method"], path))
        endpoint = PATH_ENDPOINTS.get(path)
        backend = self.runtime.backend
        fault = backend.take_fault(endpoint) if endpoint else None
        if fault is None:
            await self.app(scope, receive, send)
            self.runtime.kick()
            return
        if fault.delay_s > 0:
            await asyncio.sleep(fault.delay_s)
        if fault.drop:
            await self._drop(scope, receive, send, fault.drop_after_bytes, endpoint or "")
            return
        if fault.error or fault.status:
            await self._error_response(scope, receive, send, fault, endpoint or "")
            return
        await self.app(scope, receive, send)
        self.runtime.kick()

    async def _drop(
        self, scope: Scope, receive: Receive, send: Send, after_bytes: int, endpoint: str
    ) -> None:
        if endpoint == "upload":
            # Read part of the body, then vanish: nothing of this chunk is kept.
            seen = 0
            while seen < after_bytes:
                message = await receive()
                seen += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        else:
            # The request is processed, the answer is lost (the ambiguous-init case).
            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            self.runtime.kick()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise DroppedConnection(f"fault injection dropped the connection on {endpoint}")

    async def _error_response(
        self, scope: Scope, receive: Receive, send: Send, fault: Any, endpoint: str
    ) -> None:
        now = self.runtime.backend.now()
        if endpoint == "upload":
            status = fault.status or 500
            # The chunk's body is read first, as the upload host does for its own refusals, so
            # a client that writes the whole body before reading (urllib) sees the answer.
            headers = [] if await _drain(receive, _DRAIN_LIMIT) else [(b"connection", b"close")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        code = fault.error or "internal_error"
        message = fault.message or "Injected by the emulator's fault control."
        if endpoint in ("token", "revoke") and code in OAUTH_ERROR_CODES:
            response = oauth_error(OAuthError(code, message), status=fault.status or 500, now=now)
        else:
            status = fault.status or API_ERROR_STATUS.get(code, 500)
            response = api_error(ApiError(code, message, status), now=now)
        await response(scope, receive, send)
