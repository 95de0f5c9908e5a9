"""Run the emulator as a real HTTP server: ``serve`` for the CLI, ``run_in_thread`` for tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from .app import create_app
from .config import EmulatorConfig
from .demo import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET, demo_creators
from .http_helpers import BODY_TO_FILE, PROGRESS_STEP, Progress, pwrite_all
from .tls import TlsFiles, ensure_tls_files

#: The parser under ``BodyToFileProtocol`` (uvicorn's httptools protocol, imported by name so a
#: missing wheel fails loudly): with the pure-Python h11, parsing was ~38 % of the upload host's
#: CPU; with httptools ~13 %, 1.66 instead of 1.94 CPU-s per GiB received; with the body taken
#: straight to the file and the SHA-256 in its own thread, the receiving thread spends about what
#: a bare socket reader does (bench/emulator.py).
HTTP = "httptools"

_HEAD_READ = 256 * 1024  # what asyncio reads per call for a plain Protocol
_BODY_READ = 1024 * 1024


class _Sink:
    """Where the body bytes still to come go: a file descriptor from an offset, and how many."""

    def __init__(
        self,
        fd: int,
        offset: int,
        remaining: int,
        written: int,
        progress: Progress | None,
        done: asyncio.Future[int],
    ) -> None:
        self.fd = fd
        self.offset = offset
        self.remaining = remaining
        self.written = self.reported = written  # counted from the start of the body
        self.progress = progress
        self.done = done


class BodyToFileProtocol(HttpToolsProtocol, asyncio.BufferedProtocol):
    """uvicorn's httptools protocol that can hand a request body straight to a file.

    A route that wants a body on disk (the upload host's chunk PUTs) finds ``BODY_TO_FILE`` in
    the scope's extensions. Through ASGI each piece of a body is copied four times (recv, the
    parser's ``on_body``, uvicorn's bytearray, ``bytes()`` for the message) and costs a task
    wake-up; here the socket is read into one reused buffer (a BufferedProtocol: ``recv_into``)
    and written with ``os.pwrite``, the parser does not see those bytes, and a fresh parser
    takes the next request. The httptools parser is still used for every request head.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_buffer = memoryview(bytearray(_HEAD_READ))
        self._body_buffer: memoryview | None = None
        self._sink: _Sink | None = None
        self._body_seen = 0  # body bytes of the current request the parser has handed over
        self._content_length: int | None = None

    # asyncio.BufferedProtocol: the transport reads into what get_buffer returns.
    def get_buffer(self, sizehint: int) -> memoryview:
        sink = self._sink
        if sink is None:
            return self._head_buffer
        if self._body_buffer is None:
            self._body_buffer = memoryview(bytearray(_BODY_READ))
        # Never read past this body: what follows is the next request's, for the parser.
        return self._body_buffer[: min(_BODY_READ, sink.remaining)]

    def buffer_updated(self, nbytes: int) -> None:
        sink = self._sink
        if sink is None:
            self.data_received(self._head_buffer[:nbytes])  # type: ignore[arg-type]
            return
        assert self._body_buffer is not None
        view = self._body_buffer[:nbytes]
        try:
            pwrite_all(sink.fd, view, sink.offset)
        except OSError as exc:
            self._sink = None
            if not sink.done.done():
                sink.done.set_exception(exc)
            self.transport.close()
            return
        sink.offset += nbytes
        sink.written += nbytes
        sink.remaining -= nbytes
        if sink.remaining == 0:
            self._end_sink()
        elif sink.progress is not None and sink.written - sink.reported >= PROGRESS_STEP:
            sink.reported = sink.written
            sink.progress(sink.written)

    def _end_sink(self) -> None:
        sink, self._sink = self._sink, None
        assert sink is not None
        # The old parser still waits for the body it never saw: the next request starts afresh.
        self.parser = httptools.HttpRequestParser(self)
        with contextlib.suppress(AttributeError):  # httptools < 0.6.3
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.cycle.more_body = False
        self.cycle.message_event.set()
        if not sink.done.done():
            sink.done.set_result(sink.written)

    def connection_lost(self, exc: Exception | None) -> None:
        sink, self._sink = self._sink, None
        if sink is not None and not sink.done.done():
            sink.done.set_result(sink.written)  # short: the route sees a body cut off
        # The protocol may wait for the garbage collector (the scope's extension refers back to
        # it); its buffer need not.
        self._body_buffer = None
        super().connection_lost(exc)

    # Parser callbacks: know each request's declared length and how much body was parsed.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._body_seen = 0
        self._content_length = None

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if name.lower() == b"content-length" and value.strip().isdigit():
            self._content_length = int(value)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._content_length is None or self.scope.get("method") != "PUT":
            return  # chunked bodies and other methods keep the ASGI path
        cycle = self.cycle

        async def body_to_file(fd: int, offset: int, progress: Progress | None) -> int:
            return await self._body_to_file(cycle, fd, offset, progress)

        # An ASGI extension is a dict of its own; this one holds the one function it offers.
        self.scope.setdefault("extensions", {})[BODY_TO_FILE] = {"write": body_to_file}

    def on_body(self, body: bytes) -> None:
        self._body_seen += len(body)
        super().on_body(body)

    async def _body_to_file(
        self, cycle: RequestResponseCycle, fd: int, offset: int, progress: Progress | None
    ) -> int:
        if cycle.waiting_for_100_continue and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False
        # First what the parser already handed over, then the rest straight from the socket.
        written = 0
        if cycle.body:
            parsed, cycle.body = cycle.body, bytearray()
            written = pwrite_all(fd, parsed, offset)
        if not cycle.more_body or cycle.disconnected or cycle is not self.cycle:
            return written
        remaining = (self._content_length or 0) - self._body_seen
        if remaining <= 0:
            return written
        done: asyncio.Future[int] = self.loop.create_future()
        self._sink = _Sink(fd, offset + written, remaining, written, progress, done)
        self.flow.resume_reading()  # uvicorn pauses reading while a body waits unread
        try:
            return await done
        except asyncio.CancelledError:
            # The route is gone (shutdown) and its file may be closed, its descriptor reused:
            # not one more byte goes to it, and the connection, mid-body, cannot go on.
            if self._sink is not None and self._sink.done is done:
                self._sink = None
                self.transport.close()
            raise


