"""Screenshots of every state of the Post page that an auditor checks, from real Chromium.

Each state is reached the way a creator reaches it (sign in at the emulator's consent page,
upload real files, click the controls); creator_info settings come from the emulator's control
plane. Hover texts are native tooltips, which a screenshot cannot show: the audit reads them from
the page after hovering, puts them in the report, and draws them on the picture in a box marked
"audit annotation" so nobody mistakes the box for the app's own UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directpost.audit.samples import make_clip, make_photo
from directpost.audit.stack import App, Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 20_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Shot:
    """One screenshot in the pack: its file, what it shows and the rules it is evidence for."""

    file: str
    title: str
    rules: list[str]
    notes: list[str] = field(default_factory=list)


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless (Playwright drives it; it never downloads a browser)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def sign_in(page: Any, open_id: str) -> None:
    """Sign in through the emulator's consent page as `open_id`, then open the Post page."""
    page.goto("/auth/tiktok/start?next=/compose")
    page.locator(f'input[name="open_id"][value="{open_id}"]').check()
    page.locator("#allow").click()
    page.wait_for_url("**/compose")


def upload(page: Any, *paths: Path) -> None:
    """Choose files in the page's picker and wait until the app has checked them."""
    page.set_input_files("#media-input", [str(p) for p in paths])
    page.locator("#upload-progress-text").filter(has_text="Uploaded").wait_for(timeout=60_000)


def annotate(page: Any, target: Any, text: str) -> None:
    """Put `text` just after `target`, in a box marked as the audit's, not the app's.

    The box joins the page's flow (not an overlay), so it stays beside its element however the
    page lays out the full-length screenshot.
    """
    _settle(page)
    page.evaluate(
        """([el, text]) => {
            const box = document.createElement('div');
            box.dataset.auditAnnotation = '1';
            box.textContent = 'audit annotation, ' + text;
            Object.assign(box.style, {margin: '6px 0', maxWidth: '520px',
              background: '#fff8c4', color: '#222', border: '2px dashed #b58900',
              padding: '6px 8px', font: '14px sans-serif'});
            el.insertAdjacentElement('afterend', box);
        }""",
        [target.element_handle(), text],
    )


def clear_annotations(page: Any) -> None:
    page.evaluate(
        "() => document.querySelectorAll('[data-audit-annotation]').forEach(e => e.remove())"
    )


class Camera:
    """Takes the pack's screenshots into `out_dir/screenshots/` and lists them."""

    def __init__(self, out_dir: Path) -> None:
        self.folder = out_dir / "screenshots"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shots: list[Shot] = []

    def take(
        self,
        target: Any,
        name: str,
        title: str,
        rules: list[str],
        notes: list[str] | None = None,
        *,
        full_page: bool = True,
    ) -> None:
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        if hasattr(target, "context"):  # a page
            target.screenshot(path=str(path), full_page=full_page)
        else:  # an element
            target.screenshot(path=str(path))
        self.shots.append(Shot(f"screenshots/{path.name}", title, rules, list(notes or [])))


