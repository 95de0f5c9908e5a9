"""Photos from the terminal: TikTok takes photos only by URL (PULL_FROM_URL, no FILE_UPLOAD), so
the terminal serves exactly the chosen files, byte for byte (UX-5b), under an unguessable path
while TikTok fetches them, and stops serving once the post has left PROCESSING_DOWNLOAD.

In demo mode the server listens on a free loopback port, registered with the emulator as the
app's verified prefix. Against TikTok, the URL must be under a prefix verified for the app:
`DIRECTPOST_MEDIA_PUBLIC_BASE_URL` names it, and it must reach this machine's
`DIRECTPOST_HOST:DIRECTPOST_PORT` (a tunnel or a reverse proxy).
"""

from __future__ import annotations

import http.server
import mimetypes
import secrets
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self


class _PhotoServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, Path]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _PhotoServer

    def do_GET(self) -> None:
        path = self.server.files.get(self.path.split("?", 1)[0])
        if path is None:
            self.send_error(404)
            return
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        with path.open("rb") as handle:
            shutil.copyfileobj(handle, self.wfile)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class PhotoHost:
    """Serves `files` at `urls` (same order) for as long as the `with` block lasts."""

    def __init__(self, files: Sequence[Path], *, bind: tuple[str, int], public_base: str | None):
        self._server = _PhotoServer(bind, _Handler)
        port = self._server.server_address[1]
        base = (public_base or f"http://127.0.0.1:{port}").rstrip("/")
        token = secrets.token_urlsafe(18)
        self.verified_prefix = f"{base}/"
        """The prefix the app must have verified (the emulator's registration in demo mode)."""
        self.prefix = f"{base}/{token}/"
        self._server.files = {}
        self.urls: list[str] = []
        for index, path in enumerate(files):
            name = f"{index + 1}{path.suffix.lower()}"
            self._server.files[f"/{token}/{name}"] = path
            self.urls.append(self.prefix + name)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="photos", daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
