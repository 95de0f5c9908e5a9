"""The emulator's only door to the network: pulling media (a lean HTTP/1.1 GET parsed by
httptools), delivering webhooks and forwarding ``--record``'s requests upstream (httpx2)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

import httptools
import httpx2


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every outbound request. Building it (loading the CA bundle) took
    ~25 ms of CPU, more than the rest of a pull or a webhook delivery together, and each request
    made a new one. Each request still opens its own client and connection, as TikTok would."""
    return httpx2.create_ssl_context()


class PullFailed(Exception):
    """A PULL_FROM_URL download could not complete."""


#: What the emulator's media pulls say they are.
PULL_USER_AGENT = "directpost-emulator-pull/1"


#: One read of a pulled body (a reused buffer per connection; asyncio reads up to this much).
_PULL_READ = 1024 * 1024
_CONNECT_TIMEOUT_S = 10.0


class _PullAnswer(asyncio.BufferedProtocol):
    """One GET's answer, parsed by httptools as it arrives; the body goes to the sink.

    Pulling a 4 MB video through httpx2's layers (anyio stream, httpcore, h11, the response's
    async iterators) cost ~9 ms of CPU per pull, and in the burst of 1,000 posts the emulator
    (one event loop doing TikTok's side: inits, pulls, webhooks) was the busiest process; read
    into one reused buffer and parsed in C, the same pull costs ~4 ms, file writes included.
    """

    def __init__(self, url: str, sink: Callable[[bytes], None], max_bytes: int) -> None:
        self._url = url
        self._sink = sink
        self._max_bytes = max_bytes
        self._buffer = memoryview(bytearray(_PULL_READ))
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.BaseTransport | None = None
        self.total = 0
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        try:
            self._parser.feed_data(self._buffer[:nbytes])
        except httptools.HttpParserCallbackError as exc:  # raised by a callback below
            cause = exc.__context__
            if isinstance(cause, PullFailed):  # a refused answer, or the sink said stop
                self._fail(cause)
            else:
                self._fail(PullFailed(f"GET {self._url}: {cause!r}"))
        except httptools.HttpParserError as exc:
            self._fail(PullFailed(f"GET {self._url}: the answer is not valid HTTP ({exc})"))

    def eof_received(self) -> bool | None:
        return None  # let the transport close; `connection_lost` decides what it means

    def connection_lost(self, exc: Exception | None) -> None:
        why = f": {exc}" if exc else ""
        self._fail(PullFailed(f"GET {self._url}: the connection closed before the end{why}"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status != 200:  # redirects are never followed (spec §7)
            raise PullFailed(f"GET {self._url} answered HTTP {status}")

    def on_body(self, body: bytes) -> None:
        self.total += len(body)
        if self.total > self._max_bytes:
            raise PullFailed(f"{self._url} is larger than {self._max_bytes} bytes")
        self._sink(body)

    def on_message_complete(self) -> None:
        if not self.done.done():
            self.done.set_result(self.total)
        self.close()

    def _fail(self, exc: PullFailed) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
        self.close()

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


async def download(
    url: str,
    sink: Callable[[bytes], None],
    *,
    max_bytes: int,
    timeout_s: float,
) -> int:
    """GET ``url`` into ``sink`` as it arrives; redirects are never followed (spec §7), nor
    proxies. Returns the bytes read; raises `PullFailed` for anything but a whole 200 answer
    within ``timeout_s``. (The sink may raise `PullFailed` to stop.)"""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PullFailed(f"{url} is not an http(s) URL")
    secure = parts.scheme == "https"
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError as exc:
        raise PullFailed(f"{url} has no valid port") from exc
    host_header = parts.netloc.rpartition("@")[2]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            transport, answer = await loop.create_connection(
                lambda: _PullAnswer(url, sink, max_bytes),
                parts.hostname,
                port,
                ssl=_tls() if secure else None,
                server_hostname=parts.hostname if secure else None,
            )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise PullFailed(f"GET {url} failed: {exc!r}") from exc
    try:
        transport.write(
            f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\n"
            f"User-Agent: {PULL_USER_AGENT}\r\nAccept: */*\r\n"
            "Accept-Encoding: identity\r\nConnection: close\r\n\r\n".encode("latin-1")
        )
        async with asyncio.timeout(timeout_s):
            return await answer.done
    except TimeoutError as exc:
        raise PullFailed(f"GET {url} took longer than {timeout_s} s") from exc
    finally:
        if answer.done.done():
            answer.close()
        else:  # cancelled, or out of time: nobody waits for the answer now; drop it
            answer.done.cancel()
            transport.abort()


async def post_webhook(
    url: str, body: bytes, headers: dict[str, str], *, timeout_s: float
) -> tuple[int, str]:
    """POST one webhook attempt; returns (status, first 500 characters of the answer)."""
    async with httpx2.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=timeout_s, verify=_tls()
    ) as client:
        response = await client.post(url, content=body, headers=headers)
        return response.status_code, response.text[:500]


async def forward(
    method: str, url: str, headers: list[tuple[str, str]], body: bytes, *, timeout_s: float
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Send one request on as it came (``--record``'s proxy); returns status, headers and the
    (decoded) body of the answer. Redirects are passed back, not followed."""
    async with httpx2.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=timeout_s, verify=_tls()
    ) as client:
        response = await client.request(method, url, content=body, headers=headers)
        return response.status_code, list(response.headers.multi_items()), response.content


HTTPError = httpx2.HTTPError
