"""The Post page in real Chromium against the running app and emulator, rule by rule
(requirements.md UX-*, CAP-2, DG-2), and the whole flow a new user walks.

Each test makes its own creator in the shared emulator (the demo creators are left alone), signs
in at the emulator's consent page, and reads the page as a person would: text, enabled and
disabled controls, hover texts.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from directpost.web.server import BackgroundServer, bind_socket
from tests.fixtures.live import (
    CHROMIUM,
    EXPECT_TIMEOUT_MS,
    LiveApp,
    LiveEmulator,
    make_app_settings,
    missing_service,
    register_with_emulator,
    sign_in,
)
from tests.fixtures.media_files import make_photo, make_video

pytestmark = pytest.mark.browser

DISCLOSURE_HOVER = "You need to indicate if your content promotes yourself, a third party, or both."
BRANDED_PRIVATE_HOVER = "Branded content visibility cannot be set to private."
MUSIC_DECLARATION = "By posting, you agree to TikTok's Music Usage Confirmation."
BRANDED_DECLARATION = (
    "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
)


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture(scope="module")
def audited_app(
    live_emulator: LiveEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """A second live app that TikTok has audited: every privacy level is offered."""
    if not CHROMIUM.exists():
        missing_service(f"Chromium is not installed at {CHROMIUM}")
    data_dir = tmp_path_factory.mktemp("audited-app")
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    settings = make_app_settings(
        data_dir,
        emulator_url=live_emulator.base_url,
        public_base_url=f"http://127.0.0.1:{port}",
        app_audited=True,
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings)
    app = create_app(settings)
    server = BackgroundServer(app, sock).start()
    try:
        yield LiveApp(base_url=server.base_url, settings=settings, app=app, emulator=live_emulator)
    finally:
        server.stop()


@pytest.fixture
def audited_page(browser: Any, audited_app: LiveApp) -> Iterator[Any]:
    context = browser.new_context(base_url=audited_app.base_url, locale="en-US")
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def new_creator(emulator: LiveEmulator, **fields: Any) -> str:
    open_id = "b-" + secrets.token_hex(5)
    body = {"open_id": open_id, "nickname": f"Nick {open_id}", "username": open_id, **fields}
    emulator.control("POST", "/_emulator/creators", json=body)
    return open_id


def open_post_page(page: Any, emulator: LiveEmulator, **creator: Any) -> str:
    open_id = new_creator(emulator, **creator)
    sign_in(page, open_id=open_id, next_path="/compose")
    page.goto("/compose")
    return open_id


def upload(page: Any, *paths: Path) -> None:
    """Choose files in the page's picker and wait until the server has checked them."""
    page.set_input_files("#media-input", [str(p) for p in paths])
    expect(page.locator("#upload-progress-text")).to_have_text(
        re.compile("Uploaded"), timeout=30_000
    )


def upload_clip(page: Any, tmp_path: Path) -> None:
    upload(page, make_video(tmp_path / "clip.mp4"))


def disclose(page: Any, *boxes: str) -> None:
    """Turn the commercial content disclosure on, then check each named box."""
    page.get_by_label("Disclose post content").check()
    for box in boxes:
        page.get_by_label(box).check()


def publish_button(page: Any) -> Any:
    return page.get_by_test_id("publish")


@pytest.fixture
def audited_post_page(audited_page: Any, audited_app: LiveApp) -> Any:
    """The audited app's Post page, opened for a fresh public creator."""
    open_post_page(audited_page, audited_app.emulator)
    return audited_page


# UX-1a / UX-1b ----------------------------------------------------------------------------


def test_ux_1a_post_page_shows_the_receiving_creators_nickname_and_avatar(
    page: Any, live_app: LiveApp
) -> None:
    open_id = open_post_page(page, live_app.emulator, private_account=True)
    expect(page.get_by_test_id("creator-nickname")).to_have_text(f"Nick {open_id}")
    avatar = page.locator("img.creator-avatar")
    expect(avatar).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", avatar.element_handle())


