"""`POST /posts` and the post pages, in-process against the emulator as a real server.

The page can be bypassed; the server cannot: these tests post the form directly (UX-5c).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from directpost.publishing import states
from directpost.store import posts as store
from tests.fixtures.live import Personas, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.fixtures.post_states import seed_state
from tests.web.helpers import upload_ready_video

pytestmark = pytest.mark.anyio


async def _ready(
    personas: Personas, tmp_path: Path, client: httpx2.AsyncClient | None = None
) -> tuple[str, str]:
    client = client or personas.creator
    csrf = await fetch_csrf(client, "/posts")
    upload_id = await upload_ready_video(client, csrf, make_video(tmp_path / "v.mp4", seconds=1.0))
    return csrf, upload_id


def _form(csrf: str, upload_id: str, **extra: Any) -> dict[str, Any]:
    return {"csrf_token": csrf, "upload_id": upload_id, "title": "from the test", **extra}


async def _posted(personas: Personas, tmp_path: Path, **form: Any) -> tuple[str, int]:
    """A ready upload posted by the creator with `form`'s choices: the CSRF token, the post."""
    csrf, upload_id = await _ready(personas, tmp_path)
    answer = await personas.creator.post(
        "/posts", data=_form(csrf, upload_id, **form), headers={"accept": "application/json"}
    )
    assert answer.status_code in (200, 201), answer.text
    return csrf, int(answer.json()["id"])


def _publishes(personas: Personas) -> list[dict[str, Any]]:
    key = personas.app.settings.tiktok_client_key
    return [p for p in personas.app.emulator.state()["publishes"] if p["client_key"] == key]


def _posts(personas: Personas) -> list[store.Post]:
    factory = personas.app.app.state.services.factory
    with factory() as session:
        return list(session.query(store.Post).all())


