"""A failed post's page in real Chromium offers "Send it again" only where TikTok provably did
not publish it (issue 17): after a refused init it does, and sending it again publishes it;
with an init whose answer was lost it says why not, and offers nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from directpost.store.base import utcnow
from tests.browser.test_post_status_live import _csrf, _upload
from tests.fixtures.live import LiveApp, sign_in
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.browser


def _failed_post(page: Any, live_app: LiveApp, tmp_path: Path, title: str) -> str:
    """A post whose init TikTok refuses (invalid_params): failed, nothing at TikTok."""
    live_app.emulator.control(
        "POST", "/_emulator/faults", {"endpoint": "video_init", "error": "invalid_params"}
    )
    csrf = _csrf(page)
    upload_id = _upload(page, csrf, make_video(tmp_path / f"{title}.mp4", seconds=1.0))
    answer = page.request.post(
        "/posts",
        form={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": title,
            "privacy_level": "SELF_ONLY",
        },
        max_redirects=0,
    )
    assert answer.status == 303, answer.text()
    path = str(answer.headers["location"]).split("?")[0]
    page.goto(path)
    page.locator("#post-live .state-failed").wait_for(timeout=30_000)
    return path


def test_a_refused_post_is_offered_again_and_publishes(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    sign_in(page, open_id="demo-private")
    path = _failed_post(page, live_app, tmp_path, "refused once")
    page.reload()
    again = page.get_by_role("button", name="Send it again as it was")
    assert again.is_visible()
    assert page.get_by_test_id("retry-blocked").count() == 0
    again.click()
    page.wait_for_url(re.compile(re.escape(path)))
    page.locator("#post-live .state-published").wait_for(timeout=30_000)


def test_an_unknown_init_answer_is_not_offered_again(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    sign_in(page, open_id="demo-private")
    path = _failed_post(page, live_app, tmp_path, "answer lost")
    post_id = int(path.rsplit("/", 1)[1])
    engine = create_engine(live_app.settings.resolved_database_url)
    try:
        with engine.begin() as db:  # as a run killed before it stored TikTok's answer
            db.execute(
                text(
                    "UPDATE publish_attempts SET state = 'ambiguous', created_at = :now "
                    "WHERE post_id = :id"
                ),
                {"id": post_id, "now": utcnow()},
            )
    finally:
        engine.dispose()
    page.reload()
    assert "not yet certain" in page.get_by_test_id("retry-blocked").inner_text()
    assert page.get_by_role("button", name="Send it again as it was").count() == 0
