"""The README's screenshots (docs/screenshots/), taken in real Chromium from the running app.

Skipped unless DIRECTPOST_SCREENSHOTS=1 (they rewrite files in the checkout):

    DIRECTPOST_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/browser/test_screenshots.py

Each page at desktop (1280 px) and phone (390 px) width, in light and dark mode.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_post_page_rules import expect, new_creator, publish_button, upload
from tests.browser.test_review_prepared_browser import prepare_for
from tests.fixtures.live import EXPECT_TIMEOUT_MS, LiveApp, sign_in
from tests.fixtures.media_files import make_photo, make_video

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        os.environ.get("DIRECTPOST_SCREENSHOTS") != "1",
        reason="set DIRECTPOST_SCREENSHOTS=1 to retake the README's screenshots",
    ),
]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def maya(live_app: LiveApp) -> str:
    """A fresh demo creator in a fresh emulator world, so the consent page lists the demo
    creators and this one only (and its caps start at zero)."""
    live_app.reset_emulator()
    return new_creator(
        live_app.emulator, private_account=True, nickname="Maya Chen", username="maya.makes"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_take_screenshots(
    browser: Any, live_app: LiveApp, maya: str, tmp_path: Path, size: str, scheme: str
) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=live_app.base_url,
        locale="en-US",
        viewport=SIZES[size],
        color_scheme=scheme,
        timezone_id="Europe/Paris",
        device_scale_factor=1,
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()

    def shot(name: str) -> None:
        page.wait_for_load_state("networkidle")
        # As tall as the page, scrolled to the top: the sticky preview sits in its place (a
        # full-page capture would draw it where the last scroll left it).
        height = page.evaluate("() => document.documentElement.scrollHeight")
        page.set_viewport_size({"width": SIZES[size]["width"], "height": height})
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(OUT / f"{name}-{size}-{scheme}.png"))
        page.set_viewport_size(SIZES[size])

    try:
        page.goto("/")
        shot("home")
        open_id = maya
        page.goto("/auth/tiktok/start")
        page.locator(f'input[name="open_id"][value="{open_id}"]').check()
        shot("consent")
        sign_in(page, open_id=open_id)
        page.goto("/compose")
        shot("post-page-empty")
        upload(
            page,
            make_photo(tmp_path / "a.jpg", width=1080, height=1350, color=(240, 120, 90)),
            make_photo(tmp_path / "b.jpg", width=1600, height=900, color=(60, 140, 220)),
        )
        page.get_by_label("Title").fill("Sunday market, first light")
        page.get_by_label("Description").fill("Three stalls, one coffee. #market #morning")
        page.locator("#privacy_level").select_option("SELF_ONLY")
        page.get_by_label("Allow comment").check()
        expect(publish_button(page)).to_be_enabled()
        shot("post-page-ready")
        publish_button(page).click()
        page.wait_for_url(re.compile(r"/posts/\d+"))
        page.locator("#post-live .state-published").wait_for(timeout=30_000)
        shot("status")
        # A second post, scheduled, so the list shows more than one state.
        page.goto("/compose")
        upload(page, make_video(tmp_path / "clip.mp4", seconds=2.0, width=720, height=1280))
        page.get_by_label("Title").fill("Behind the scenes")
        page.locator("#privacy_level").select_option("SELF_ONLY")
        page.locator("#scheduled_at").fill(_tomorrow_morning(page))
        expect(page.get_by_test_id("day-caps")).to_be_visible()  # the caps of that day
        expect(publish_button(page)).to_have_text("Schedule the post")
        shot("post-page-scheduled")
        publish_button(page).click()
        page.wait_for_url(re.compile(r"/posts/\d+"))
        page.goto("/posts")
        shot("posts-list")
        # The calendar, with a few more posts of the week around the two made above.
        _plan_a_week(live_app, open_id)
        page.goto("/calendar")
        expect(page.locator(".cal-post").first).to_be_visible()
        shot("calendar-month")
        page.goto("/calendar?view=week")
        shot("calendar-week")
        # A post prepared through the API (issue 18): To review, then its Post page.
        prepare_for(
            live_app,
            make_video(tmp_path / "prepared.mp4", seconds=2.0, width=720, height=1280),
            open_id=open_id,
            title="Market day recap #market",
            privacy_suggestion="SELF_ONLY",
            note="Cut from Saturday's footage; music cleared.",
        )
        page.goto("/review")
        shot("review-list")
        page.get_by_test_id("review-open").first.click()
        expect(page.get_by_test_id("privacy-suggestion")).to_be_visible()
        shot("review-post-page")
        page.goto("/accounts")
        shot("accounts-tokens")
        page.goto("/me/data")
        shot("my-data")
        page.goto("/contact")
        shot("contact")
    finally:
        context.close()


def _plan_a_week(live_app: LiveApp, open_id: str) -> None:
    """A few more posts for the calendar, as the database would hold them: planned over the
    next days with the scheduled video's media (so they show its cover), and one that failed."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from directpost.publishing import states
    from directpost.store import posts as store
    from directpost.store.base import utcnow

    zone = ZoneInfo("Europe/Paris")
    today = utcnow().astimezone(zone).replace(second=0, microsecond=0)
    plan = [
        ("Studio tour", 2, 18, 0, states.SCHEDULED),
        ("Q&A teaser", 3, 12, 30, states.SCHEDULED),
        ("Morning run", 5, 7, 45, states.SCHEDULED),
        ("Recipe reel", 2, 20, 15, states.SCHEDULED),
    ]
    with live_app.app.state.services.factory() as session, session.begin():
        model = store.list_posts(session, person_id=_person_of(session, open_id), limit=5)
        video = next(p for p in model if p.kind == "video")
        for title, days, hour, minute, state in plan:
            when = (today + timedelta(days=days)).replace(hour=hour, minute=minute)
            post = store.create_post(
                session,
                person_id=video.person_id,
                account_id=video.account_id,
                open_id=open_id,
                kind="video",
                mode="direct",
                choices={**video.choices, "title": title},
                media=video.media,
                upload_id=video.upload_id,
                scheduled_at=when,
                time_zone="Europe/Paris",
                state=states.SCHEDULED,
                due_at=when,
                creator_info={},
                declaration="",
                label="",
            )
            post.state = state
        failed = store.create_post(
            session,
            person_id=video.person_id,
            account_id=video.account_id,
            open_id=open_id,
            kind="video",
            mode="direct",
            choices={**video.choices, "title": "Night market"},
            media=video.media,
            upload_id=video.upload_id,
            scheduled_at=None,
            time_zone="Europe/Paris",
            state=states.QUEUED,
            due_at=today,
            creator_info={},
            declaration="",
            label="",
            now=today - timedelta(days=1),
        )
        failed.state = states.FAILED


def _person_of(session: Any, open_id: str) -> int:
    from directpost.store.accounts import TikTokAccount

    return int(session.query(TikTokAccount).filter_by(open_id=open_id).one().person_id)


def _tomorrow_morning(page: Any) -> str:
    """Tomorrow at 09:00 in the browser's own zone, as a datetime-local value."""
    return str(
        page.evaluate(
            """() => { const d = new Date(Date.now() + 86400000);
                const p = (n) => String(n).padStart(2, '0');
                return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T09:00`; }"""
        )
    )
