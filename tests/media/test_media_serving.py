"""TECH-2: per-attempt media URLs answer HEAD and Range the way TikTok's downloader needs.

Driven over a real ASGI app (in-process and under uvicorn on loopback) that serves stored objects
through `serve_media`, as the web part does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directpost.media.serving import content_type_for, parse_range, serve_media
from directpost.media.storage import READ_PIECE_BYTES, LocalMediaStore, MediaStore
from directpost.media.urls import new_media_token
from tests.fixtures.media_files import make_video
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def media_app(store: MediaStore, tokens: dict[str, str]) -> Starlette:
    """A stand-in for the web part's media route: token -> key, then serve_media."""

    async def media(request: Request) -> Response:
        key = tokens.get(request.path_params["token"])
        if key is None:
            return Response("No such media.\n", status_code=404)
        return await serve_media(request, store, key, filename=request.path_params["filename"])

    return Starlette(
        routes=[
            Route(
                "/m/{token}/{filename}",
                media,
                methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            )
        ]
    )


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.video = make_video(tmp_path / "clip.mp4", seconds=1.0)
        self.data = self.video.read_bytes()
        self.store = LocalMediaStore(tmp_path / "media")
        self.store.put("creator-1/clip.mp4", self.data)
        self.token = new_media_token()
        self.app = media_app(self.store, {self.token: "creator-1/clip.mp4"})
        self.path = f"/m/{self.token}/clip.mp4"


@pytest.fixture
def served(tmp_path: Path) -> Served:
    return Served(tmp_path)


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=served.app)
    async with httpx2.AsyncClient(transport=transport, base_url="https://media.test") as c:
        yield c


async def test_tech2_get_sends_the_whole_file_with_length_type_and_etag(
    served: Served, client: httpx2.AsyncClient
) -> None:
    answer = await client.get(served.path)
    assert answer.status_code == 200
    assert answer.content == served.data
    assert answer.headers["content-length"] == str(len(served.data))
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["etag"] == served.store.stat("creator-1/clip.mp4").etag  # type: ignore[union-attr]
    assert "no-transform" in answer.headers["cache-control"]


async def test_tech2_head_answers_the_same_headers_without_a_body(
    served: Served, client: httpx2.AsyncClient
) -> None:
    got = await client.get(served.path)
    head = await client.head(served.path)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "content-type", "etag", "accept-ranges", "last-modified"):
        assert head.headers[name] == got.headers[name]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, None)),
        ("bytes=-50", (-50, None)),
        ("bytes=10-10", (10, 10)),
        ("bytes=5-999999999", (5, None)),
    ],
)
async def test_tech2_a_single_range_gets_206_with_exactly_those_bytes(
    served: Served, client: httpx2.AsyncClient, header: str, expected: tuple[int, int | None]
) -> None:
    size = len(served.data)
    first, last = expected
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    answer = await client.get(served.path, headers={"Range": header})
    assert answer.status_code == 206
    assert answer.content == served.data[start : end + 1]
    assert answer.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert answer.headers["content-length"] == str(end - start + 1)
    head = await client.head(served.path, headers={"Range": header})
    assert head.status_code == 206
    assert head.headers["content-range"] == answer.headers["content-range"]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
