"""Editing a scheduled post in real Chromium (issue 17): its page opens the Post page for it,
with the caption kept, privacy to choose again (UX-2b: the button waits for it), the toggles
off (UX-2c); saving returns to the post, which now lists a second consent (UX-5c)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_post_page_rules import expect, publish_button
from tests.browser.test_post_status_live import _csrf, _upload
from tests.fixtures.live import LiveApp, sign_in
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.browser


def test_edit_opens_the_post_page_with_every_rule_and_records_a_second_consent(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    sign_in(page, open_id="demo-private")
    csrf = _csrf(page)
    upload_id = _upload(page, csrf, make_video(tmp_path / "edit.mp4", seconds=1.0))
    answer = page.request.post(
        "/posts",
        form={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": "before the edit",
            "privacy_level": "SELF_ONLY",
            "scheduled_at": "2099-01-01T09:00",  # refused: too far; then a time tomorrow
            "time_zone": "UTC",
        },
        max_redirects=0,
    )
    assert answer.status == 422
    tomorrow = page.evaluate(
        "() => new Date(Date.now() + 86400000).toISOString().slice(0, 10) + 'T09:00'"
    )
    answer = page.request.post(
        "/posts",
        form={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": "before the edit",
            "privacy_level": "SELF_ONLY",
            "scheduled_at": tomorrow,
            "time_zone": "UTC",
        },
        max_redirects=0,
    )
    assert answer.status == 303, answer.text()
    post_path = str(answer.headers["location"]).split("?")[0]
    page.goto(post_path)
    page.get_by_test_id("edit-post").click()

    expect(page.locator("h1")).to_have_text("Edit your post")
    expect(page.get_by_label("Title")).to_have_value("before the edit")
    expect(page.locator("#privacy_level")).to_have_value("")  # no default (UX-2b)
    expect(publish_button(page)).to_be_disabled()
    expect(page.get_by_label("Allow comment")).not_to_be_checked()  # UX-2c
    expect(page.locator("#preview-video")).to_be_visible()  # the post's own media
    page.get_by_label("Title").fill("after the edit #changed")
    page.locator("#privacy_level").select_option("SELF_ONLY")
    expect(publish_button(page)).to_have_text("Save changes and schedule")
    expect(publish_button(page)).to_be_enabled()
    publish_button(page).click()
    page.wait_for_url(re.compile(re.escape(post_path)))
    consents = page.locator(".consent-history > li")
    expect(consents).to_have_count(2)
    expect(page.locator("main")).to_contain_text("after the edit #changed")