async def test_publish_is_refused_without_privacy_choice_ux_2b(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, upload_id = await _ready(personas, tmp_path)
    answer = await personas.creator.post("/posts", data=_form(csrf, upload_id))
    assert answer.status_code == 422
    assert "Nothing was published" in answer.text
    assert _posts(personas) == []
    assert _publishes(personas) == []


async def test_publish_records_consent_before_anything_is_sent_ux_5c(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, upload_id = await _ready(personas, tmp_path)
    answer = await personas.creator.post(
        "/posts", data=_form(csrf, upload_id, privacy_level="SELF_ONLY", allow_comment="on")
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("?published=1")
    (post,) = _posts(personas)
    assert post.state == states.QUEUED
    factory = personas.app.app.state.services.factory
    with factory() as session:
        consent = session.get(store.Post, post.id).consent  # type: ignore[union-attr]
        assert consent is not None
        assert consent.creator_info["nickname"] == "Pim Private"
        assert consent.declaration == "By posting, you agree to TikTok's Music Usage Confirmation."
        assert consent.choices["privacy_level"] == "SELF_ONLY"
        assert consent.choices["allow_comment"] is True
    # Consent is recorded; the job (not this request) is what sends anything to TikTok.
    assert _publishes(personas) == []


async def test_post_page_tells_the_creator_processing_takes_minutes_ux_5d(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, upload_id = await _ready(personas, tmp_path)
    answer = await personas.creator.post(
        "/posts", data=_form(csrf, upload_id, privacy_level="SELF_ONLY")
    )
    page = await personas.creator.get(answer.headers["location"])
    assert page.status_code == 200
    assert "may take a few minutes" in page.text
    assert "visible on your profile" in page.text


async def test_disabled_interaction_cannot_be_forced_by_bypassing_the_page(
    personas: Personas, tmp_path: Path
) -> None:
    # demo-private has duet disabled in creator_info (UX-2c).
    csrf, upload_id = await _ready(personas, tmp_path)
    answer = await personas.creator.post(
        "/posts", data=_form(csrf, upload_id, privacy_level="SELF_ONLY", allow_duet="on")
    )
    assert answer.status_code == 422
    assert _posts(personas) == []


async def test_publish_without_csrf_token_is_refused(personas: Personas, tmp_path: Path) -> None:
    csrf, upload_id = await _ready(personas, tmp_path)
    form = _form(csrf, upload_id, privacy_level="SELF_ONLY")
    del form["csrf_token"]
    answer = await personas.creator.post("/posts", data=form)
    assert answer.status_code == 403
    assert _posts(personas) == []


async def test_scheduled_post_is_kept_in_the_creators_time_zone(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, upload_id = await _ready(personas, tmp_path)
    answer = await personas.creator.post(
        "/posts",
        data=_form(
            csrf,
            upload_id,
            privacy_level="SELF_ONLY",
            scheduled_at="2099-01-15T09:30",
            time_zone="Asia/Tokyo",
        ),
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 422, "more than 60 days ahead is refused"
    answer = await personas.creator.post(
        "/posts",
        data=_form(
            csrf,
            upload_id,
            privacy_level="SELF_ONLY",
            scheduled_at="2000-01-15T09:30",
            time_zone="Asia/Tokyo",
        ),
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 422, "a time in the past is refused"
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    local = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=2)).replace(
        second=0, microsecond=0
    )
    answer = await personas.creator.post(
        "/posts",
        data=_form(
            csrf,
            upload_id,
            privacy_level="SELF_ONLY",
            scheduled_at=local.strftime("%Y-%m-%dT%H:%M"),
            time_zone="Asia/Tokyo",
        ),
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    (post,) = _posts(personas)
    assert post.state == states.SCHEDULED
    assert post.scheduled_at == local.astimezone(ZoneInfo("UTC"))
    page = await personas.creator.get(f"/posts/{post.id}")
    assert local.strftime("%Y-%m-%d %H:%M") in page.text and "Asia/Tokyo" in page.text


async def test_another_creator_cannot_see_or_cancel_a_post(
    personas: Personas, tmp_path: Path
) -> None:
    _csrf, post_id = await _posted(personas, tmp_path, privacy_level="SELF_ONLY")
    assert (
        await personas.other.get(f"/posts/{post_id}", headers={"accept": "application/json"})
    ).status_code == 404
    assert (await personas.other.get(f"/posts/{post_id}/status")).status_code == 404
    other_csrf = await fetch_csrf(personas.other, "/posts")
    cancel = await personas.other.post(f"/posts/{post_id}/cancel", data={"csrf_token": other_csrf})
    assert cancel.status_code == 404
    listing = await personas.other.get("/posts", headers={"accept": "application/json"})
    assert listing.json() == {"posts": []}
    assert (
        await personas.visitor.get("/posts", headers={"accept": "application/json"})
    ).status_code == 401


async def test_status_keeps_19_digit_post_ids_as_strings(
    personas: Personas, tmp_path: Path
) -> None:
    _csrf, post_id = await _posted(personas, tmp_path, privacy_level="SELF_ONLY")
    factory = personas.app.app.state.services.factory
    with factory() as session, session.begin():
        post = session.get(store.Post, post_id)
        assert post is not None
        post.post_ids = ["7301234567890123457"]
        seed_state(post, state=states.PUBLISHED)
    status = await personas.creator.get(f"/posts/{post_id}/status")
    assert '"post_ids":["7301234567890123457"]' in status.text.replace(" ", "")
    assert status.json()["links"] == [
        "https://www.tiktok.com/@pim.private/video/7301234567890123457"
    ]
    page = await personas.creator.get(f"/posts/{post_id}")
    assert "7301234567890123457" in page.text


async def test_scheduled_post_can_be_cancelled_from_its_page(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, upload_id = await _ready(personas, tmp_path)
    from datetime import datetime, timedelta

    later = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    answer = await personas.creator.post(
        "/posts",
        data=_form(csrf, upload_id, privacy_level="SELF_ONLY", scheduled_at=later, time_zone="UTC"),
        headers={"accept": "application/json"},
    )
    post_id = answer.json()["id"]
    cancel = await personas.creator.post(f"/posts/{post_id}/cancel", data={"csrf_token": csrf})
    assert cancel.status_code == 303
    status = (await personas.creator.get(f"/posts/{post_id}/status")).json()
    assert status["state"] == states.CANCELLED and status["final"] is True
    again = await personas.creator.post(
        f"/posts/{post_id}/schedule",
        data={"csrf_token": csrf, "scheduled_at": "", "time_zone": "UTC"},
    )
    assert again.status_code == 409


async def test_post_needing_confirmation_is_queued_again_only_when_its_choices_still_hold(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, post_id = await _posted(personas, tmp_path, privacy_level="SELF_ONLY")
    factory = personas.app.app.state.services.factory
    with factory() as session, session.begin():
        post = session.get(store.Post, post_id)
        assert post is not None
        seed_state(post, state=states.NEEDS_CONFIRMATION, reason_text="settings changed")
    page = await personas.creator.get(f"/posts/{post_id}")
    assert "Confirm as it was" in page.text
    # A choice that creator_info forbids now is refused again, nothing changes (UX-2c).
    refused = await personas.creator.post(
        f"/posts/{post_id}/confirm",
        data={"csrf_token": csrf, "privacy_level": "SELF_ONLY", "allow_duet": "on"},
    )
    assert refused.status_code == 422
    assert (await personas.creator.get(f"/posts/{post_id}/status")).json()["state"] == (
        states.NEEDS_CONFIRMATION
    )
    confirmed = await personas.creator.post(
        f"/posts/{post_id}/confirm",
        data={"csrf_token": csrf, "privacy_level": "SELF_ONLY", "title": "from the test"},
    )
    assert confirmed.status_code == 303, confirmed.text
    assert (await personas.creator.get(f"/posts/{post_id}/status")).json()["state"] == states.QUEUED


async def test_confirming_again_keeps_every_consent_and_the_post_page_shows_them_ux_5c(
    personas: Personas, tmp_path: Path
) -> None:
    csrf, post_id = await _posted(
        personas, tmp_path, privacy_level="SELF_ONLY", title="first words"
    )
    factory = personas.app.app.state.services.factory
    with factory() as session, session.begin():
        post = session.get(store.Post, post_id)
        assert post is not None
        first = (post.consents[0].id, post.consents[0].consented_at, post.consents[0].choices)
        seed_state(post, state=states.NEEDS_CONFIRMATION, reason_text="settings changed")
    confirmed = await personas.creator.post(
        f"/posts/{post_id}/confirm",
        data={"csrf_token": csrf, "privacy_level": "SELF_ONLY", "title": "second words"},
    )
    assert confirmed.status_code == 303, confirmed.text

    with factory() as session:
        post = session.get(store.Post, post_id)
        assert post is not None
        consents = list(post.consents)
        # The first consent is kept exactly as it was given; the new one is in force.
        assert len(consents) == 2
        assert (consents[0].id, consents[0].consented_at, consents[0].choices) == first
        assert consents[0].choices["title"] == "first words"
        assert post.consent is consents[1] and consents[1].choices["title"] == "second words"
    page = await personas.creator.get(f"/posts/{post_id}")
    assert "Your consents" in page.text and page.text.count("consent-declaration") == 2
    exported = (await personas.creator.get("/me/data/export")).json()
    mine = next(p for p in exported["data"]["post_history"] if p["id"] == post_id)
    assert [c["choices"]["title"] for c in mine["consents"]] == ["first words", "second words"]
