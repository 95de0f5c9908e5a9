"""The publish and confirm routes give their database connection back before TikTok answers,
and the DG-5 export carries every post with its consent record and its attempts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.tiktok import AsyncTikTokClient
from tests.fixtures.live import AppClient, Personas, fetch_csrf
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.anyio


class PoolWatchingTransport(httpx2.AsyncHTTPTransport):
    """The real HTTP transport, noting the app's checked-out connections at each TikTok call."""

    def __init__(self, app_client: AppClient) -> None:
        super().__init__()
        self.app = app_client.app
        self.seen: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((request.url.path, self.app.state.engine.pool.checkedout()))
        return await super().handle_async_request(request)

    def creator_info_holds(self) -> list[int]:
        return [held for path, held in self.seen if "creator_info" in path]


@pytest.fixture
async def watched(personas: Personas) -> AsyncIterator[PoolWatchingTransport]:
    app_client = personas.app
    settings = app_client.settings
    transport = PoolWatchingTransport(app_client)
    original = app_client.app.state.tiktok_client
    client = AsyncTikTokClient(
        client_key=settings.tiktok_client_key,
        client_secret=settings.tiktok_client_secret.get_secret_value(),
        auth_base_url=settings.tiktok_auth_base_url,
        api_base_url=settings.tiktok_api_base_url,
        transport=transport,
    )
    app_client.app.state.tiktok_client = client
    try:
        yield transport
    finally:
        app_client.app.state.tiktok_client = original
        await client.aclose()


async def _upload(client: httpx2.AsyncClient, csrf: str, path: Path) -> str:
    data = await asyncio.to_thread(path.read_bytes)
    created = await client.post(
        "/uploads",
        json={
            "kind": "video",
            "files": [{"name": "c.mp4", "size": len(data), "type": "video/mp4"}],
        },
        headers={"x-csrf-token": csrf},
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    put = await client.put(
        f"/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0",
        content=data,
        headers={"x-csrf-token": csrf, "content-type": "application/octet-stream"},
    )
    assert put.status_code == 200, put.text
    done = await client.post(f"/uploads/{upload['id']}/finish", headers={"x-csrf-token": csrf})
    assert done.json()["state"] == "ready", done.text
    return str(upload["id"])


async def _publish(personas: Personas, tmp_path: Path) -> tuple[str, int]:
    client = personas.creator
    csrf = await fetch_csrf(client, "/posts")
    upload_id = await _upload(client, csrf, make_video(tmp_path / "v.mp4", seconds=1.0))
    answer = await client.post(
        "/posts",
        data={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": "export me",
            "privacy_level": "SELF_ONLY",
        },
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    return csrf, int(answer.json()["id"])


async def test_publish_holds_no_database_connection_while_creator_info_is_asked(
    personas: Personas, watched: PoolWatchingTransport, tmp_path: Path
) -> None:
    await _publish(personas, tmp_path)
    assert watched.creator_info_holds() == [0]


async def test_confirm_holds_no_database_connection_while_creator_info_is_asked(
    personas: Personas, watched: PoolWatchingTransport, tmp_path: Path
) -> None:
    csrf, post_id = await _publish(personas, tmp_path)
    factory = personas.app.app.state.session_factory
    with factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        store.set_state(post, state=store.NEEDS_CONFIRMATION, now=utcnow())
    watched.seen.clear()

    answer = await personas.creator.post(
        f"/posts/{post_id}/confirm",
        data={"csrf_token": csrf, "title": "export me", "privacy_level": "SELF_ONLY"},
        headers={"accept": "application/json"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] in (store.QUEUED, store.SCHEDULED)
    assert watched.creator_info_holds() == [0]


def _add_attempt(personas: Personas, post_id: int, media_token: str) -> None:
    factory = personas.app.app.state.session_factory
    with factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        now = utcnow()
        attempt = store.new_attempt(
            session,
            post=post,
            source="PULL_FROM_URL",
            media_token=media_token,
            token_expires_at=now + timedelta(hours=1),
            now=now,
        )
        attempt.state = store.CONFIRMED
        attempt.publish_id = "v_pub_url~v2-export.1"
        attempt.log_id = "log-export-1"


async def test_export_carries_posts_with_consent_and_attempts_DG_5(
    personas: Personas, tmp_path: Path
) -> None:
    _, post_id = await _publish(personas, tmp_path)
    media_token = "secret-media-token-" + "x" * 40
    _add_attempt(personas, post_id, media_token)

    export = await personas.creator.get("/me/data/export")

    assert export.status_code == 200
    assert media_token not in export.text  # a capability URL is never exported
    history: list[dict[str, Any]] = json.loads(export.text)["data"]["post_history"]
    (post,) = history
    assert post["id"] == post_id and post["choices"]["title"] == "export me"
    assert post["consent"]["creator_info"]["nickname"] == "Pim Private"
    assert "Music Usage Confirmation" in post["consent"]["declaration"]
    (attempt,) = post["attempts"]
    assert attempt["source"] == "PULL_FROM_URL"
    assert attempt["publish_id"] == "v_pub_url~v2-export.1"
    assert attempt["log_id"] == "log-export-1"


async def test_data_page_lists_the_post_history_and_another_person_sees_none_of_it_DG_5(
    personas: Personas, tmp_path: Path
) -> None:
    _, post_id = await _publish(personas, tmp_path)
    _add_attempt(personas, post_id, "another-secret-token-" + "y" * 40)

    mine = await personas.creator.get("/me/data")
    theirs = await personas.other.get("/me/data/export")

    assert mine.status_code == 200
    assert "v_pub_url~v2-export.1" in mine.text and "another-secret-token" not in mine.text
    assert json.loads(theirs.text)["data"]["post_history"] == []
