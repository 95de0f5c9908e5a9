"""Editing a post that has not started (issue 17): it opens the Post page with fresh creator_info
and every rule — the creator's caption kept and editable (UX-5b), privacy unchosen (UX-2b),
toggles off (UX-2c) — and saving records a second consent, the first kept. Over the real app
in-process and the real emulator.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from directpost.publishing import states
from directpost.store import posts as store
from tests.fixtures.live import AppClient, Personas, api_sign_in, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.web.test_compose_page_server import options, upload_video

pytestmark = pytest.mark.anyio

ZONE = "Europe/Paris"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _scheduled_post(app: AppClient, csrf: str, tmp_path: Path) -> int:
    upload = await upload_video(app, csrf, make_video(tmp_path / "later.mp4", seconds=1.0))
    when = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=2)).strftime("%Y-%m-%dT09:00")
    answer = await app.client.post(
        "/posts",
        data={
            "csrf_token": csrf,
            "upload_id": upload["id"],
            "title": "first words #one",
            "privacy_level": "SELF_ONLY",
            "allow_comment": "on",
            "scheduled_at": when,
            "time_zone": ZONE,
        },
    )
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].split("?")[0].rsplit("/", 1)[1])


def _post(app: AppClient, post_id: int) -> store.Post:
    with app.app.state.services.factory() as session:
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        _ = list(post.consents), list(post.attempts)
        return post


async def test_edit_opens_the_post_page_with_every_rule_and_saves_a_second_consent(
    app_client: AppClient, tmp_path: Path
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    csrf = await fetch_csrf(app_client.client, "/compose")
    post_id = await _scheduled_post(app_client, csrf, tmp_path)
    opened = await app_client.client.get(f"/posts/{post_id}/edit")
    assert opened.status_code == 303 and opened.headers["location"] == f"/compose?post={post_id}"
    page = (await app_client.client.get(opened.headers["location"])).text
    assert f'action="/posts/{post_id}/edit"' in page
    assert "first words #one" in page  # the caption, editable (UX-5b)
    assert not any(selected for _, selected, _ in options(page))  # privacy unchosen (UX-2b)
    assert not re.search(r'id="allow_comment"[^>]*\schecked', page)  # toggles off (UX-2c)
    assert "who can see it: Only me" in page and "allowed: comments" in page  # said as text
    assert 'value="Europe/Paris"' in page  # the post's time, in its zone
    # Saving without a privacy choice is refused like a new post (UX-2b); nothing changes.
    form = {"csrf_token": csrf, "upload_id": _post(app_client, post_id).upload_id or ""}
    form |= {"title": "second words", "time_zone": ZONE}
    refused = await app_client.client.post(f"/posts/{post_id}/edit", data=form)
    assert refused.status_code == 422
    assert _post(app_client, post_id).choices["title"] == "first words #one"

    later = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).strftime("%Y-%m-%dT18:30")
    saved = await app_client.client.post(
        f"/posts/{post_id}/edit",
        data=form | {"privacy_level": "SELF_ONLY", "scheduled_at": later},
    )
    assert saved.status_code == 303, saved.text
    post = _post(app_client, post_id)
    assert post.state == states.SCHEDULED
    assert post.choices["title"] == "second words" and not post.choices["allow_comment"]
    assert post.scheduled_at is not None
    assert post.scheduled_at.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M") == later
    assert [c.choices["title"] for c in post.consents] == ["first words #one", "second words"]


async def test_a_post_that_has_started_or_is_someone_elses_cannot_be_edited(
    personas: Personas, tmp_path: Path
) -> None:
    csrf = await fetch_csrf(personas.creator, "/compose")
    app = AppClient(
        client=personas.creator,
        app=personas.app.app,
        settings=personas.app.settings,
        emulator=personas.app.emulator,
    )
    post_id = await _scheduled_post(app, csrf, tmp_path)
    # Another person's post looks like a missing one.
    assert (await personas.other.get(f"/posts/{post_id}/edit")).status_code == 404
    assert (await personas.other.get(f"/compose?post={post_id}")).status_code == 404
    with app.app.state.services.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        post.state = states.PROCESSING  # TikTok has it now
    opened = await personas.creator.get(f"/posts/{post_id}/edit")
    assert opened.headers["location"] == f"/posts/{post_id}"
    page = await personas.creator.get(f"/compose?post={post_id}")
    assert page.status_code == 409 and "can no longer be changed" in page.text
    saved = await personas.creator.post(
        f"/posts/{post_id}/edit",
        data={"csrf_token": csrf, "upload_id": "x", "privacy_level": "SELF_ONLY"},
    )
    assert saved.status_code in (409, 422)
