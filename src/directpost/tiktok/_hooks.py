"""Hooks around every HTTP request the clients send: a gate before, an observer after.

An application passes one `RequestHooks` to a client to stop all traffic at once (raise from
`before_request`: nothing is sent, the exception reaches the caller unchanged and is never
retried) or to measure what TikTok answers (`after_request`, called once per request sent,
answered or not). Both are called on the caller's thread, for the async client too: keep them
short (a primary-key read, a counter), they sit on every request's path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from ._http import Response


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request sent and what came of it."""

    method: str
    #: The URL without its query string (upload URLs carry an upload token there).
    url: str
    #: The HTTP status, or None when no answer came (connection refused, timeout).
    status: int | None
    #: TikTok's `error.code` for an answer that is not 2xx ("" when the body has none); "ok"
    #: for a 2xx answer (its body is not read again here: that is the caller's job).
    error_code: str
    seconds: float


class RequestHooks(Protocol):
    """What an application may do around each request (see the module's docstring)."""

    def before_request(self, method: str, url: str) -> None:
        """Called before a request leaves; raise to refuse it (nothing is sent)."""
        ...

    def after_request(self, exchange: Exchange) -> None:
        """Called after a request was sent, with its answer's outline (or none)."""
        ...


def exchange_of(method: str, url: str, response: Response | None, seconds: float) -> Exchange:
    """The `Exchange` for a request and its answer (None: no answer came)."""
    bare = url.split("?", 1)[0]
    if response is None:
        return Exchange(method, bare, None, "", seconds)
    if 200 <= response.status < 300:
        return Exchange(method, bare, response.status, "ok", seconds)
    return Exchange(method, bare, response.status, _error_code(response.content), seconds)


def _error_code(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str):
        return code[:64]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:64]  # the OAuth endpoints' flat shape
    return ""
