"""DG-4 and DG-2 on the public pages, in real Chromium against the running app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.live import OPERATOR_CONTACT, OPERATOR_NAME

pytestmark = pytest.mark.browser

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter(el => {
    const label = (el.labels && el.labels.length ? el.labels[0].textContent : '')
      || el.getAttribute('aria-label') || el.textContent || el.value || '';
    return label.trim() === '';
  }).map(el => el.outerHTML)"""


def test_home_says_what_the_app_does_and_that_it_is_not_tiktok_DG_4(page: Any) -> None:
    page.goto("/")
    main = page.locator("main")
    assert "Post your own videos and photos to TikTok" in main.inner_text()
    assert "Not affiliated with TikTok." in main.inner_text()
    footer = page.locator("footer").inner_text()
    assert "not affiliated with, endorsed by or sponsored by TikTok" in footer
    assert page.title().endswith("· directpost")
    assert "TikTok" not in page.title().split("·")[-1]


def test_privacy_terms_and_contact_are_reachable_from_every_page_DG_4(page: Any) -> None:
    page.goto("/")
    for link, heading in (
        ("Privacy policy", "Privacy policy"),
        ("Terms of service", "Terms of service"),
        ("Contact", "Contact"),
    ):
        page.locator("footer").get_by_role("link", name=link, exact=True).click()
        assert page.locator("h1").inner_text() == heading
    assert OPERATOR_CONTACT in page.locator("main").inner_text()
    assert OPERATOR_NAME in page.locator("main").inner_text()


def test_privacy_policy_explains_data_and_links_to_my_data_DG_4(page: Any) -> None:
    page.goto("/privacy")
    text = page.locator("main").inner_text()
    assert "encrypted" in text
    assert page.get_by_role("link", name="Go to My data").get_attribute("href") == "/me/data"


@pytest.mark.parametrize("path", ["/", "/privacy", "/terms", "/contact"])
def test_public_pages_label_every_control_and_fit_a_phone_DG_2(page: Any, path: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(path)
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert page.locator("html").get_attribute("lang") == "en"


def test_keyboard_reaches_a_visible_skip_link_first_DG_2(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0  # moved into view when focused
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"
