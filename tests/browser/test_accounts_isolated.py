"""USE-2 in a real browser: any TikTok user signs in and posts to their own account, and two
people side by side never see each other's posts, post pages or accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.test_post_page_rules import new_creator
from tests.browser.test_post_status_live import _csrf, _upload
from tests.fixtures.live import EXPECT_TIMEOUT_MS, LiveApp, sign_in
from tests.fixtures.media_files import make_video


def _post(page: Any, tmp_path: Path, title: str) -> str:
    """Publish a private video as the signed-in creator; the post's own page path."""
    csrf = _csrf(page)
    upload_id = _upload(page, csrf, make_video(tmp_path / f"{title}.mp4", seconds=1.0))
    answer = page.request.post(
        "/posts",
        form={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": title,
            "privacy_level": "SELF_ONLY",
        },
        max_redirects=0,
    )
    assert answer.status == 303, answer.text()
    return str(answer.headers["location"])


def test_two_creators_side_by_side_see_only_their_own_posts_use_2(
    page: Any, browser: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    first = new_creator(live_app.emulator, private_account=True)
    second = new_creator(live_app.emulator, private_account=True)
    sign_in(page, open_id=first)
    mine = _post(page, tmp_path, "first-creators-post")

    other = browser.new_context(base_url=live_app.base_url, locale="en-US")
    other.set_default_timeout(EXPECT_TIMEOUT_MS)
    try:
        theirs = other.new_page()
        sign_in(theirs, open_id=second)
        # Their Post page names them, never the other creator.
        theirs.goto("/compose")
        header = theirs.locator("body").inner_text()
        assert f"Nick {second}" in header and f"Nick {first}" not in header
        # Their list does not show the first creator's post, and its page is not theirs.
        theirs.goto("/posts")
        assert "first-creators-post" not in theirs.locator("body").inner_text()
        assert theirs.goto(mine).status == 404
        _post(theirs, tmp_path, "second-creators-post")
        # Their accounts page lists only their own account.
        theirs.goto("/accounts")
        accounts = theirs.locator("body").inner_text()
        assert f"Nick {second}" in accounts and f"Nick {first}" not in accounts
    finally:
        other.close()

    # And the first creator, still signed in beside them, sees only theirs.
    page.goto("/posts")
    listed = page.locator("body").inner_text()
    assert "first-creators-post" in listed and "second-creators-post" not in listed
