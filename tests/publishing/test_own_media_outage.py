"""Our own media service down must not fail posts (issue 15, item 4; TECH-2): a worker asks the
media URL prefix before a pull publish starts and holds the post while nothing answers, and a
pull that TikTok reports failed before we sent every file is sent again with a new attempt
(TikTok ended that publish and its URL is revoked), at most `MAX_PULL_RETRIES` times.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from directpost.publishing import lifecycle, outcomes, pipeline, states
from directpost.publishing.media_check import MediaServiceCheck, media_check_for
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.fixtures.processes import free_port
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


def _fail_pulls(bench: Bench, count: int) -> None:
    """TikTok's next `count` pulls fail before a byte is asked of us (as when we are down)."""
    bench.emulator.control("faults", {"endpoint": "pull", "status": 503, "count": count})


async def test_a_start_waits_while_our_media_service_does_not_answer(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    dead = MediaServiceCheck(f"http://127.0.0.1:{free_port()}", down_for_s=0.0, timeout_s=1.0)
    held = dataclasses.replace(bench.ctx, media_check=dead)
    for _ in range(3):
        assert await pipeline.advance(held, post_id) == states.QUEUED
    post = bench.post(post_id)
    assert post.reason_text == outcomes.MEDIA_SERVICE_DOWN
    assert post.attempts == [] and bench.publishes("demo-public") == []  # nothing sent
    # Back: the same post starts (the note cleared) and is published once.
    assert bench.ctx.media_check is not None  # the bench's worker asks its real app
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED and post.reason_text == ""
    assert len(bench.publishes("demo-public")) == 1


async def test_the_check_knows_our_media_route_by_its_answer(bench: Bench) -> None:
    assert await MediaServiceCheck(bench.app_url).answering()
    # Something else answering at the address (here the emulator) is not our media service.
    assert not await MediaServiceCheck(bench.emulator.base_url).answering()
    assert media_check_for(bench.app_url, "off") is None
    assert media_check_for(bench.app_url, "").url.startswith(bench.app_url)  # type: ignore[union-attr]


async def test_a_pull_that_failed_before_we_sent_the_media_is_sent_again(bench: Bench) -> None:
    _fail_pulls(bench, 2)
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    post = await bench.drive(post_id, within=60)
    assert post.state == states.PUBLISHED, post.reason_text
    publishes = bench.publishes("demo-public")
    assert [p["status"] for p in publishes] == ["FAILED", "FAILED", "PUBLISH_COMPLETE"]
    assert len(bench.emulator.state()["posts"]["demo-public"]) == 1  # posted once
    finished = [a for a in post.attempts if a.state == states.FINISHED]
    assert [a.error_code for a in finished] == ["video_pull_failed"] * 2
    assert all(a.token_revoked_at is not None for a in finished)  # their URLs are gone


async def test_pull_retries_are_bounded(bench: Bench) -> None:
    _fail_pulls(bench, outcomes.MAX_PULL_RETRIES + 1)
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    post = await bench.drive(post_id, within=90)
    assert post.state == states.FAILED and post.reason_code == "video_pull_failed"
    assert len(bench.publishes("demo-public")) == outcomes.MAX_PULL_RETRIES + 1


async def test_a_retry_shows_the_creator_that_it_is_being_sent_again(bench: Bench) -> None:
    _fail_pulls(bench, 1)
    bench.register(webhook_url=None)  # the answer comes by polling, one step at a time
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    seen: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 60
    while (post := bench.post(post_id)).state not in states.FINAL_STATES:
        assert time.monotonic() < deadline, seen
        if post.due_at > utcnow():
            await asyncio.sleep(0.1)
            continue
        await pipeline.advance(bench.ctx, post_id)
        after = bench.post(post_id)
        seen.append((after.state, after.reason_code, after.reason_text))
    retrying = [s for s in seen if s[1] == "pull_retry"]
    assert retrying and retrying[0][0] == states.QUEUED
    assert "sending it again on its own" in retrying[0][2]
    assert bench.post(post_id).state == states.PUBLISHED


async def test_a_pull_that_failed_after_we_sent_every_byte_is_not_repeated(bench: Bench) -> None:
    bench.register(webhook_url=None)
    creator = await bench.creator_facts("demo-public")
    first = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    (attempt,) = (await bench.drive(first)).attempts
    assert attempt.media_served == 1  # our media route recorded the whole file sent

    second = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    while bench.post(second).state != states.PROCESSING:
        await pipeline.advance(bench.ctx, second)
    # TikTok had the whole file, yet reports the pull failed: not ours to repeat.
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=second)
        assert post is not None
        (attempt,) = post.attempts
        attempt.media_served = 1
        lifecycle.apply_answer(
            post,
            lifecycle.TikTokAnswer(status="FAILED", fail_reason="video_pull_failed"),
            now=utcnow(),
        )
        assert post.state == states.FAILED
        attempt.media_served = 0  # the same answer without our bytes sent: sent again
        post.state = states.PROCESSING
        attempt.state = states.CONFIRMED
        lifecycle.apply_answer(
            post,
            lifecycle.TikTokAnswer(status="FAILED", fail_reason="video_pull_failed"),
            now=utcnow(),
        )
        assert post.state == states.QUEUED and post.reason_code == "pull_retry"
        session.rollback()


async def test_a_late_webhook_about_the_failed_publish_leaves_the_new_one_alone(
    bench: Bench,
) -> None:
    _fail_pulls(bench, 1)
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    post = await bench.drive(post_id, within=60)
    assert post.state == states.PUBLISHED
    old = next(a for a in post.attempts if a.state == states.FINISHED)
    assert old.publish_id and old.publish_id != post.publish_id
    with bench.ctx.factory() as session:
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        assert not lifecycle.answer_is_current(post, old.publish_id)
        assert lifecycle.answer_is_current(post, post.publish_id or "")
