"""Issue 18, teammates in a real browser: the owner makes an invitation link on the team page,
another person opens it signed out, signs in with TikTok, lands back on the invitation, reads
what joining means and joins; the owner then sees them and removes them."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.test_post_page_rules import new_creator
from tests.fixtures.live import EXPECT_TIMEOUT_MS, LiveApp, sign_in


def _sign_in_here(page: Any, open_id: str) -> None:
    """Walk the emulator's consent page from wherever the app sent the browser."""
    page.locator(f'input[name="open_id"][value="{open_id}"]').check()
    page.locator("#allow").click()
    page.wait_for_load_state("domcontentloaded")


def test_owner_makes_a_link_another_person_signs_in_joins_and_is_removed(
    page: Any, browser: Any, live_app: LiveApp
) -> None:
    owner = new_creator(live_app.emulator)
    teammate = new_creator(live_app.emulator)
    sign_in(page, open_id=owner, next_path="/accounts")
    page.goto("/accounts")
    page.get_by_role("link", name="Manage teammates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Teammates of Nick {owner}")
    page.get_by_role("button", name="Make an invitation link").click()
    link = page.locator("#invite-link").input_value()
    assert link.startswith(live_app.settings.public_base_url + "/invites/")
    expect(page.get_by_text("shown only this once")).to_be_visible()

    other = browser.new_context(base_url=live_app.base_url, locale="en-US")
    other.set_default_timeout(EXPECT_TIMEOUT_MS)
    try:
        them = other.new_page()
        them.goto(link)  # signed out: to the home page, to sign in and come back
        them.locator("main").get_by_role("link", name="Continue with TikTok").click()
        _sign_in_here(them, teammate)
        expect(them.get_by_role("heading", level=1)).to_contain_text(
            f"prepare posts for Nick {owner}"
        )
        expect(them.get_by_text("only its owner publishes them")).to_be_visible()
        them.get_by_role("button", name="Join").click()
        expect(them.get_by_role("heading", level=1)).to_have_text(
            f"You prepare posts for Nick {owner}"
        )
        them.goto("/accounts")
        expect(them.get_by_test_id("granted-account")).to_contain_text(f"Nick {owner}")

        page.reload()
        member = page.get_by_test_id("member")
        expect(member).to_contain_text(f"Nick {teammate}")
        member.locator("summary").click()
        member.get_by_role("button", name=f"Yes, remove Nick {teammate}").click()
        expect(page.get_by_role("status")).to_contain_text("revoked")
        expect(page.get_by_test_id("member")).to_have_count(0)

        them.goto("/accounts")
        expect(them.get_by_test_id("granted-account")).to_have_count(0)
        assert them.goto(link).status == 410, "a used link cannot be used again"
    finally:
        other.close()
