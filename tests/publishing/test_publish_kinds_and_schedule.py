"""Photos, inbox drafts, scheduled posts, and a creator's settings changing before a post starts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from directpost.publishing import pipeline, states
from directpost.store.base import utcnow
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


async def test_photos_are_always_pulled_from_per_attempt_urls(file_upload_bench: Bench) -> None:
    # Even where the operator chose FILE_UPLOAD, photos can only go by PULL_FROM_URL.
    bench = file_upload_bench
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_photos(3),
        title="three photos",
        description="a #test",
        privacy_level="PUBLIC_TO_EVERYONE",
        photo_cover_index=1,
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    (publish,) = bench.publishes("demo-public")
    assert publish["media_type"] == "PHOTO" and publish["post_mode"] == "DIRECT_POST"
    (attempt,) = post.attempts
    assert publish["urls"] == [f"{bench.app_url}/m/{attempt.media_token}/{i}.jpg" for i in range(3)]
    assert publish["request"]["source_info"]["photo_cover_index"] == 1


async def test_inbox_video_draft_is_final_once_it_reaches_the_inbox(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit("demo-public", creator, media=bench.media_video(), mode="inbox")
    post = await bench.drive(post_id)
    assert post.state == states.SENT_TO_INBOX
    (publish,) = bench.publishes("demo-public")
    assert publish["status"] == "SEND_TO_USER_INBOX"
    assert "post_info" not in publish["request"]


async def test_inbox_photo_draft_goes_as_media_upload(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_photos(2), mode="inbox", title="draft"
    )
    post = await bench.drive(post_id)
    assert post.state == states.SENT_TO_INBOX
    (publish,) = bench.publishes("demo-public")
    assert publish["post_mode"] == "MEDIA_UPLOAD"


async def test_inbox_draft_posted_later_by_the_creator_becomes_published(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit("demo-public", creator, media=bench.media_video(), mode="inbox")
    post = await bench.drive(post_id)
    assert post.state == states.SENT_TO_INBOX
    # The creator finishes the draft in the TikTok app; the webhook tells us.
    bench.emulator.control(
        f"publishes/{post.publish_id}/post", {"privacy_level": "PUBLIC_TO_EVERYONE"}
    )
    for _ in range(100):
        if bench.post(post_id).state == states.PUBLISHED:
            break
        await asyncio.sleep(0.05)
    assert bench.post(post_id).state == states.PUBLISHED


async def test_scheduled_post_waits_for_its_time_then_publishes(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    when = utcnow() + timedelta(seconds=1.5)
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        privacy_level="PUBLIC_TO_EVERYONE",
        scheduled_at=when,
    )
    assert bench.post(post_id).state == states.SCHEDULED
    # A worker looking early changes nothing and sends nothing.
    assert await pipeline.advance(bench.ctx, post_id) == states.SCHEDULED
    assert bench.publishes() == []
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    assert post.started_at is not None and post.started_at >= when
    assert post.time_zone == "Europe/Berlin"


async def test_settings_changed_since_scheduling_need_confirmation_not_silent_change(
    bench: Bench,
) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        privacy_level="PUBLIC_TO_EVERYONE",
        allow_comment=True,
        scheduled_at=utcnow() + timedelta(seconds=0.5),
    )
    # The creator turns comments off in TikTok before the post starts.
    bench.emulator.control("creators", {"open_id": "demo-public", "comment_disabled": True})
    post = await bench.drive(post_id)
    assert post.state == states.NEEDS_CONFIRMATION
    assert "UX-2c" in post.reason_code
    assert "comment" in post.reason_text.lower()
    assert post.choices["allow_comment"] is True, "the stored choice is never changed silently"
    assert bench.publishes() == []


async def test_account_made_public_while_unaudited_needs_confirmation(bench: Bench) -> None:
    bench.settings.app_audited = False
    bench.register(audited=False)
    creator = await bench.creator_facts("demo-private")
    post_id = bench.submit(
        "demo-private", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    bench.emulator.control("creators", {"open_id": "demo-private", "private_account": False})
    post = await bench.drive(post_id)
    assert post.state == states.NEEDS_CONFIRMATION
    assert "CAP-2" in post.reason_code
    assert bench.publishes() == []
