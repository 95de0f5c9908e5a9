"""The library's single seam to HTTP: the only module that imports httpx2.

Everything above this module speaks in `Request` / `Response` values (see `_ops.py`), so the
clients, the upload resume logic and the tests never depend on the HTTP library's types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import httpx2

from ._errors import TransportError

Transport: TypeAlias = httpx2.BaseTransport
"""A synchronous transport (httpx2 `BaseTransport`): inject one to point the client anywhere."""

AsyncTransport: TypeAlias = httpx2.AsyncBaseTransport
"""An asynchronous transport (httpx2 `AsyncBaseTransport`), e.g. `ASGITransport(app=...)`."""


class BodyStream(Protocol):
    """A request body produced lazily (see `_upload.StreamBody`)."""

    def iter_sync(self) -> Iterator[bytes]:
        """The body's pieces, for the sync client."""
        ...

    def iter_async(self) -> AsyncIterator[bytes]:
        """The body's pieces, for the async client."""
        ...


@dataclass(frozen=True)
class Response:
    """An HTTP answer, fully read: status, headers (lower-case names) and body bytes."""

    status: int
    headers: Mapping[str, str]
    content: bytes = b""


@dataclass(frozen=True)
class Request:
    """One HTTP request to send; exactly one of `form`, `json`, `body` may be set."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    form: Mapping[str, str] | None = None
    json: Any = None
    body: BodyStream | None = None
    """For uploads: read lazily, ≤ 1 MiB at a time."""


def _args(request: Request) -> dict[str, Any]:
    """The keyword arguments both clients pass to httpx2 for `request` (all but the body)."""
    return {
        "headers": dict(request.headers),
        "params": dict(request.params) if request.params is not None else None,
        "data": dict(request.form) if request.form is not None else None,
        "json": request.json,
    }


def _headers(resp: httpx2.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in resp.headers.items()}


class SyncHTTP:
    """Sends `Request`s with a pooled httpx2 client and maps its failures to `TransportError`."""

    def __init__(self, *, timeout: float, transport: Transport | None) -> None:
        self._client = httpx2.Client(timeout=timeout, transport=transport, trust_env=False)

    def send(self, request: Request) -> Response:
        """Send one request and read the whole answer."""
        content = request.body.iter_sync() if request.body is not None else None
        try:
            resp = self._client.request(
                request.method, request.url, content=content, **_args(request)
            )
        except httpx2.TransportError as exc:
            raise TransportError(f"{request.method} {_safe_url(request.url)}: {exc!r}") from exc
        return Response(resp.status_code, _headers(resp), resp.content)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()


class AsyncHTTP:
    """The asynchronous twin of `SyncHTTP`."""

    def __init__(self, *, timeout: float, transport: AsyncTransport | None) -> None:
        self._client = httpx2.AsyncClient(timeout=timeout, transport=transport, trust_env=False)

    async def send(self, request: Request) -> Response:
        """Send one request and read the whole answer."""
        content = request.body.iter_async() if request.body is not None else None
        try:
            resp = await self._client.request(
                request.method, request.url, content=content, **_args(request)
            )
        except httpx2.TransportError as exc:
            raise TransportError(f"{request.method} {_safe_url(request.url)}: {exc!r}") from exc
        return Response(resp.status_code, _headers(resp), resp.content)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()


def _safe_url(url: str) -> str:
    """The URL without its query string: upload URLs carry an upload token."""
    return url.split("?", 1)[0]
