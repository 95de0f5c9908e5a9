"""To review (issue 18): a prepared post opens on the Post page with every rule — the suggested
caption filled in and editable (UX-5b), privacy unchosen even when one was suggested (the
suggestion shown as text, UX-2b), toggles and disclosure off (UX-2c, UX-3a) — and only the
creator's confirmation there makes it a post, with its consent record (UX-5c). Over the real
app in-process and the real emulator.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from directpost.publishing import states
from directpost.store import posts as post_store
from directpost.store import prepared as store
from tests.fixtures.live import AppClient, Personas, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.fixtures.prepared import bearer, make_token, prepare_via_api

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _prepared(personas: Personas, tmp_path: Path, **suggestion: object) -> tuple[str, dict]:
    app = personas.app
    token = make_token(app.app.state.services.factory, person_id=1)
    accounts = (await app.client.get("/api/v1/accounts", headers=bearer(token))).json()
    account_id = accounts["accounts"][0]["id"]
    video = make_video(tmp_path / "prepared.mp4", seconds=1.0)
    made = await prepare_via_api(
        app.client, token, account_id=account_id, video=video, **suggestion
    )
    return token, made


def _row(app: AppClient, prepared_id: int) -> store.PreparedPost:
    with app.app.state.services.factory() as session:
        row = session.get(store.PreparedPost, prepared_id)
        assert row is not None
        return row


async def test_the_post_page_opens_it_with_nothing_chosen_and_the_suggestion_as_text(
    personas: Personas, tmp_path: Path
) -> None:
    _token, made = await _prepared(
        personas,
        tmp_path,
        title="prepared words #cat",
        privacy_suggestion="SELF_ONLY",  # offered to this (unaudited) app: could be chosen
        note="for Friday",
    )
    creator = personas.creator
    listing = await creator.get("/review")
    assert listing.status_code == 200
    assert "prepared words #cat" in listing.text and "for Friday" in listing.text
    home = await creator.get("/")
    assert 'data-testid="to-review-count"' in home.text  # the header's badge

    opened = await creator.get(f"/review/{made['id']}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/compose?prepared={made['id']}"
    page = await creator.get(opened.headers["location"])
    assert page.status_code == 200, page.text
    html = page.text
    assert f'action="/review/{made["id"]}/confirm"' in html
    assert "prepared words #cat" in html  # the suggested caption, editable (UX-5b)
    suggestion = html[html.index('data-testid="privacy-suggestion"') :]
    assert "Only me" in suggestion[: suggestion.index("</p>")]
    select = html[html.index('id="privacy_level"') : html.index("</select>")]
    assert re.search(r'<option value="\w+"[^>]* selected', select) is None  # UX-2b
    assert 'name="allow_comment" checked' not in html  # UX-2c
    assert re.search(r'id="disclose_commercial"[^>]*checked', html) is None  # UX-3a
    assert re.search(r'id="publish"[^>]*disabled', html)  # nothing chosen: cannot publish


async def test_confirming_makes_the_post_with_its_consent_and_only_once(
    personas: Personas, tmp_path: Path
) -> None:
    app = personas.app
    _token, made = await _prepared(
        personas, tmp_path, title="confirm me", privacy_suggestion="PUBLIC_TO_EVERYONE"
    )
    creator = personas.creator
    await creator.get(f"/review/{made['id']}")  # chooses the prepared post's account
    csrf = await fetch_csrf(creator, f"/compose?prepared={made['id']}")
    form = {
        "csrf_token": csrf,
        "upload_id": made["upload_id"],
        "title": "confirm me, edited",
        "privacy_level": "SELF_ONLY",
        "consent": "on",
    }
    answer = await creator.post(f"/review/{made['id']}/confirm", data=form)
    assert answer.status_code == 303, answer.text
    post_id = int(answer.headers["location"].split("?")[0].rsplit("/", 1)[1])
    row = _row(app, made["id"])
    assert row.state == store.CONFIRMED and row.post_id == post_id
    with app.app.state.services.factory() as session:
        post = post_store.get_post(session, post_id=post_id)
        assert post is not None
        assert post.choices["privacy_level"] == "SELF_ONLY"  # the creator's choice, not the
        assert post.choices["title"] == "confirm me, edited"  # suggestion
        assert len(post.consents) == 1
        assert post.state in (states.QUEUED, states.PUBLISHING, states.PUBLISHED) or post.state
    again = await creator.post(f"/review/{made['id']}/confirm", data=form)
    assert again.status_code == 409
    with app.app.state.services.factory() as session:
        assert len(post_store.list_posts(session, person_id=1)) == 1


async def test_rejecting_tells_the_reason_and_removes_the_media(
    personas: Personas, tmp_path: Path
) -> None:
    app = personas.app
    token, made = await _prepared(personas, tmp_path, title="not this one")
    creator = personas.creator
    csrf = await fetch_csrf(creator, "/review")
    answer = await creator.post(
        f"/review/{made['id']}/reject", data={"csrf_token": csrf, "reason": "wrong clip"}
    )
    assert answer.status_code == 303
    read = await app.client.get(f"/api/v1/prepared-posts/{made['id']}", headers=bearer(token))
    assert read.json()["state"] == "rejected" and read.json()["reason"] == "wrong clip"
    assert read.json()["upload_id"] is None
    with app.app.state.services.factory() as session:
        from directpost.store import uploads

        assert session.get(uploads.Upload, made["upload_id"]) is None


async def test_someone_else_cannot_open_confirm_or_reject_it(
    personas: Personas, tmp_path: Path
) -> None:
    _token, made = await _prepared(personas, tmp_path, title="mine")
    other = personas.other
    assert (await other.get(f"/review/{made['id']}")).status_code == 404
    assert (await other.get(f"/compose?prepared={made['id']}")).status_code in (404, 303)
    csrf = await fetch_csrf(other, "/review")
    for action in ("confirm", "reject"):
        answer = await other.post(
            f"/review/{made['id']}/{action}",
            data={"csrf_token": csrf, "upload_id": made["upload_id"], "privacy_level": "SELF_ONLY"},
        )
        assert answer.status_code == 404, (action, answer.text)
    assert "mine" not in (await other.get("/review")).text
    assert _row(personas.app, made["id"]).state == store.TO_REVIEW


async def test_one_upload_backs_one_prepared_post(personas: Personas, tmp_path: Path) -> None:
    token, made = await _prepared(personas, tmp_path, title="first")
    again = await personas.app.client.post(
        "/api/v1/prepared-posts",
        headers=bearer(token),
        json={"account_id": made["account_id"], "upload_id": made["upload_id"], "title": "2nd"},
    )
    assert again.status_code == 422, again.text
    assert f"prepared post {made['id']}" in again.json()["error"]["message"]
