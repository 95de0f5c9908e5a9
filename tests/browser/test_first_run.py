"""The first five minutes in real Chromium (issue 14): `directpost run --port N` as a real
process, the "Demo mode" banner, the emulator consent page's own choice of demo creator (or a
public one made private there), and a post published from the Post page through port N."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fixtures.first_run import RunningApp, directpost_run
from tests.fixtures.live import EXPECT_TIMEOUT_MS
from tests.fixtures.media_files import make_video
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    tmp = tmp_path_factory.mktemp("first-run-browser")
    with directpost_run(tmp, port=free_port(), emulator_port=free_port()) as app:
        yield app


@pytest.fixture
def first_page(browser: Any, running: RunningApp) -> Iterator[Any]:
    """A new visitor's browser on the app that `directpost run --port N` serves."""
    context = browser.new_context(base_url=running.app_url, locale="en-US")
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def _publish_from_the_post_page(page: Any, tmp_path: Path, title: str) -> None:
    page.goto("/compose")
    page.set_input_files("#media-input", [str(make_video(tmp_path / "clip.mp4", seconds=1.0))])
    expect(page.locator("#upload-progress-text")).to_have_text(
        re.compile("Uploaded"), timeout=30_000
    )
    page.get_by_label("Title").fill(title)
    page.locator("#privacy_level").select_option("SELF_ONLY")
    publish = page.get_by_test_id("publish")
    expect(publish).to_be_enabled()
    publish.click()
    page.wait_for_url(re.compile(r"/posts/\d+"))


def _wait_until_posted(running: RunningApp, title: str) -> None:
    """The post reaches the demo creator's profile on this run's own emulator."""
    deadline = time.monotonic() + 60
    while (
        title
        not in httpx2.get(
            f"{running.emulator_url}/_emulator/state", timeout=10, trust_env=False
        ).text
    ):
        assert time.monotonic() < deadline, f"{title!r} never reached the emulator"
        time.sleep(0.25)


def test_first_sign_in_with_the_preselected_creator_publishes_through_the_chosen_port(
    first_page: Any, running: RunningApp, tmp_path: Path
) -> None:
    page = first_page
    page.goto("/")
    expect(page.locator(".demo-banner")).to_be_visible()
    page.get_by_role("link", name="Continue with TikTok").first.click()
    assert page.url.startswith(running.emulator_url + "/v2/auth/authorize/")
    expect(page.locator('input[name="open_id"]:checked')).to_have_count(1)
    page.locator("#allow").click()  # the page's own choice, as a new user would
    page.wait_for_url(running.app_url + "/**")
    _publish_from_the_post_page(page, tmp_path, "first page first post")
    assert page.url.startswith(running.app_url)
    _wait_until_posted(running, "first page first post")


def test_a_public_demo_creator_made_private_on_the_consent_page_can_publish(
    first_page: Any, running: RunningApp, tmp_path: Path
) -> None:
    page = first_page
    page.goto("/")
    page.get_by_role("link", name="Continue with TikTok").first.click()
    page.locator('input[name="open_id"][value="demo-no-duet-stitch"]').check()
    page.get_by_label("Make the chosen demo account private before continuing").check()
    page.locator("#allow").click()
    page.wait_for_url(running.app_url + "/**")
    _publish_from_the_post_page(page, tmp_path, "made private, then posted")
    _wait_until_posted(running, "made private, then posted")
