"""The publish and confirm routes give their database connection back before TikTok answers,
and the DG-5 export carries every post with its consent record and its attempts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from directpost.publishing import states
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.fixtures.live import Personas, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.fixtures.post_states import seed_state
from tests.web.helpers import PoolWatchingTransport, upload_ready_video, watching_tiktok_calls

pytestmark = pytest.mark.anyio


@pytest.fixture
async def watched(personas: Personas) -> AsyncIterator[PoolWatchingTransport]:
    async with watching_tiktok_calls(personas.app) as transport:
        yield transport


async def _publish(personas: Personas, tmp_path: Path) -> tuple[str, int]:
    client = personas.creator
    csrf = await fetch_csrf(client, "/posts")
    upload_id = await upload_ready_video(
        client, csrf, make_video(tmp_path / "v.mp4", seconds=1.0), name="c.mp4"
    )
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
    factory = personas.app.app.state.services.factory
    with factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        seed_state(post, state=states.NEEDS_CONFIRMATION, now=utcnow())
    watched.seen.clear()

    answer = await personas.creator.post(
        f"/posts/{post_id}/confirm",
        data={"csrf_token": csrf, "title": "export me", "privacy_level": "SELF_ONLY"},
        headers={"accept": "application/json"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] in (states.QUEUED, states.SCHEDULED)
    assert watched.creator_info_holds() == [0]


def _add_attempt(personas: Personas, post_id: int, media_token: str) -> None:
    factory = personas.app.app.state.services.factory
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
        attempt.state = states.CONFIRMED
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
