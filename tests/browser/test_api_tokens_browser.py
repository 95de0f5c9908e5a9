"""API tokens on the Accounts page in real Chromium (issue 18): made there and shown once,
listed with their scopes (never again in full), and revoked there — after which the API refuses
the token."""

from __future__ import annotations

import os
from typing import Any

import httpx2
import pytest

from tests.browser.test_post_page_rules import expect
from tests.fixtures.live import LiveApp, sign_in

pytestmark = pytest.mark.browser


def test_a_token_is_shown_once_listed_by_its_hint_and_revoked(page: Any, live_app: LiveApp) -> None:
    sign_in(page, open_id="demo-public")
    page.goto("/accounts")
    section = page.locator("#api-tokens")
    form = section.locator("details.token-new")
    if form.get_attribute("open") is None:  # open already when the person has no token
        section.get_by_text("Make a token").click()
    section.get_by_label("Name (what uses it)").fill("nightly export")
    section.get_by_label("read", exact=False).first.check()
    section.get_by_role("button", name="Make the token").click()
    shown = page.get_by_test_id("new-token")
    expect(shown).to_contain_text("shown only this once")
    secret = str(page.locator("#new-token-value").input_value())
    assert secret.startswith("dpat_") and len(secret) > 40
    if os.environ.get("DIRECTPOST_SCREENSHOTS") == "1":
        page.screenshot(path="/tmp/token-made.png", full_page=True)

    with httpx2.Client(base_url=live_app.base_url, timeout=30) as api:
        me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["token_name"] == "nightly export"

        page.goto("/accounts")
        row = page.get_by_test_id("api-token").filter(has_text="nightly export")
        expect(row).to_contain_text(secret[:9])  # the hint, never the whole token again
        assert secret not in page.content()
        row.get_by_role("button", name="Revoke").click()
        expect(page.get_by_test_id("api-token").filter(has_text="nightly export")).to_contain_text(
            "Revoked"
        )
        refused = api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_token"
