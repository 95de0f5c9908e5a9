"""Serving the app with uvicorn: in the foreground (`directpost serve`) or in a background thread
(`directpost run`'s companions and the live-server test fixtures)."""

from __future__ import annotations

import errno
import gc
import json
import logging
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from directpost import logs
from directpost.config import Settings
from directpost.publishing.worker import start_in_process
from directpost.web.app import create_app

log = logging.getLogger(__name__)


def configure_logging(level: int = logging.INFO) -> None:
    """Plain log lines on stderr, never a secret (see `directpost.logs`); uvicorn adds its own
    handlers."""
    logs.configure_logging(level)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free one); bound before the app is built, so the
    app can know its own URL.

    TCP_NODELAY is set on the listening socket, and Linux hands it down to every accepted
    connection: an answer leaves as several writes (head, then body), and without it Nagle's
    algorithm meets the client's delayed ACK and a small answer can wait ~40 ms on loopback.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class BackgroundServer:
    """uvicorn serving an ASGI app from a daemon thread on an already bound socket."""

    def __init__(self, app: FastAPI, sock: socket.socket, *, log_level: str = "warning") -> None:
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.base_url = f"http://{host}:{port}"
        # log_config=None: uvicorn's lines go through our handler (format, context, redaction).
        config = uvicorn.Config(
            app, log_level=log_level, lifespan="on", access_log=False, log_config=None
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True, name="directpost-app"
        )

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("The app server stopped while starting; see the log above.")
            if time.monotonic() > deadline:
                raise TimeoutError(f"The app server did not start within {timeout} s.")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


