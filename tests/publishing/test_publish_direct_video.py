"""A direct video post travels from consent to "published" against the emulator as a real server."""

from __future__ import annotations

import hashlib

import pytest

from directpost.publishing import states
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


@pytest.mark.rules("TECH-2")
async def test_direct_video_by_pull_is_published_once_from_its_own_media_url(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        title="hello #directpost",
        privacy_level="PUBLIC_TO_EVERYONE",
        allow_comment=True,
    )
    post = await bench.drive(post_id)

    assert post.state == states.PUBLISHED
    publishes = bench.publishes("demo-public")
    assert len(publishes) == 1
    (publish,) = publishes
    assert publish["source"] == "PULL_FROM_URL"
    assert publish["publish_id"] == post.publish_id
    (attempt,) = post.attempts
    assert publish["urls"] == [f"{bench.app_url}/m/{attempt.media_token}/0.mp4"]
    # The bytes TikTok pulled are exactly the bytes given (UX-5b).
    with bench.ctx.media_store.open_binary(post.media[0]["key"]) as handle:
        stored = handle.read()
    assert publish["sha256"] == hashlib.sha256(stored).hexdigest()
    # A final post's media URL no longer answers.
    assert attempt.token_revoked_at is not None


async def test_direct_video_choices_reach_tiktok_as_confirmed(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        title="exact caption",
        privacy_level="MUTUAL_FOLLOW_FRIENDS",
        allow_comment=False,
        allow_duet=True,
        allow_stitch=False,
        disclose_commercial=True,
        your_brand=True,
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    (publish,) = bench.publishes("demo-public")
    info = publish["request"]["post_info"]
    assert info["title"] == "exact caption"
    assert info["privacy_level"] == "MUTUAL_FOLLOW_FRIENDS"
    assert info["disable_comment"] is True
    assert info["disable_duet"] is False
    assert info["disable_stitch"] is True
    assert info["brand_organic_toggle"] is True
    assert info["brand_content_toggle"] is False


@pytest.mark.rules("TECH-2", "UX-5b")
async def test_direct_video_by_file_upload_sends_every_byte_once(file_upload_bench: Bench) -> None:
    bench = file_upload_bench
    creator = await bench.creator_facts("demo-private")
    post_id = bench.submit(
        "demo-private", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    (publish,) = bench.publishes("demo-private")
    assert publish["source"] == "FILE_UPLOAD"
    assert publish["uploaded_bytes"] == post.media[0]["size"]
    (attempt,) = post.attempts
    assert attempt.media_token is None and attempt.upload_done
