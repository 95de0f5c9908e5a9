"""Issue 17, "done means": a scheduled post that stops at "needs your confirmation" (the creator
turned comments off in TikTok after scheduling) reaches the in-app list with the header's badge
in real Chromium, the local SMTP catcher, and a webhook receiver that verifies its signature,
all from the real worker (its publish job and its delivery thread).

Screenshots of both pages (desktop 1280 and phone 390) go to docs/screenshots/ with
DIRECTPOST_SCREENSHOTS=1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from directpost.publishing import notify_webhook, states
from directpost.publishing.worker import Worker
from directpost.store.base import utcnow
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.live import EXPECT_TIMEOUT_MS, sign_in
from tests.fixtures.notify_receivers import (
    SmtpCatcher,
    WebhookReceiver,
    smtp_catcher,
    webhook_receiver,
)
from tests.publishing.harness import Bench, build_bench

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def world(
    emulator_server: EmulatorHandle, tmp_path: Path
) -> Iterator[tuple[Bench, SmtpCatcher, WebhookReceiver]]:
    with smtp_catcher() as catcher, webhook_receiver() as receiver:
        for bench, _server in build_bench(
            emulator_server, tmp_path, smtp_url=catcher.url, smtp_from="directpost@example.test"
        ):
            yield bench, catcher, receiver


def _run(coro: Any) -> Any:
    """An async step of the bench, off the thread Playwright's sync API holds a loop in."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _wait_for(what: str, ready: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(0.1)


def test_needs_confirmation_reaches_the_in_app_list_the_smtp_catcher_and_a_signed_webhook(
    browser: Any, world: tuple[Bench, SmtpCatcher, WebhookReceiver]
) -> None:
    bench, catcher, receiver = world
    bench.link("demo-public")  # the person the browser signs in as
    context = browser.new_context(base_url=bench.app_url, locale="en-US")
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, open_id="demo-public")
        page.goto("/settings/notifications")
        page.get_by_label("E-mail address").fill("creator@example.test")
        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_text("Saved.").wait_for()
        page.get_by_label("Webhook URL").fill(receiver.url)
        page.get_by_role("button", name="Save webhook").click()
        secret = page.locator("#webhook-secret").input_value()
        assert secret.startswith("whsec_")

        creator = _run(bench.creator_facts("demo-public"))
        post_id = bench.submit(
            "demo-public",
            creator,
            media=bench.media_video(),
            privacy_level="PUBLIC_TO_EVERYONE",
            allow_comment=True,
            title="Harbour at dawn",
            scheduled_at=utcnow() + timedelta(seconds=0.5),
        )
        # The creator turns comments off in TikTok before the post's time.
        bench.emulator.control("creators", {"open_id": "demo-public", "comment_disabled": True})
        worker = Worker(ctx=bench.ctx, threads=1).start()
        try:
            _wait_for(
                "the post needs confirmation",
                lambda: bench.post(post_id).state == states.NEEDS_CONFIRMATION,
            )
            _wait_for("the e-mail and the webhook", lambda: catcher.messages and receiver.received)
        finally:
            worker.stop()

        page.goto("/posts")
        badge = page.get_by_test_id("unread-count")
        assert badge.inner_text() == "1"
        page.locator("#nav-notifications").click()
        item = page.locator(".notification").first
        assert "needs your confirmation" in item.inner_text()
        assert "Harbour at dawn" in item.inner_text()
        assert item.get_by_role("link", name="Harbour at dawn").get_attribute("href") == (
            f"/posts/{post_id}"
        )
        assert page.get_by_test_id("unread-count").count() == 0  # seen now

        [mail] = catcher.messages
        assert mail["To"] == "creator@example.test"
        assert "needs your confirmation" in mail["Subject"]
        [hook] = receiver.received
        notify_webhook.verify(hook.body, hook.headers["x-directpost-signature"], secret)
        body = json.loads(hook.body)
        assert body["event"] == "post.needs_confirmation" and body["post"]["id"] == post_id
        assert mail["X-Directpost-Event-Id"] == body["id"] == hook.headers["idempotency-key"]

        # The README's screenshots are retaken only when asked (they rewrite the checkout).
        if os.environ.get("DIRECTPOST_SCREENSHOTS") != "1":
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto("/notifications")
            page.screenshot(path=str(SHOTS / f"notifications-{size}.png"), full_page=True)
            page.goto("/settings/notifications")
            page.screenshot(path=str(SHOTS / f"notification-settings-{size}.png"), full_page=True)
    finally:
        context.close()