def serve_in_foreground(app: FastAPI, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve `app` on host:port until interrupted, on a socket from `bind_socket` (TCP_NODELAY)."""
    serve_socket_in_foreground(app, bind_socket(host, port), log_level=log_level)


def serve_socket_in_foreground(
    app: FastAPI, sock: socket.socket, *, log_level: str = "info"
) -> None:
    """Serve `app` on an already bound socket until interrupted, then close it.

    `X-Forwarded-*` headers are trusted from a proxy on 127.0.0.1 only (uvicorn's default).
    """
    try:
        # log_config=None: uvicorn's lines (access log included) go through our handler.
        config = uvicorn.Config(app, proxy_headers=True, log_level=log_level, log_config=None)
        # What start-up made (modules, the app, its services) lives as long as the process:
        # frozen, the collector's full passes no longer walk it. Unfrozen, a page that makes
        # many short-lived objects (the calendar's month: thousands of rows) set off a full
        # pass over the whole heap every few renders, ~100 ms each (bench/calendar_page.py).
        gc.collect()
        gc.freeze()
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def serve(settings: Settings) -> None:
    """Serve the app in the foreground on settings.host:settings.port until interrupted."""
    configure_logging()
    serve_in_foreground(create_app(settings), settings.host, settings.port)


# --- `directpost run`: everything on embedded defaults -------------------------------------


def _wait_for_http(url: str, *, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
                response.read()
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"The emulator exited with code {process.returncode}; see above.")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s.")
        time.sleep(0.1)


def _post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback URL
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise RuntimeError(f"The emulator refused {url}: HTTP {exc.code} {detail}") from exc
    result: dict[str, Any] = json.loads(payload or b"{}")
    return result


def emulator_app_registration(
    settings: Settings, *, client_key: str, secret: str
) -> dict[str, Any]:
    """The body of `POST /_emulator/apps` that registers this app with the local emulator."""
    public = settings.public_base_url.rstrip("/")
    return {
        "client_key": client_key,
        "client_secret": secret,
        "name": "directpost (local run)",
        "audited": settings.app_audited,
        "redirect_uris": [f"{public}/auth/tiktok/callback"],
        "verified_url_prefixes": [f"{settings.resolved_media_public_base_url}/m/"],
        "webhook_url": f"{public}/webhooks/tiktok",
    }


class ListenError(RuntimeError):
    """The app cannot listen where it was asked to (a busy port, an unknown host): one line
    that says what to do, never a traceback."""


def bind_app_socket(host: str, port: int) -> socket.socket:
    """`bind_socket` for `directpost run`, with a busy port or a bad host as a `ListenError`."""
    try:
        return bind_socket(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {host} is already in use (is directpost already running?). "
                f"Stop what listens there, or pick another port: directpost run --port "
                f"{port + 1 if port < 65535 else 8080} (with make: make run "
                f'RUN_ARGS="--port {port + 1 if port < 65535 else 8080}").'
            ) from None
        reason = exc.strerror or str(exc)
        raise ListenError(
            f"cannot listen on {host}:{port} ({reason}). Choose another --host or --port."
        ) from None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def start_emulator_process(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    """Start `directpost emulator` beside the app and wait until it answers."""
    url = f"http://{settings.emulator_host}:{settings.emulator_port}"
    try:
        probe = socket.create_connection((settings.emulator_host, settings.emulator_port), 0.5)
    except OSError:
        pass
    else:
        probe.close()
        raise RuntimeError(
            f"port {settings.emulator_port} is already in use, so the local TikTok emulator "
            "cannot start. Stop what listens there, or pick another port: "
            f"directpost run --emulator-port {settings.emulator_port + 1}."
        )
    process = subprocess.Popen(  # noqa: S603 - our own CLI, no shell
        [
            sys.executable,
            "-m",
            "directpost.cli",
            "emulator",
            "--host",
            settings.emulator_host,
            "--port",
            str(settings.emulator_port),
        ]
    )
    _wait_for_http(f"{url}/_emulator/state", timeout=30, process=process)
    return process, url


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _with_local_emulator(settings: Settings, emulator_url: str) -> Settings:
    """Register a fresh client key for this run with the emulator at `emulator_url` and point
    the settings at it."""
    client_key = "dp" + secrets.token_hex(8)
    client_secret = secrets.token_urlsafe(32)
    _post_json(
        f"{emulator_url}/_emulator/apps",
        emulator_app_registration(settings, client_key=client_key, secret=client_secret),
    )
    return settings.model_copy(
        update={
            "tiktok_client_key": client_key,
            "tiktok_client_secret": SecretStr(client_secret),
            "tiktok_auth_base_url": emulator_url,
            "tiktok_api_base_url": emulator_url,
        }
    )


def run_banner(settings: Settings) -> str:
    """What `directpost run` prints once the app's port is bound: where it is, and how in."""
    public = settings.public_base_url.rstrip("/")
    lines = ["", f"  directpost is running at {public}"]
    if settings.uses_emulator:
        api = settings.tiktok_api_base_url
        lines += [
            f"  Local TikTok emulator:  {api} (inspector: {api}/_emulator/)",
            "  Sign in: open the app, press “Continue with TikTok” and allow access: the demo",
            "  creator picked for you can post (demo-public, demo-60s, demo-banned … show the",
            "  other cases). Nothing reaches the real TikTok.",
        ]
    else:
        lines.append(f"  TikTok: {settings.tiktok_api_base_url} (client key configured)")
    lines.append("  Stop with Ctrl+C.\n")
    return "\n".join(lines)


def run(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    emulator_port: int | None = None,
) -> None:
    """`make run`: bind the app's port, start the emulator when no TikTok credentials are set,
    migrate, start the worker in-process, then print the banner and serve.

    The port is bound first so that a busy one is a `ListenError` before anything is printed
    or started; port 0 picks a free one, and the public URL (hence the OAuth redirect URI the
    emulator registers) follows the port actually bound.
    """
    from directpost.store.migrate import migrate

    configure_logging()
    settings = settings.listening_on(host=host, port=port, emulator_port=emulator_port)
    sock = bind_app_socket(settings.host, settings.port)
    emulator: subprocess.Popen[bytes] | None = None
    try:
        settings = settings.listening_on(port=int(sock.getsockname()[1]))
        if settings.starts_local_emulator:
            if settings.emulator_port == 0:
                settings = settings.listening_on(emulator_port=_free_port(settings.emulator_host))
            emulator, emulator_url = start_emulator_process(settings)
            settings = _with_local_emulator(settings, emulator_url)
        migrate(settings)
        worker = start_in_process(settings)
        print(run_banner(settings), flush=True)
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
        # `finally` blocks below still stop the worker and the emulator.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            serve_socket_in_foreground(create_app(settings), sock)
        finally:
            worker.stop()
    finally:
        sock.close()
        if emulator is not None:
            emulator.terminate()
            try:
                emulator.wait(10)
            except subprocess.TimeoutExpired:
                emulator.kill()