def test_ux_1b_creator_who_cannot_post_is_told_to_try_again_later(
    page: Any, live_app: LiveApp
) -> None:
    open_post_page(page, live_app.emulator, private_account=True, posting_state="capped")
    blocked = page.get_by_test_id("compose-blocked")
    expect(blocked).to_contain_text("try again later")
    expect(page.locator("#compose-form")).to_have_count(0)
    expect(publish_button(page)).to_have_count(0)


# UX-1c ------------------------------------------------------------------------------------


def test_ux_1c_video_longer_than_the_creators_maximum_is_explained_and_blocked(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True, max_video_post_duration_sec=1)
    upload(page, make_video(tmp_path / "two-seconds.mp4", seconds=2.0))
    page.locator("#privacy_level").select_option("SELF_ONLY")
    expect(page.get_by_test_id("compose-problems")).to_contain_text(
        "this account can post videos of up to 1 s"
    )
    expect(publish_button(page)).to_be_disabled()


# UX-2a ------------------------------------------------------------------------------------


def test_ux_2a_title_counter_counts_utf16_units_live(page: Any, live_app: LiveApp) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    title = page.get_by_label("Title")
    expect(title).to_have_value("")  # UX-5b: no preset text
    title.fill("hi \U0001f600")  # the emoji is two UTF-16 units
    expect(page.get_by_test_id("title-count")).to_have_text(re.compile(r"^\s*5 / 2200"))
    title.fill("x" * 2201)
    expect(page.get_by_test_id("title-count")).to_have_text(re.compile(r"2201 / 2200"))
    expect(page.get_by_test_id("title-count")).to_have_class(re.compile("counter-over"))
    expect(publish_button(page)).to_be_disabled()


