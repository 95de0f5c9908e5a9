"""Sign in through the emulator's consent page in real Chromium (DG-1), then DG-5 in the page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fixtures.live import sign_in

pytestmark = pytest.mark.browser


def test_sign_in_through_the_consent_page_shows_the_account_DG_1(page: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="Continue with TikTok").first.click()
    assert "/v2/auth/authorize/" in page.url  # the emulator's consent page, not ours
    page.locator('input[name="open_id"][value="demo-public"]').check()
    page.locator("#allow").click()
    page.goto("/accounts")
    assert page.locator("h1").inner_text() == "Your TikTok accounts"
    assert "Posting as Pia Public" in page.locator("header").inner_text()
    avatar = page.locator(".account img.avatar").first
    assert avatar.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_visitor_sent_to_sign_in_comes_back_to_the_page_they_wanted(page: Any) -> None:
    page.goto("/me/data")
    assert "Sign in with TikTok to continue." in page.locator("main").inner_text()
    page.locator("main").get_by_role("link", name="Continue with TikTok").click()
    page.locator('input[name="open_id"][value="demo-no-duet-stitch"]').check()
    page.locator("#allow").click()
    page.wait_for_url("**/me/data")
    assert page.locator("h1").inner_text() == "My data"


def test_disconnect_and_delete_everything_from_the_page_DG_5(page: Any) -> None:
    sign_in(page, open_id="demo-no-comments", next_path="/accounts")
    page.goto("/accounts")
    # Disconnect asks first: the button that sends it is hidden until the question is opened.
    confirm = page.get_by_role("button", name=re.compile(r"^Yes, disconnect"))
    assert not confirm.is_visible()
    page.locator(".account summary", has_text="Disconnect…").click()
    confirm.click()
    assert "Not connected" in page.locator(".account").first.inner_text()

    page.goto("/me/data")
    page.get_by_role("button", name="Delete all my data").click()
    # The browser itself refuses without the confirmation box (required), nothing is sent.
    assert page.locator("h1").inner_text() == "My data"
    page.get_by_label("I understand that everything will be deleted").check()
    page.get_by_role("button", name="Delete all my data").click()
    assert page.locator("h1").inner_text() == "Your data has been deleted"
    page.goto("/accounts")
    assert "Sign in with TikTok to continue." in page.locator("main").inner_text()


def test_account_and_data_pages_label_every_control_at_phone_width_DG_2(page: Any) -> None:
    sign_in(page, open_id="demo-60s", next_path="/accounts")
    page.set_viewport_size({"width": 360, "height": 740})
    from tests.web.test_public_pages_browser import UNLABELLED_CONTROLS

    for path in ("/accounts", "/me/data"):
        page.goto(path)
        assert page.evaluate(UNLABELLED_CONTROLS) == [], path
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
