"""The Post page as a product (issue 14), in real Chromium against the running app: the photo
preview shows each whole photo (UX-5a), "publish later" in the creator's own time zone, the
two-column layout, the disclosure switch, the upload bar's last word and dark mode."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from tests.browser.test_post_page_rules import expect, new_creator, publish_button, upload
from tests.fixtures.live import EXPECT_TIMEOUT_MS, LiveApp, sign_in
from tests.fixtures.media_files import make_photo, make_video

pytestmark = pytest.mark.browser

#: A zone far from UTC with daylight saving, so a wrong conversion shows by hours.
ZONE = "America/New_York"


def _open(browser: Any, live_app: LiveApp, **options: Any) -> Any:
    context = browser.new_context(base_url=live_app.base_url, locale="en-US", **options)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context


def _signed_in_post_page(page: Any, live_app: LiveApp, open_id: str = "") -> None:
    open_id = open_id or new_creator(live_app.emulator, private_account=True)
    sign_in(page, open_id=open_id, next_path="/compose")
    page.goto("/compose")


def test_ux_5a_photo_preview_shows_each_whole_photo_at_its_own_aspect_ratio(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    _signed_in_post_page(page, live_app)
    files = [
        make_photo(tmp_path / "wide.jpg", width=1600, height=900),
        make_photo(tmp_path / "tall.jpg", width=1080, height=1920, color=(10, 200, 30)),
        make_photo(tmp_path / "square.webp", width=1000, height=1000, fmt="WEBP"),
    ]
    upload(page, *files)
    carousel = page.get_by_test_id("preview-carousel")
    expect(carousel.locator("img")).to_have_count(3)
    expect(page.locator("#disclose-help")).to_have_text(
        "Turn this on if these photos promote yourself, a brand, a product or a service."
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.carousel img')].every(i => i.naturalWidth > 0)"
    )
    shown = page.evaluate(
        """() => [...document.querySelectorAll('.carousel img')].map(img => {
            const r = img.getBoundingClientRect();
            const s = getComputedStyle(img);
            const screen = img.closest('.phone-screen').getBoundingClientRect();
            return {w: r.width, h: r.height, nw: img.naturalWidth, nh: img.naturalHeight,
                    fit: s.objectFit, screenH: screen.height};
        })"""
    )
    assert [(s["nw"], s["nh"]) for s in shown] == [(1600, 900), (1080, 1920), (1000, 1000)]
    for s in shown:
        # The element's box has the file's aspect and nothing inside it is cut away.
        assert s["fit"] in ("fill", "contain"), s
        assert s["w"] > 50 and s["h"] > 50, s
        assert abs(s["w"] / s["h"] - s["nw"] / s["nh"]) < 0.02, s
        assert s["h"] <= s["screenH"] + 0.5, s
    # The first photo lies wholly inside the phone's screen (not clipped by the frame).
    inside = page.evaluate(
        """() => { const img = document.querySelector('.carousel img');
            const r = img.getBoundingClientRect();
            const s = img.closest('.phone-screen').getBoundingClientRect();
            return r.left >= s.left - 0.5 && r.right <= s.right + 0.5
                && r.top >= s.top - 0.5 && r.bottom <= s.bottom + 0.5; }"""
    )
    assert inside


def _stored_schedule(live_app: LiveApp, post_id: int) -> tuple[datetime, str]:
    engine = create_engine(live_app.settings.resolved_database_url)
    try:
        with engine.connect() as db:
            row = db.execute(
                text("SELECT scheduled_at, time_zone FROM posts WHERE id = :id"), {"id": post_id}
            ).one()
    finally:
        engine.dispose()
    raw = row[0]
    when = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo("UTC"))
    return when, str(row[1])


def test_publish_later_takes_the_time_in_the_browsers_zone_and_stores_it_in_utc(
    browser: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    context = _open(browser, live_app, timezone_id=ZONE)
    try:
        page = context.new_page()
        # demo-private, like the other tests that publish on this app: an unaudited app lets
        # at most five creators post a day (CAP-1), and a fresh creator would be a new one.
        _signed_in_post_page(page, live_app, open_id="demo-private")
        expect(page.locator("#time_zone")).to_have_value(ZONE)  # detected, not typed
        upload(page, make_video(tmp_path / "later.mp4", seconds=1.0))
        page.locator("#privacy_level").select_option("SELF_ONLY")
        local = (datetime.now(ZoneInfo(ZONE)) + timedelta(hours=3)).replace(
            second=0, microsecond=0, tzinfo=None
        )
        page.locator("#scheduled_at").fill(local.strftime("%Y-%m-%dT%H:%M"))
        expect(publish_button(page)).to_have_text("Schedule the post")
        expect(publish_button(page)).to_be_enabled()
        expect(page.locator("#time_zone")).to_have_value(ZONE)  # kept through re-renders
        # The caps of that day, beside the field (CAP-3: its day in the browser's zone).
        expect(page.get_by_test_id("day-caps").locator('[data-rule="CAP-3"]')).to_contain_text(
            f"{local:%A} {local.day} {local:%B}"
        )
        publish_button(page).click()
        page.wait_for_url(re.compile(r"/posts/\d+"))
        post_id = int(re.search(r"/posts/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        expect(page.locator("#post-live")).to_contain_text(
            f"Scheduled for {local.strftime('%Y-%m-%d %H:%M')} ({ZONE})"
        )
        when, zone = _stored_schedule(live_app, post_id)
        assert zone == ZONE
        assert when == local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(ZoneInfo("UTC"))
    finally:
        context.close()


@pytest.mark.slow
def test_a_post_scheduled_in_the_browsers_zone_runs_at_that_local_time(
    browser: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    context = _open(browser, live_app, timezone_id=ZONE)
    try:
        page = context.new_page()
        _signed_in_post_page(page, live_app, open_id="demo-private")
        upload(page, make_video(tmp_path / "soon.mp4", seconds=1.0))
        page.locator("#privacy_level").select_option("SELF_ONLY")
        # The next whole minute at least 30 s away, in New York's time (the field has minutes).
        soon = datetime.now(ZoneInfo(ZONE)) + timedelta(seconds=90)
        local = soon.replace(second=0, microsecond=0, tzinfo=None)
        page.locator("#scheduled_at").fill(local.strftime("%Y-%m-%dT%H:%M"))
        publish_button(page).click()
        page.wait_for_url(re.compile(r"/posts/\d+"))
        post_id = int(re.search(r"/posts/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        due = local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(ZoneInfo("UTC"))
        # The page follows it: scheduled until then, then published (the worker runs it).
        expect(page.locator("#post-live")).to_contain_text("Published", timeout=150_000)
        started = _started_at(live_app, post_id)
        assert due <= started < due + timedelta(seconds=30), (due, started)
    finally:
        context.close()


def _started_at(live_app: LiveApp, post_id: int) -> datetime:
    engine = create_engine(live_app.settings.resolved_database_url)
    try:
        with engine.connect() as db:
            raw = db.execute(
                text("SELECT started_at FROM posts WHERE id = :id"), {"id": post_id}
            ).scalar_one()
    finally:
        engine.dispose()
    when = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo("UTC"))


def test_publish_later_without_script_shows_the_zone_it_reads_the_time_in(
    browser: Any, live_app: LiveApp
) -> None:
    context = _open(browser, live_app, java_script_enabled=False)
    try:
        page = context.new_page()
        _signed_in_post_page(page, live_app)
        expect(page.get_by_label("Time zone")).to_have_value("UTC")
        expect(page.get_by_label("Publish later (leave empty to post now)")).to_have_value("")
    finally:
        context.close()


def test_wide_screens_put_the_phone_preview_beside_the_controls_and_phones_stack_them(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    _signed_in_post_page(page, live_app)
    boxes = "() => ['compose-preview', 'compose-controls'].map(id => document.getElementById(id).getBoundingClientRect().toJSON())"
    preview, controls = page.evaluate(boxes)
    assert preview["left"] >= controls["right"], (preview, controls)
    assert preview["top"] < controls["bottom"]
    # Uploading fills the phone that was already there: the controls do not move.
    before = page.evaluate(boxes)[1]
    upload(page, make_video(tmp_path / "clip.mp4", seconds=1.0))
    expect(page.get_by_test_id("preview-video")).to_be_visible()
    after = page.evaluate(boxes)[1]
    assert (after["left"], after["top"], after["width"]) == (
        before["left"],
        before["top"],
        before["width"],
    )
    page.set_viewport_size({"width": 390, "height": 800})
    preview, controls = page.evaluate(boxes)
    assert preview["bottom"] <= controls["top"] + 1
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0  # nothing wider than the phone


def test_disclosure_is_drawn_as_a_switch_and_toggles_like_one(page: Any, live_app: LiveApp) -> None:
    _signed_in_post_page(page, live_app)
    switch = page.get_by_role("switch", name="Disclose post content")
    looks = page.evaluate(
        """(el) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
            return {appearance: s.appearance, w: r.width, h: r.height}; }""",
        switch.element_handle(),
    )
    assert looks["appearance"] == "none" and looks["w"] >= 1.5 * looks["h"], looks
    off = page.evaluate("(el) => getComputedStyle(el).backgroundColor", switch.element_handle())
    switch.check()
    expect(page.get_by_label("Your brand")).to_be_visible()
    switch = page.get_by_role("switch", name="Disclose post content")
    expect(switch).to_be_checked()
    on = page.evaluate("(el) => getComputedStyle(el).backgroundColor", switch.element_handle())
    assert on != off


def test_upload_bar_says_uploaded_when_every_byte_has_arrived(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    _signed_in_post_page(page, live_app)
    expect(page.locator("#upload-progress-label")).to_be_hidden()
    upload(page, make_video(tmp_path / "clip.mp4", seconds=1.0))
    expect(page.locator("#upload-progress-bar")).to_have_attribute("value", "100")
    expect(page.locator("#upload-progress-label")).to_have_text("Uploaded")


def test_dark_mode_follows_the_systems_setting(browser: Any, live_app: LiveApp) -> None:
    def background(scheme: str) -> list[int]:
        context = _open(browser, live_app, color_scheme=scheme)
        try:
            page = context.new_page()
            page.goto("/")
            colour = page.evaluate(
                "() => getComputedStyle(document.documentElement).backgroundColor"
            )
        finally:
            context.close()
        return [int(n) for n in re.findall(r"\d+", colour)[:3]]

    assert sum(background("light")) > 600
    assert sum(background("dark")) < 150


def test_a_creator_who_cannot_post_reads_it_once_and_gets_somewhere_to_go(
    page: Any, live_app: LiveApp
) -> None:
    open_id = new_creator(live_app.emulator, private_account=True, posting_state="capped")
    sign_in(page, open_id=open_id, next_path="/compose")
    page.goto("/compose")
    blocked = page.get_by_test_id("compose-blocked")
    words = blocked.inner_text().lower()
    assert words.count("cannot post right now") + words.count("can't post right now") == 1
    expect(blocked.get_by_role("link", name="See your posts")).to_have_attribute("href", "/posts")
    expect(blocked.get_by_role("link", name="Try again later")).to_have_count(0)
