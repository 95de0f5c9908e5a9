"""The pages that tell a creator about their posts and data (issue 14): the posts list with
thumbnails, state badges and filters; the post's page with its cover, account, audience and
times in the creator's zone; "My data" in plain words, with disconnect asking first (DG-5); the
Contact page with the operator's address as a link."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2
import pytest

from tests.fixtures.live import OPERATOR_CONTACT, Personas, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.web.helpers import upload_ready_video

pytestmark = pytest.mark.anyio

ZONE = "Asia/Tokyo"


async def _post(
    client: httpx2.AsyncClient, tmp_path: Path, title: str, *, scheduled_at: str = ""
) -> int:
    csrf = await fetch_csrf(client, "/posts")
    video = make_video(tmp_path / f"{title}.mp4", seconds=1.0)
    upload_id = await upload_ready_video(client, csrf, video, name=f"{title}.mp4")
    answer = await client.post(
        "/posts",
        data={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": title,
            "privacy_level": "SELF_ONLY",
            "scheduled_at": scheduled_at,
            "time_zone": ZONE,
        },
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _tomorrow_in_zone() -> datetime:
    return (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).replace(
        hour=9, minute=30, second=0, microsecond=0, tzinfo=None
    )


async def test_posts_list_shows_covers_and_badges_and_filters_by_state(
    personas: Personas, tmp_path: Path
) -> None:
    later = _tomorrow_in_zone()
    await _post(personas.creator, tmp_path, "later-one", scheduled_at=later.isoformat())
    await _post(personas.creator, tmp_path, "now-one")

    everything = (await personas.creator.get("/posts")).text
    assert "later-one" in everything and "now-one" in everything
    assert re.search(r'<video class="thumb" src="/uploads/[^/"]+/files/[^"#]+#t=', everything)
    assert 'class="badge state-scheduled"' in everything

    scheduled = (await personas.creator.get("/posts?state=scheduled")).text
    assert "later-one" in scheduled and "now-one" not in scheduled
    assert f"Scheduled for {later.strftime('%Y-%m-%d %H:%M')} ({ZONE})" in scheduled
    assert re.search(r'href="/posts\?state=scheduled" aria-current="page"', scheduled)

    done = (await personas.creator.get("/posts?state=done")).text
    assert "later-one" not in done
    unknown = (await personas.creator.get("/posts?state=nonsense")).text
    assert "later-one" in unknown and "now-one" in unknown


async def test_post_page_shows_cover_account_audience_and_times_in_the_creators_zone(
    personas: Personas, tmp_path: Path
) -> None:
    later = _tomorrow_in_zone()
    post_id = await _post(personas.creator, tmp_path, "tokyo", scheduled_at=later.isoformat())
    page = (await personas.creator.get(f"/posts/{post_id}")).text
    assert re.search(r'<video class="thumb" src="/uploads/', page)
    assert "Pim Private" in page and "Only me" in page
    assert f"Scheduled for {later.strftime('%Y-%m-%d %H:%M')} ({ZONE})" in page
    created = datetime.now(ZoneInfo(ZONE)).strftime("%Y-%m-%d")
    assert re.search(rf"{created} \d\d:\d\d <span class=\"hint\">\({ZONE}\)", page)
    assert "UTC" not in page.split('class="post-summary')[1].split("</dl>")[0]


async def test_my_data_says_what_is_stored_in_plain_words_and_asks_before_disconnecting(
    personas: Personas, tmp_path: Path
) -> None:
    await _post(personas.creator, tmp_path, "kept")
    page = (await personas.creator.get("/me/data")).text
    for words in ("Linked TikTok accounts", "Pim Private", "Connected", "kept.mp4", "kB"):
        assert words in page, words
    for column in ("claimed_by", "enqueued_until", "refresh_lease_until", "person_id"):
        assert column not in page, column  # no raw database rows
    # Disconnect sits behind a question: the form is inside a closed <details>.
    confirm = re.search(r'<details class="confirm">(.*?)</details>', page, re.S)
    assert confirm is not None
    assert "Disconnect…" in confirm.group(1)
    assert re.search(r'action="/accounts/\d+/disconnect"', confirm.group(1))
    assert len(re.findall(r'action="/accounts/\d+/disconnect"', page)) == 1
    assert 'href="/me/data/export"' in page and 'action="/me/data/delete"' in page
    # The accounts page asks the same question before disconnecting.
    accounts = (await personas.creator.get("/accounts")).text
    confirm = re.search(r'<details class="confirm">(.*?)</details>', accounts, re.S)
    assert confirm is not None and re.search(r'action="/accounts/\d+/disconnect"', confirm.group(1))
    assert len(re.findall(r'action="/accounts/\d+/disconnect"', accounts)) == 1


async def test_contact_page_links_the_operators_address(personas: Personas) -> None:
    page = (await personas.visitor.get("/contact")).text
    assert '<a href="mailto:help@example.invalid">help@example.invalid</a>' in page
    assert OPERATOR_CONTACT.split("help@")[0].strip() in page
