"""The post's page in real Chromium: the UX-5d notice right after publishing, then the state
followed live until it is final (UX-5e), under the app's real CSP (no inline scripts)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.live import LiveApp, sign_in
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.browser


def _csrf(page: Any) -> str:
    page.goto("/posts")
    return str(page.locator('input[name="csrf_token"]').first.get_attribute("value"))


def _upload(page: Any, csrf: str, video: Path) -> str:
    data = video.read_bytes()
    created = page.request.post(
        "/uploads",
        data={
            "kind": "video",
            "files": [{"name": "clip.mp4", "size": len(data), "type": "video/mp4"}],
        },
        headers={"x-csrf-token": csrf},
    )
    assert created.status == 201, created.text()
    upload = created.json()
    put = page.request.put(
        f"/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0",
        data=data,
        headers={"x-csrf-token": csrf, "content-type": "application/octet-stream"},
    )
    assert put.status == 200, put.text()
    done = page.request.post(f"/uploads/{upload['id']}/finish", headers={"x-csrf-token": csrf})
    assert done.json()["state"] == "ready", done.text()
    return str(upload["id"])


def test_status_page_shows_the_processing_notice_then_follows_to_published_ux_5d_ux_5e(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    errors: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and ("/posts" in r.url or "posts.js" in r.url)
            else None
        ),
    )
    sign_in(page, open_id="demo-private")
    csrf = _csrf(page)
    upload_id = _upload(page, csrf, make_video(tmp_path / "clip.mp4", seconds=1.0))
    answer = page.request.post(
        "/posts",
        form={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": "live status",
            "privacy_level": "SELF_ONLY",
        },
        max_redirects=0,
    )
    assert answer.status == 303, answer.text()
    page.goto(answer.headers["location"])
    notice = page.locator("#processing-notice")
    assert notice.is_visible()
    assert "may take a few minutes" in notice.inner_text()
    # No reload: the page's script follows the state until TikTok's final answer.
    live = page.locator("#post-live")
    live.locator(".state-published").wait_for(timeout=30_000)
    assert live.get_attribute("data-final") == "true"
    assert re.search(r"Published", live.inner_text())
    assert errors == [], f"script errors: {errors}"
    assert failed == [], f"failed requests of the status page: {failed}"