def banner(base_url: str, ca_file: Path | None = None) -> str:
    """What the emulator prints at start: where it is, the demo app and the demo creators."""
    lines = [
        f"directpost TikTok emulator on {base_url}",
        *(
            [f"  TLS: trust the CA file {ca_file} (curl --cacert, SSL_CERT_FILE)"]
            if ca_file is not None
            else []
        ),
        f"  demo app client_key:    {DEMO_CLIENT_KEY}",
        f"  demo app client_secret: {DEMO_CLIENT_SECRET}",
        f"  consent page:   {base_url}/v2/auth/authorize/",
        f"  inspector:      {base_url}/_emulator/",
        "  demo creators:  " + ", ".join(c.open_id for c in demo_creators()),
    ]
    return "\n".join(lines)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; TCP_NODELAY is inherited by accepted connections on Linux."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out as several writes; without this, Nagle + delayed ACK add ~40 ms per call.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def _tls_options(app: Any, host: str, tls: bool) -> tuple[TlsFiles | None, dict[str, Any]]:
    """The TLS files (made in the app's data dir when missing) and uvicorn's options for them."""
    if not tls:
        return None, {}
    files = ensure_tls_files(app.state.runtime.backend.data_dir, host)
    return files, {"ssl_certfile": str(files.server_cert), "ssl_keyfile": str(files.server_key)}


def serve(
    host: str = "127.0.0.1",
    port: int = 9100,
    config: EmulatorConfig | None = None,
    *,
    tls: bool = False,
    app: Any = None,
    notes: Sequence[str] = (),
    emulating: bool = True,
) -> None:
    """Serve the emulator in the foreground until interrupted (over HTTPS with ``tls``).

    ``app`` is what ``launch.py`` built from the command's options (default: ``create_app``),
    ``notes`` the lines printed under the banner; ``emulating=False`` (record, replay) prints no
    demo world.
    """
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    app = create_app(config) if app is None else app
    files, ssl_options = _tls_options(app, host, tls)
    scheme = "https" if tls else "http"
    ca_file = files.ca_cert if files is not None else None
    base_url = f"{scheme}://{shown}:{sock.getsockname()[1]}"
    title = banner(base_url, ca_file) if emulating else f"directpost emulator on {base_url}"
    print("\n".join([title, *notes]), flush=True)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", http=BodyToFileProtocol, **ssl_options)
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class RunningEmulator:
    """A real emulator server running in a background thread."""

    def __init__(
        self, base_url: str, server: uvicorn.Server, app: object, ca_file: Path | None = None
    ) -> None:
        self.base_url = base_url
        self.server = server
        self.app = app
        #: With TLS: the CA certificate a client must trust (``<data_dir>/tls/ca.pem``).
        self.ca_file = ca_file


@contextlib.contextmanager
def run_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    *,
    tls: bool = False,
) -> Iterator[str]:
    """Start a real uvicorn server on ``host:port`` (0 = a free port); yield its base URL.

    With ``tls`` it serves HTTPS; the CA to trust is ``<data_dir>/tls/ca.pem``
    (``tls.tls_folder``), or ``RunningEmulator.ca_file`` from ``run_server_in_thread``.
    """
    with run_server_in_thread(host, port, config, tls=tls) as running:
        yield running.base_url


@contextlib.contextmanager
def run_server_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    *,
    tls: bool = False,
    app: Any = None,
) -> Iterator[RunningEmulator]:
    """Like ``run_in_thread`` but yields the server object too (its app holds the backend).

    ``app``: serve this ASGI app instead of a fresh ``create_app(config)`` (one built by
    ``launch.py``: seeded, with a state folder, recording or replaying).
    """
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    app = create_app(config) if app is None else app
    files, ssl_options = _tls_options(app, host, tls)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            http=BodyToFileProtocol,
            **ssl_options,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="emulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator server did not start")
        time.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    ca_file = files.ca_cert if files is not None else None
    try:
        yield RunningEmulator(f"{scheme}://{shown}:{actual_port}", server, app, ca_file)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
