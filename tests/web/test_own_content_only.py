"""USE-1 on the server: creators post their own content. The app takes files from the
creator's device (the upload protocol) and nothing else: no request of any kind makes it fetch
content from another platform's URL, however the URL is offered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from directpost.store.posts import Post
from tests.fixtures.live import AppClient, api_sign_in, fetch_csrf

pytestmark = pytest.mark.anyio


@pytest.fixture
def other_platform() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server standing for another platform: it serves a video at any path and
    records every request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"\0\0\0\0")

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/@someone/video/7300000000000000001", seen
    server.shutdown()
    server.server_close()


async def test_no_request_makes_the_app_fetch_content_from_a_url_use_1(
    app_client: AppClient, other_platform: tuple[str, list[str]]
) -> None:
    url, seen = other_platform
    client = app_client.client
    assert (await api_sign_in(client, open_id="demo-private")).status_code == 303
    csrf = await fetch_csrf(client, "/compose")
    headers = {"X-CSRF-Token": csrf}

    # An upload announced with a URL instead of (or beside) the files' own bytes.
    for body in (
        {"kind": "video", "url": url},
        {"kind": "video", "source_url": url, "files": []},
        {"kind": "video", "files": [{"url": url}]},
        {"kind": "video", "files": [{"name": "v.mp4", "type": "video/mp4", "url": url}]},
    ):
        answer = await client.post("/uploads", json=body, headers=headers)
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.text)

    # A post whose media is a URL, under any of the names such a feature would use.
    fields = {n: url for n in ("url", "media_url", "video_url", "source_url", "import_url")}
    answer = await client.post(
        "/posts",
        data={"csrf_token": csrf, "title": "not mine", "privacy_level": "SELF_ONLY", **fields},
    )
    assert 400 <= answer.status_code < 500, answer.text
    # The Post page handed a URL to prefill from.
    page = await client.get("/compose", params=fields)
    assert page.status_code == 200 and url not in page.text

    assert seen == [], f"the app fetched {seen} from another platform"
    with app_client.app.state.services.factory() as db:
        assert db.scalar(select(func.count()).select_from(Post)) == 0