def _new_page(browser: Any, app: App, viewport: dict[str, int] = DESKTOP) -> Any:
    context = browser.new_context(base_url=app.base_url, locale="en-US", viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _settle(page: Any) -> None:
    """Wait until the form's server re-render has landed (compose.js swaps the controls)."""
    page.wait_for_load_state("networkidle")


def _privacy_states(page: Any, cam: Camera, samples: dict[str, Path]) -> None:
    select = page.locator("#privacy_level")
    upload(page, samples["clip"])
    options = select.locator("option:not([value=''])")
    labels = [(o.get_attribute("value"), o.inner_text().strip()) for o in options.all()]
    cam.take(
        page,
        "privacy-unchosen",
        "Privacy not chosen yet: no default, publish disabled",
        ["UX-2b", "UX-1a", "UX-2c", "UX-2d"],
        [
            "Dropdown value: " + repr(select.input_value()),
            "Options, exactly creator_info's privacy_level_options: "
            + ", ".join(f"{label} ({value})" for value, label in labels),
            "Publish button enabled: " + str(page.get_by_test_id("publish").is_enabled()),
        ],
    )
    page.wait_for_function(
        "() => document.getElementById('preview-video').readyState >= 2", timeout=TIMEOUT_MS
    )
    cam.take(
        page.locator("#compose-preview"),
        "preview-video",
        "Preview of exactly what will be posted: the video with its cover picker",
        ["UX-5a"],
    )
    for value, label in labels:
        select.select_option(value)
        _settle(page)
        cam.take(
            page,
            f"privacy-{str(value).lower()}",
            f"Privacy chosen: {label}",
            ["UX-2b"],
            ["Publish button enabled: " + str(page.get_by_test_id("publish").is_enabled())],
        )


def _disclosure_states(page: Any, cam: Camera) -> None:
    declaration = page.get_by_test_id("declaration")
    cam.take(
        declaration,
        "declaration-default",
        "Declaration without disclosure",
        ["UX-2d"],
        [declaration.inner_text().strip()],
    )
    page.locator("#privacy_level").select_option("PUBLIC_TO_EVERYONE")
    page.get_by_label("Disclose post content").check()
    _settle(page)
    wrap = page.get_by_test_id("publish-wrap")
    wrap.hover()
    hover = wrap.get_attribute("title") or ""
    annotate(page, wrap, f"hover text: {hover}")
    cam.take(
        page,
        "disclosure-on-nothing-checked",
        "Disclosure on, neither box checked: publish disabled, with the hover text",
        ["UX-3a", "UX-3b"],
        [f"Hover text on the publish button: {hover}"],
    )
    clear_annotations(page)
    page.get_by_label("Your brand").check()
    _settle(page)
    prompt = page.get_by_test_id("label-prompt")
    cam.take(
        page,
        "your-brand-only",
        '"Your brand" only: Promotional content',
        ["UX-3a", "UX-4"],
        [prompt.inner_text().strip(), declaration.inner_text().strip()],
    )
    cam.take(
        declaration,
        "declaration-your-brand",
        'Declaration with "Your brand" only',
        ["UX-4"],
        [declaration.inner_text().strip()],
    )
    page.get_by_label("Branded content").check()
    _settle(page)
    cam.take(
        page,
        "both-boxes",
        '"Your brand" and "Branded content": Paid partnership',
        ["UX-3a", "UX-4"],
        [prompt.inner_text().strip(), declaration.inner_text().strip()],
    )
    page.get_by_label("Your brand").uncheck()
    _settle(page)
    only_me = page.locator("#privacy_level option[value=SELF_ONLY]")
    only_me_hover = only_me.get_attribute("title") or ""
    listed = [
        f"{o.inner_text().strip()}{' (disabled)' if o.is_disabled() else ''}"
        for o in page.locator("#privacy_level option:not([value=''])").all()
    ]
    annotate(
        page,
        page.locator("#privacy_level"),
        f"the dropdown's options: {', '.join(listed)}; hover text on “Only me”: {only_me_hover}",
    )
    cam.take(
        page,
        "branded-content-only-me-disabled",
        '"Branded content": Paid partnership label, "Only me" disabled',
        ["UX-3a", "UX-3c", "UX-4"],
        [
            prompt.inner_text().strip(),
            declaration.inner_text().strip(),
            f'"Only me" option disabled: {only_me.is_disabled()}; hover text: {only_me_hover}',
        ],
    )
    clear_annotations(page)
    cam.take(
        declaration,
        "declaration-branded",
        'Declaration with "Branded content"',
        ["UX-4"],
        [declaration.inner_text().strip()],
    )
    page.get_by_label("Branded content").uncheck()
    page.get_by_label("Disclose post content").uncheck()
    page.locator("#privacy_level").select_option("SELF_ONLY")
    page.get_by_label("Disclose post content").check()
    _settle(page)
    hint = page.get_by_test_id("branded_content-hint").inner_text().strip()
    cam.take(
        page,
        "only-me-first-branded-disabled",
        '"Only me" chosen first: "Branded content" disabled with a note',
        ["UX-3c"],
        [
            f"Branded content enabled: {page.get_by_label('Branded content').is_enabled()}",
            f"Note: {hint}",
        ],
    )
    page.get_by_label("Disclose post content").uncheck()
    _settle(page)


def _publish_states(page: Any, cam: Camera) -> str:
    page.get_by_label("Title").fill("My own clip #audit")
    page.locator("#privacy_level").select_option("SELF_ONLY")
    _settle(page)
    page.get_by_test_id("publish").click()
    page.wait_for_url("**/posts/*")
    notice = page.locator("#processing-notice")
    cam.take(
        page,
        "after-publish-notice",
        "After publishing: it may take a few minutes",
        ["UX-5d", "UX-5c"],
        [notice.inner_text().strip()],
    )
    page.locator("#post-live .state-published").wait_for(timeout=60_000)
    cam.take(
        page,
        "status-published",
        "The status followed until final: published",
        ["UX-5e"],
        [page.locator("#post-live").inner_text().strip()[:300]],
    )
    return str(page.url)


def take_screenshots(browser: Any, stack: Stack, out_dir: Path, work_dir: Path) -> list[Shot]:
    """Every auditor's state of the Post page, numbered in the order they are taken."""
    cam = Camera(out_dir)
    samples = {
        "clip": make_clip(work_dir / "my-clip.mp4"),
        "photo1": make_photo(work_dir / "photo-1.jpg", share=0.2),
        "photo2": make_photo(work_dir / "photo-2.jpg", share=0.8),
    }
    audited, emulator = stack.audited, stack.emulator
    steps: list[tuple[App, dict[str, Any], dict[str, int], Callable[[Any], None]]] = []

    def main_flow(page: Any) -> None:
        _privacy_states(page, cam, samples)
        _disclosure_states(page, cam)
        _publish_states(page, cam)

    def interactions(page: Any) -> None:
        cam.take(
            page,
            "interactions-disabled-by-creator-info",
            "Interactions: unchecked, and those creator_info disables greyed out",
            ["UX-2c"],
            [
                f"{name}: enabled={page.get_by_label(name).is_enabled()}, "
                f"checked={page.get_by_label(name).is_checked()}"
                for name in ("Allow comment", "Duet", "Stitch")
            ],
        )

    def photos(page: Any) -> None:
        upload(page, samples["photo1"], samples["photo2"])
        cam.take(
            page,
            "preview-photos",
            'Photo post: carousel preview with a cover choice; only "Allow comment"',
            ["UX-5a", "UX-2c", "UX-2a"],
        )

    def cannot_post(page: Any) -> None:
        cam.take(
            page,
            "creator-cannot-post-now",
            "creator_info says the creator cannot post now",
            ["UX-1b"],
            [page.get_by_test_id("compose-blocked").inner_text().strip()],
        )

    def unaudited(page: Any) -> None:
        notices = page.get_by_test_id("compose-notices").inner_text().strip()
        cam.take(
            page,
            "unaudited-app",
            'The app before TikTok\'s audit: only "Only me", and how to go public later',
            ["CAP-2"],
            [notices],
        )

    def phone(page: Any) -> None:
        upload(page, samples["clip"])
        page.get_by_label("Disclose post content").check()
        _settle(page)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        cam.take(
            page,
            "phone-width-390px",
            "The Post page at phone width (390 px)",
            ["DG-2"],
            [f"Page width {width} px in a 390 px viewport (no sideways scrolling)"],
        )

    steps = [
        (audited, {}, DESKTOP, main_flow),
        (audited, {"comment_disabled": True, "stitch_disabled": True}, DESKTOP, interactions),
        (audited, {}, DESKTOP, photos),
        (audited, {"posting_state": "capped"}, DESKTOP, cannot_post),
        (stack.unaudited, {"private_account": True}, DESKTOP, unaudited),
        (audited, {}, PHONE, phone),
    ]
    for app, creator, viewport, step in steps:
        page = _new_page(browser, app, viewport)
        try:
            sign_in(page, emulator.new_creator(**creator))
            step(page)
        finally:
            page.context.close()
    return cam.shots
