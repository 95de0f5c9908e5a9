"""A prepared post in real Chromium (issue 18): prepared through the API with a privacy
suggestion, it opens from "To review" on the Post page with privacy unchosen (UX-2b), the
suggestion visible as text, the toggles off (UX-2c), and the publish button disabled until the
creator picks who can see it; then the creator's own choice is what is posted (UX-5c)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from directpost.store import prepared as store
from directpost.store.accounts import TikTokAccount
from tests.browser.test_post_page_rules import expect, publish_button
from tests.fixtures.live import LiveApp, sign_in
from tests.fixtures.media_files import make_video
from tests.fixtures.prepared import bearer, make_token

pytestmark = pytest.mark.browser


def prepare_for(
    live_app: LiveApp, video: Path, *, open_id: str = "demo-private", **suggestion: Any
) -> dict[str, Any]:
    """Prepare a post for the account `open_id` through the API, as a script would."""
    factory = live_app.app.state.services.factory
    with factory() as session:
        account = session.scalar(select(TikTokAccount).where(TikTokAccount.open_id == open_id))
        assert account is not None
        person_id, account_id = account.person_id, account.id
    token = make_token(factory, person_id=person_id, name="browser test script")
    data = video.read_bytes()
    with httpx2.Client(base_url=live_app.base_url, headers=bearer(token), timeout=30) as api:
        upload = api.post(
            "/api/v1/uploads",
            json={
                "account_id": account_id,
                "kind": "video",
                "files": [{"name": video.name, "size": len(data), "type": "video/mp4"}],
            },
        ).json()
        file_id = upload["files"][0]["id"]
        assert api.put(f"/api/v1/uploads/{upload['id']}/files/{file_id}?offset=0", content=data)
        assert api.post(f"/api/v1/uploads/{upload['id']}/finish").json()["state"] == "ready"
        made = api.post(
            "/api/v1/prepared-posts",
            json={"account_id": account_id, "upload_id": upload["id"], **suggestion},
        )
        assert made.status_code == 201, made.text
        result: dict[str, Any] = made.json()
        return result


def test_a_prepared_post_opens_with_privacy_unchosen_and_the_suggestion_as_text(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    sign_in(page, open_id="demo-private")
    made = prepare_for(
        live_app,
        make_video(tmp_path / "prepared.mp4", seconds=1.0),
        title="prepared by the pipeline #cat",
        privacy_suggestion="SELF_ONLY",
        note="the cut from Tuesday",
    )
    page.goto("/review")
    item = page.get_by_test_id("review-item").filter(has_text="prepared by the pipeline")
    expect(item).to_contain_text("the cut from Tuesday")
    item.get_by_test_id("review-open").click()

    expect(page.locator("h1")).to_have_text("Review a prepared post")
    expect(page.get_by_label("Title")).to_have_value("prepared by the pipeline #cat")  # UX-5b
    expect(page.locator("#privacy_level")).to_have_value("")  # UX-2b: no default
    expect(page.get_by_test_id("privacy-suggestion")).to_contain_text("Only me")
    expect(page.get_by_label("Allow comment")).not_to_be_checked()  # UX-2c
    expect(page.locator("#preview-video")).to_be_visible()  # the prepared media, as it is
    expect(publish_button(page)).to_be_disabled()  # nothing can go before the creator picks

    page.get_by_label("Title").fill("prepared, then edited by the creator")
    page.locator("#privacy_level").select_option("SELF_ONLY")
    expect(publish_button(page)).to_be_enabled()
    publish_button(page).click()
    page.wait_for_url(re.compile(r"/posts/\d+"))
    expect(page.locator("main")).to_contain_text("prepared, then edited by the creator")
    with live_app.app.state.services.factory() as session:
        row = session.get(store.PreparedPost, made["id"])
        assert row is not None and row.state == store.CONFIRMED and row.post_id is not None
