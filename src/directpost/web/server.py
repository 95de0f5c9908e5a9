"""Serving the app with uvicorn: in the foreground (`directpost serve`) or in a background thread
(`directpost run`'s companions and the live-server test fixtures)."""

from __future__ import annotations

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
        config = uvicorn.Config(app, log_level=log_level, lifespan="on", access_log=False)
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
    """Serve `app` on host:port until interrupted, on a socket from `bind_socket` (TCP_NODELAY).

    `X-Forwarded-*` headers are trusted from a proxy on 127.0.0.1 only (uvicorn's default).
    """
    sock = bind_socket(host, port)
    try:
        config = uvicorn.Config(app, proxy_headers=True, log_level=log_level)
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
            f"Port {settings.emulator_port} is already in use, so the emulator cannot start. "
            "Stop whatever listens there or set DIRECTPOST_EMULATOR_PORT to a free port."
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


def run(settings: Settings) -> None:
    """`make run`: migrate, start the emulator when no TikTok credentials are set, the worker
    in-process, and serve the app on settings.host:settings.port."""
    from directpost.store.migrate import migrate

    configure_logging()
    emulator: subprocess.Popen[bytes] | None = None
    try:
        if settings.uses_emulator:
            emulator, emulator_url = start_emulator_process(settings)
            client_key = "dp" + secrets.token_hex(8)
            client_secret = secrets.token_urlsafe(32)
            _post_json(
                f"{emulator_url}/_emulator/apps",
                emulator_app_registration(settings, client_key=client_key, secret=client_secret),
            )
            settings = settings.model_copy(
                update={
                    "tiktok_client_key": client_key,
                    "tiktok_client_secret": SecretStr(client_secret),
                    "tiktok_auth_base_url": emulator_url,
                    "tiktok_api_base_url": emulator_url,
                }
            )
        migrate(settings)
        worker = start_in_process(settings)
        public = settings.public_base_url.rstrip("/")
        lines = [
            "",
            f"  directpost is running at {public}",
        ]
        if settings.uses_emulator or emulator is not None:
            lines += [
                f"  Local TikTok emulator:  {settings.tiktok_api_base_url} "
                f"(inspector: {settings.tiktok_api_base_url}/_emulator/)",
                "  Sign in: open the app, press “Continue with TikTok”, pick a demo creator",
                "  (demo-private posts in unaudited mode; demo-public, demo-60s, demo-banned …",
                "  show the other cases) and allow access. Nothing reaches the real TikTok.",
            ]
        else:
            lines.append(f"  TikTok: {settings.tiktok_api_base_url} (client key configured)")
        lines.append("  Stop with Ctrl+C.\n")
        print("\n".join(lines), flush=True)
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
        # `finally` blocks below still stop the worker and the emulator.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            serve_in_foreground(create_app(settings), settings.host, settings.port)
        finally:
            worker.stop()
    finally:
        if emulator is not None:
            emulator.terminate()
            try:
                emulator.wait(10)
            except subprocess.TimeoutExpired:
                emulator.kill()
