"""Run the emulator as a real HTTP server: ``serve`` for the CLI, ``run_in_thread`` for tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from .app import create_app
from .config import EmulatorConfig
from .demo import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET, demo_creators

#: uvicorn's C parser, named rather than left to "auto" so a missing wheel fails loudly: with the
#: pure-Python h11, parsing was ~38 % of the upload host's CPU (the body went through h11's
#: receive buffer twice); with httptools ~13 %, and 1.66 instead of 1.94 CPU-s per GiB received.
HTTP = "httptools"


def banner(base_url: str) -> str:
    """What the emulator prints at start: where it is, the demo app and the demo creators."""
    lines = [
        f"directpost TikTok emulator on {base_url}",
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


def serve(host: str = "127.0.0.1", port: int = 9100, config: EmulatorConfig | None = None) -> None:
    """Serve the emulator in the foreground until interrupted."""
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(banner(f"http://{shown}:{sock.getsockname()[1]}"), flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", http=HTTP))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class RunningEmulator:
    """A real emulator server running in a background thread."""

    def __init__(self, base_url: str, server: uvicorn.Server, app: object) -> None:
        self.base_url = base_url
        self.server = server
        self.app = app


@contextlib.contextmanager
def run_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
) -> Iterator[str]:
    """Start a real uvicorn server on ``host:port`` (0 = a free port); yield its base URL."""
    with run_server_in_thread(host, port, config) as running:
        yield running.base_url


@contextlib.contextmanager
def run_server_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
) -> Iterator[RunningEmulator]:
    """Like ``run_in_thread`` but yields the server object too (its app holds the backend)."""
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2, http=HTTP
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
    try:
        yield RunningEmulator(f"http://{shown}:{actual_port}", server, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