def test_ux_2a_photo_posts_get_a_90_unit_title_and_a_description(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    upload(page, make_photo(tmp_path / "one.jpg"), make_photo(tmp_path / "two.jpg"))
    expect(page.get_by_test_id("title-count")).to_contain_text("/ 90")
    page.get_by_label("Description").fill("d" * 10)
    expect(page.get_by_test_id("description-count")).to_contain_text("10 / 4000")


# UX-2b ------------------------------------------------------------------------------------


def test_ux_2b_privacy_dropdown_lists_creator_info_options_with_no_default(
    audited_post_page: Any, tmp_path: Path
) -> None:
    page = audited_post_page
    upload_clip(page, tmp_path)
    select = page.locator("#privacy_level")
    expect(select).to_have_value("")
    labels = select.locator("option:not([value=''])").all_inner_texts()
    assert [label.strip() for label in labels] == ["Everyone", "Friends", "Only me"]
    expect(publish_button(page)).to_be_disabled()
    select.select_option("MUTUAL_FOLLOW_FRIENDS")
    expect(publish_button(page)).to_be_enabled()


# UX-2c ------------------------------------------------------------------------------------


def test_ux_2c_interactions_start_unchecked_and_disabled_ones_are_greyed_out(
    audited_page: Any, audited_app: LiveApp
) -> None:
    page = audited_page
    open_post_page(page, audited_app.emulator, comment_disabled=True, stitch_disabled=True)
    comment = page.get_by_label("Allow comment")
    duet = page.get_by_label("Duet")
    stitch = page.get_by_label("Stitch")
    for box in (comment, duet, stitch):
        expect(box).not_to_be_checked()
    expect(comment).to_be_disabled()
    expect(stitch).to_be_disabled()
    expect(duet).to_be_enabled()
    opacity = page.evaluate(
        "() => getComputedStyle(document.getElementById('allow_comment').closest('.choice')).opacity"
    )
    assert float(opacity) < 1.0
    duet.check()
    expect(page.get_by_label("Duet")).to_be_checked()


def test_ux_2c_photo_posts_show_only_allow_comment(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    upload(page, make_photo(tmp_path / "one.jpg"))
    expect(page.get_by_label("Allow comment")).to_be_visible()
    expect(page.locator("#allow_duet")).to_have_count(0)
    expect(page.locator("#allow_stitch")).to_have_count(0)


# UX-2d / UX-4 -----------------------------------------------------------------------------


def test_ux_2d_declaration_stands_before_the_publish_button_with_its_link(
    page: Any, live_app: LiveApp
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    declaration = page.get_by_test_id("declaration")
    expect(declaration).to_have_text(MUSIC_DECLARATION)
    link = declaration.get_by_role("link", name="Music Usage Confirmation")
    expect(link).to_have_attribute("href", re.compile("music-usage-confirmation"))
    before = page.evaluate(
        """() => {
            const d = document.querySelector('[data-testid=declaration]');
            const b = document.getElementById('publish');
            return !!(d.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
        }"""
    )
    assert before


def test_ux_4_declaration_names_the_branded_content_policy_when_branded(
    audited_post_page: Any,
) -> None:
    page = audited_post_page
    disclose(page, "Your brand")
    expect(page.get_by_test_id("declaration")).to_have_text(MUSIC_DECLARATION)
    page.get_by_label("Branded content").check()
    expect(page.get_by_test_id("declaration")).to_have_text(BRANDED_DECLARATION)
    expect(
        page.get_by_test_id("declaration").get_by_role("link", name="Branded Content Policy")
    ).to_have_attribute("href", re.compile("bc-policy"))
    page.get_by_label("Your brand").uncheck()
    expect(page.get_by_test_id("declaration")).to_have_text(BRANDED_DECLARATION)


# UX-3a / UX-3b / UX-3c --------------------------------------------------------------------


def test_ux_3a_disclosure_is_off_and_turning_it_on_shows_two_unchecked_boxes_and_labels(
    audited_post_page: Any, tmp_path: Path
) -> None:
    page = audited_post_page
    upload_clip(page, tmp_path)
    toggle = page.get_by_label("Disclose post content")
    expect(toggle).not_to_be_checked()
    expect(page.get_by_label("Your brand")).to_have_count(0)
    toggle.check()
    expect(page.get_by_label("Your brand")).not_to_be_checked()
    expect(page.get_by_label("Branded content")).not_to_be_checked()
    page.get_by_label("Your brand").check()
    prompt = page.get_by_test_id("label-prompt")
    expect(prompt).to_have_text("Your video will be labeled as 'Promotional content'")
    page.get_by_label("Branded content").check()
    expect(prompt).to_have_text("Your video will be labeled as 'Paid partnership'")
    page.get_by_label("Your brand").uncheck()
    expect(prompt).to_have_text("Your video will be labeled as 'Paid partnership'")


def test_ux_3a_photo_posts_say_photo_in_the_label_prompt(
    audited_post_page: Any, tmp_path: Path
) -> None:
    page = audited_post_page
    upload(page, make_photo(tmp_path / "one.jpg"))
    disclose(page, "Your brand")
    expect(page.get_by_test_id("label-prompt")).to_have_text(
        "Your photo will be labeled as 'Promotional content'"
    )


def test_ux_3b_disclosure_without_a_choice_disables_publish_and_hover_says_why(
    audited_post_page: Any, tmp_path: Path
) -> None:
    page = audited_post_page
    upload_clip(page, tmp_path)
    page.locator("#privacy_level").select_option("PUBLIC_TO_EVERYONE")
    expect(publish_button(page)).to_be_enabled()
    disclose(page)
    expect(publish_button(page)).to_be_disabled()
    wrap = page.get_by_test_id("publish-wrap")
    wrap.hover()
    expect(wrap).to_have_attribute("title", DISCLOSURE_HOVER)
    page.get_by_label("Your brand").check()
    expect(publish_button(page)).to_be_enabled()


def test_ux_3c_branded_content_first_disables_only_me_with_its_hover_text(
    audited_post_page: Any,
) -> None:
    page = audited_post_page
    disclose(page, "Branded content")
    only_me = page.locator("#privacy_level option[value=SELF_ONLY]")
    expect(only_me).to_be_disabled()
    expect(only_me).to_have_attribute("title", BRANDED_PRIVATE_HOVER)
    expect(page.locator("#privacy_level option[value=PUBLIC_TO_EVERYONE]")).to_be_enabled()


def test_ux_3c_only_me_first_disables_branded_content_with_a_note(audited_post_page: Any) -> None:
    page = audited_post_page
    page.locator("#privacy_level").select_option("SELF_ONLY")
    disclose(page)
    expect(page.get_by_label("Branded content")).to_be_disabled()
    expect(page.get_by_test_id("branded_content-hint")).to_contain_text("can't be private")
    expect(page.get_by_label("Your brand")).to_be_enabled()


# UX-5a / UX-5b ----------------------------------------------------------------------------


def test_ux_5a_video_preview_plays_the_upload_and_the_cover_picker_moves_the_frame(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    upload(page, make_video(tmp_path / "clip.mp4", seconds=2.0))
    video = page.get_by_test_id("preview-video")
    expect(video).to_be_visible()
    page.wait_for_function(
        "() => document.getElementById('preview-video').readyState >= 1", timeout=15_000
    )
    duration = page.evaluate("() => document.getElementById('preview-video').duration")
    assert 1.5 < duration < 2.5
    picker = page.get_by_test_id("cover-picker")
    picker.fill("1500")
    page.wait_for_function(
        "() => Math.abs(document.getElementById('preview-video').currentTime - 1.5) < 0.2"
    )
    expect(page.locator("#cover-time")).to_have_text("1.5 s")


def test_ux_5a_photo_preview_is_a_carousel_with_a_cover_choice(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    upload(
        page,
        make_photo(tmp_path / "one.jpg"),
        make_photo(tmp_path / "two.jpg", color=(10, 200, 30)),
        make_photo(tmp_path / "three.webp", fmt="WEBP"),
    )
    carousel = page.get_by_test_id("preview-carousel")
    expect(carousel.locator("img")).to_have_count(3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.carousel img')].every(i => i.naturalWidth > 0)"
    )
    covers = carousel.get_by_label("Cover")
    expect(covers.first).to_be_checked()
    covers.nth(2).check()
    expect(covers.nth(2)).to_be_checked()


def test_ux_5b_caption_starts_empty_stays_as_typed_and_media_comes_back_unaltered(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    """UX-5b in the browser: nothing is preset or appended to the caption, what the creator
    types (and edits) is what the page keeps after every server re-render, and the preview
    plays the very bytes that were chosen (no watermark, no re-encoding)."""
    open_post_page(page, live_app.emulator, private_account=True)
    video = make_video(tmp_path / "mine.mp4", seconds=1.0)
    upload(page, video)
    title = page.get_by_label("Title")
    expect(title).to_have_value("")
    typed = "Morning run \U0001f3c3 #fitness"
    title.fill(typed + " draft")
    expect(page.get_by_test_id("title-count")).to_contain_text("/ 2200")
    title.fill(typed)  # the creator edits their own words
    page.locator("#privacy_level").select_option("SELF_ONLY")  # a server re-render
    expect(publish_button(page)).to_be_enabled()
    expect(title).to_have_value(typed)
    expect(page.get_by_test_id("title-count")).to_contain_text(f"{len(typed) + 1} / 2200")
    for marker in ("directpost", "Posted with", "via "):
        assert marker not in title.input_value()
    src = page.get_by_test_id("preview-video").get_attribute("src")
    assert src is not None
    assert page.request.get(src).body() == video.read_bytes()


# CAP-2 ------------------------------------------------------------------------------------


def test_cap_2_unaudited_app_offers_only_only_me_and_says_how_to_go_public(
    page: Any, live_app: LiveApp
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    options = page.locator("#privacy_level option:not([value=''])").all_inner_texts()
    assert [o.strip() for o in options] == ["Only me"]
    notices = page.get_by_test_id("compose-notices")
    expect(notices).to_contain_text("has not been audited by TikTok")
    expect(notices).to_contain_text("first set your account to public")


def test_cap_2_unaudited_app_tells_a_public_account_to_go_private(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=False)
    upload_clip(page, tmp_path)
    page.locator("#privacy_level").select_option("SELF_ONLY")
    expect(publish_button(page)).to_be_disabled()
    expect(page.get_by_test_id("publish-hint")).to_contain_text("Private account")


# DG-2 -------------------------------------------------------------------------------------


def test_dg_2_every_control_is_labelled_and_reachable_by_keyboard_at_phone_width(
    audited_page: Any, audited_app: LiveApp
) -> None:
    page = audited_page
    page.set_viewport_size({"width": 375, "height": 740})
    open_post_page(page, audited_app.emulator)
    disclose(page)
    expect(page.get_by_label("Your brand")).to_be_visible()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('#content input, #content select, #content textarea, #content button')]
            .filter(el => el.type !== 'hidden')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !(el.textContent || '').trim())
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == []
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    # Keyboard: Tab reaches the privacy dropdown and Space toggles a checkbox.
    page.locator("#title").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "allow_duet":
            break
    assert page.evaluate("() => document.activeElement.id") == "allow_duet"
    # Focus is visible where the keyboard is (an outline, not only the browser's default).
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert outline[0] != "none" and outline[1] >= 2
    page.keyboard.press("Space")
    expect(page.get_by_label("Duet")).to_be_checked()
    expect(page.locator("#allow_duet")).to_be_focused()


# The whole flow ---------------------------------------------------------------------------


def test_a_new_user_signs_in_uploads_a_video_fills_the_form_and_reaches_publish(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_id = new_creator(live_app.emulator, private_account=True)
    page.goto("/")
    sign_in(page, open_id=open_id)
    page.goto("/compose")
    expect(page.get_by_test_id("creator-nickname")).to_have_text(f"Nick {open_id}")
    expect(publish_button(page)).to_be_disabled()
    upload(page, make_video(tmp_path / "my-video.mp4", seconds=1.0))
    expect(page.get_by_test_id("preview-video")).to_be_visible()
    page.get_by_label("Title").fill("My first post #directpost")
    page.locator("#privacy_level").select_option("SELF_ONLY")
    page.get_by_label("Allow comment").check()
    expect(page.get_by_test_id("declaration")).to_have_text(MUSIC_DECLARATION)
    expect(publish_button(page)).to_be_enabled()
    assert page.locator("#compose-form").get_attribute("action") == "/posts"


def test_upload_survives_a_dropped_chunk_by_asking_the_server_where_to_continue(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    video = make_video(tmp_path / "clip.mp4", seconds=2.0, width=720, height=1280)
    dropped: list[str] = []

    def drop_second_chunk_once(route: Any) -> None:
        if "offset=0" not in route.request.url and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/uploads/*/files/*", drop_second_chunk_once)
    # Small chunks, so this small file travels in several of them.
    page.evaluate("() => document.getElementById('upload-area').dataset.chunkBytes = '16384'")
    upload(page, video)
    assert dropped, "the test did not drop any chunk"
    expect(page.locator("#upload-progress-text")).to_have_text("Uploaded and checked.")
    upload_id = page.locator("#upload-id").input_value()
    file_url = page.get_by_test_id("preview-video").get_attribute("src")
    assert file_url is not None and upload_id in file_url
    served = page.request.get(file_url)
    assert served.body() == video.read_bytes()  # UX-5b: every byte once, in order


def test_sending_to_the_inbox_hides_what_the_creator_finishes_in_tiktok(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_post_page(page, live_app.emulator, private_account=True)
    upload_clip(page, tmp_path)
    expect(page.locator("#privacy_level")).to_be_visible()
    page.get_by_label("Send it to my TikTok inbox as a draft").check()
    expect(page.locator("#privacy_level")).to_have_count(0)
    expect(page.get_by_test_id("disclosure")).to_have_count(0)
    expect(page.get_by_test_id("compose-notices")).to_contain_text("TikTok inbox as a draft")
    expect(page.get_by_test_id("declaration")).to_have_text(MUSIC_DECLARATION)
    expect(publish_button(page)).to_be_enabled()
    expect(publish_button(page)).to_have_text("Send to my TikTok inbox")
