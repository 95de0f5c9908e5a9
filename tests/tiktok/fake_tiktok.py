"""A small fake TikTok (API host + upload host) as an ASGI app, for driving the client in tests.

It records every request, answers with scripted replies, and plays the upload host's
Content-Range protocol with injectable faults (416 with progress, 5xx, dropped connections).
It is deliberately tiny; the full stateful emulator lives in `directpost.emulator`.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

LOG_ID = "202210112248442CB9319E1FB30C1073F3"


class DroppedConnection(Exception):
    """Raised by the fake app to make the test transport behave like a dropped connection."""


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode()))


@dataclass
class Fault:
    """A failure on the chunk PUT whose range contains byte `at`."""

    kind: str  # "416" (host lost the previous chunk), "500", "drop_before", "drop_after"
    at: int


@dataclass
class UploadTask:
    total: int
    data: io.BytesIO = field(default_factory=io.BytesIO)
    committed: int = 0
    chunk_starts: list[int] = field(default_factory=list)
    complete: bool = False
    expired: bool = False
    puts: int = 0


def ok(data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": "ok", "message": "", "log_id": LOG_ID}}
    if data is not None:
        body["data"] = data
    return body


def err(code: str, message: str = "") -> dict[str, Any]:
    return {"data": {}, "error": {"code": code, "message": message, "log_id": LOG_ID}}


class FakeTikTok:
    """State and the ASGI app. `reply(path, status, body)` scripts the next answer on a path."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: dict[str, deque[tuple[int, Any, dict[str, str]]]] = {}
        self.uploads: dict[str, UploadTask] = {}
        self.faults: list[Fault] = []
        self.app = Starlette(
            routes=[
                Route("/upload/{upload_id}/", self.upload, methods=["PUT"]),
                Route("/{path:path}", self.api, methods=["GET", "POST", "PUT"]),
            ]
        )

    # ---- scripting

    def reply(
        self, path: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.replies.setdefault(path, deque()).append((status, body, headers or {}))

    def new_upload(self, upload_id: str, total: int) -> str:
        self.uploads[upload_id] = UploadTask(total=total)
        return f"http://upload.test/upload/{upload_id}/?upload_token=secret-token"

    def last(self, path: str) -> Recorded:
        return [r for r in self.requests if r.path == path][-1]

    # ---- API host

    async def api(self, request: Request) -> Response:
        body = await request.body()
        path = "/" + request.path_params["path"]
        self.requests.append(
            Recorded(request.method, path, dict(request.query_params), dict(request.headers), body)
        )
        queue = self.replies.get(path)
        if queue:
            status, payload, headers = queue.popleft()
            if payload is DroppedConnection:
                raise DroppedConnection(path)
            if isinstance(payload, bytes):
                return Response(payload, status_code=status, headers=headers)
            return JSONResponse(payload, status_code=status, headers=headers)
        return JSONResponse(err("not_scripted", f"no reply scripted for {path}"), status_code=500)

    # ---- upload host

    async def upload(self, request: Request) -> Response:
        task = self.uploads.get(request.path_params["upload_id"])
        self.requests.append(
            Recorded(
                "PUT", request.url.path, dict(request.query_params), dict(request.headers), b""
            )
        )
        if task is None:
            return Response(status_code=404)
        task.puts += 1
        if task.expired:
            return Response(status_code=403)
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("content-range", ""))
        if m is None or int(m.group(3)) != task.total:
            return Response(status_code=400)
        first, last = int(m.group(1)), int(m.group(2))
        fault = next((f for f in self.faults if first <= f.at <= last), None)
        if fault is not None:
            self.faults.remove(fault)
        body = await request.body()
        if len(body) != int(request.headers["content-length"]) or len(body) != last - first + 1:
            return Response(status_code=400)
        if fault is not None and fault.kind == "drop_before":
            raise DroppedConnection("before commit")
        if fault is not None and fault.kind == "500":
            return Response(status_code=502, headers=self._progress(task))
        if fault is not None and fault.kind == "416" and task.chunk_starts:
            # The host "loses" its last chunk and tells the client where it really is.
            task.committed = task.chunk_starts.pop()
            task.data.truncate(task.committed)
            return Response(status_code=416, headers=self._progress(task))
        if first != task.committed:
            return Response(status_code=416, headers=self._progress(task))
        task.data.seek(first)
        task.data.write(body)
        task.chunk_starts.append(first)
        task.committed = last + 1
        if task.committed == task.total:
            task.complete = True
        if fault is not None and fault.kind == "drop_after":
            raise DroppedConnection("after commit")
        return Response(status_code=201 if task.complete else 206, headers=self._progress(task))

    @staticmethod
    def _progress(task: UploadTask) -> dict[str, str]:
        if task.committed == 0:
            return {"Content-Range": f"bytes */{task.total}"}
        return {"Content-Range": f"bytes 0-{task.committed - 1}/{task.total}"}


class _DroppingASGI(httpx2.ASGITransport):
    """ASGITransport that turns the fake's DroppedConnection into a transport failure."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await super().handle_async_request(request)
        except DroppedConnection as exc:
            raise httpx2.RemoteProtocolError(f"connection dropped ({exc})") from exc


def async_transport(fake: FakeTikTok) -> httpx2.AsyncBaseTransport:
    return _DroppingASGI(app=fake.app)


class SyncASGITransport(httpx2.BaseTransport):
    """Runs an ASGI app for a *sync* client on an event loop in a background thread."""

    def __init__(self, app: Any) -> None:
        self._inner = _DroppingASGI(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = b"".join(_iter_stream(request))
        forwarded = httpx2.Request(
            request.method, request.url, headers=request.headers, content=body
        )

        async def go() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            resp = await self._inner.handle_async_request(forwarded)
            content = await resp.aread()
            return resp.status_code, resp.headers.raw, content

        status, headers, content = asyncio.run_coroutine_threadsafe(go(), self._loop).result()
        return httpx2.Response(status, headers=headers, content=content)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        close_loop(self._loop)


def _iter_stream(request: httpx2.Request) -> Iterator[bytes]:
    stream = request.stream
    assert isinstance(stream, httpx2.SyncByteStream)
    yield from stream


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the app left running on `loop` (e.g. a background ticker), then close it."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