async def test_tech2_a_range_outside_the_file_gets_416(
    served: Served, client: httpx2.AsyncClient, header: str
) -> None:
    answer = await client.get(served.path, headers={"Range": header})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{len(served.data)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=x-y"])
async def test_a_range_we_do_not_serve_as_such_gets_the_whole_file(
    served: Served, client: httpx2.AsyncClient, header: str
) -> None:
    answer = await client.get(served.path, headers={"Range": header})
    assert answer.status_code == 200
    assert answer.content == served.data


async def test_a_range_with_a_stale_if_range_gets_the_whole_file(
    served: Served, client: httpx2.AsyncClient
) -> None:
    etag = (await client.head(served.path)).headers["etag"]
    fresh = await client.get(served.path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206
    stale = await client.get(served.path, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == served.data


async def test_a_matching_if_none_match_gets_304(
    served: Served, client: httpx2.AsyncClient
) -> None:
    etag = (await client.head(served.path)).headers["etag"]
    answer = await client.get(served.path, headers={"If-None-Match": etag})
    assert answer.status_code == 304 and answer.content == b""


async def test_tech2_never_redirects_and_unknown_media_is_404(
    served: Served, client: httpx2.AsyncClient
) -> None:
    missing = await client.get(f"/m/{new_media_token()}/clip.mp4")
    assert missing.status_code == 404
    served.store.delete("creator-1/clip.mp4")
    gone = await client.get(served.path)
    assert gone.status_code == 404
    assert "location" not in gone.headers


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_only_get_and_head_are_answered(
    served: Served, client: httpx2.AsyncClient, method: str
) -> None:
    answer = await client.request(method, served.path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert served.store.stat("creator-1/clip.mp4") is not None


@pytest.mark.timeout(30)
async def test_the_body_streams_in_pieces_of_at_most_one_mib(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    data = bytes(range(256)) * (14 * 1024 + 3)  # about 3.5 MiB
    store.put("big.mp4", data)
    token = new_media_token()
    app = media_app(store, {token: "big.mp4"})
    sent: list[dict[str, Any]] = []
    requested = False
    finished = anyio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays connected until the whole body is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": f"/m/{token}/big.mp4",
        "raw_path": f"/m/{token}/big.mp4".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"media.test")],
        "client": ("127.0.0.1", 1),
        "server": ("media.test", 443),
    }
    await app(scope, receive, send)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert max(len(b) for b in bodies) <= READ_PIECE_BYTES
    assert len(bodies) >= 4
    assert b"".join(bodies) == data


@pytest.fixture
def live_media_url(served: Served) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(served.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}{served.path}"
    server.should_exit = True
    thread.join(timeout=10)


def test_tech2_head_and_range_hold_through_a_real_server(
    served: Served, live_media_url: str
) -> None:
    with httpx2.Client(follow_redirects=False) as http:
        head = http.head(live_media_url)
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(served.data))
        part = http.get(live_media_url, headers={"Range": "bytes=16-31"})
        assert part.status_code == 206
        assert part.content == served.data[16:32]
        whole = http.get(live_media_url)
        assert whole.content == served.data


def test_parse_range_reads_the_forms_http_allows() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=2-4", 10) == parse_range("bytes = 2 - 4", 10)
    assert parse_range("bytes=-3", 10).start == 7  # type: ignore[union-attr]
    assert parse_range("bytes=-30", 10).start == 0  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        parse_range("bytes=0-", 0)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.MP4", "video/mp4"),
        ("a.mov", "video/quicktime"),
        ("a.webm", "video/webm"),
        ("a.jpg", "image/jpeg"),
        ("a.webp", "image/webp"),
        ("a.bin", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_file_name(name: str, kind: str) -> None:
    assert content_type_for(name) == kind


@given(
    size=st.integers(min_value=1, max_value=5000),
    first=st.one_of(st.none(), st.integers(min_value=0, max_value=6000)),
    last=st.one_of(st.none(), st.integers(min_value=0, max_value=6000)),
)
def test_parse_range_always_agrees_with_slicing_the_bytes(
    size: int, first: int | None, last: int | None
) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    data = bytes(i % 251 for i in range(size))
    if first is None and last is None:
        assert parse_range(header, size) is None
        return
    if first is None:
        assert last is not None
        if last == 0:
            with pytest.raises(ValueError):
                parse_range(header, size)
            return
        expected = data[-last:]
    elif last is not None and last < first:
        assert parse_range(header, size) is None
        return
    elif first >= size:
        with pytest.raises(ValueError):
            parse_range(header, size)
        return
    else:
        expected = data[first : None if last is None else last + 1]
    found = parse_range(header, size)
    assert found is not None
    assert data[found.start : found.end + 1] == expected
    assert found.length == len(expected)
