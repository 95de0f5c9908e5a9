"""Sending a failed post again (issue 17): only where TikTok provably did not publish it — its
init was refused, its pull or its processing failed — with fresh creator_info and a new consent
(the old one kept); never while an init's answer is unknown, until TikTok can no longer have it.
Over the emulator as a real server, through `service.reconfirm_post` as the post page does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from directpost.publishing import lifecycle, outcomes, service, states
from directpost.rules import Draft
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


async def _send_again(bench: Bench, post_id: int) -> store.Post:
    post = bench.post(post_id)
    creator = await bench.creator_facts(post.open_id)
    draft = replace(Draft(media=bench.media_video()[1]), privacy_level="SELF_ONLY")
    with bench.ctx.factory() as session, session.begin():
        service.reconfirm_post(
            session,
            settings=bench.settings,
            person_id=bench.person_id,
            post_id=post_id,
            creator=creator,
            draft=draft,
        )
    return await bench.drive(post_id, within=60)


async def _failed_post(bench: Bench, fault: dict[str, object]) -> int:
    bench.emulator.control("faults", fault)
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    assert (await bench.drive(post_id, within=90)).state == states.FAILED
    return post_id


async def test_a_post_whose_init_was_refused_can_be_sent_again(bench: Bench) -> None:
    post_id = await _failed_post(bench, {"endpoint": "video_init", "error": "invalid_params"})
    post = bench.post(post_id)
    assert [a.state for a in post.attempts] == [states.REJECTED]
    assert lifecycle.retry_refusal(post, now=utcnow()) is None
    post = await _send_again(bench, post_id)
    assert post.state == states.PUBLISHED
    assert len(post.consents) == 2  # a new consent, the first kept
    assert [p["status"] for p in bench.publishes("demo-public")] == ["PUBLISH_COMPLETE"]


async def test_a_post_whose_pull_failed_can_be_sent_again(bench: Bench) -> None:
    # Past the automatic retries: every pull fails at TikTok before a byte is read.
    count = outcomes.MAX_PULL_RETRIES + 1
    post_id = await _failed_post(bench, {"endpoint": "pull", "status": 503, "count": count})
    post = bench.post(post_id)
    assert post.reason_code == "video_pull_failed" and post.tiktok_status == "FAILED"
    assert all(a.token_revoked_at is not None for a in post.attempts)
    post = await _send_again(bench, post_id)
    assert post.state == states.PUBLISHED
    statuses = [p["status"] for p in bench.publishes("demo-public")]
    assert statuses.count("PUBLISH_COMPLETE") == 1 and len(statuses) == count + 1


async def test_a_post_whose_processing_failed_can_be_sent_again(bench: Bench) -> None:
    post_id = await _failed_post(
        bench, {"endpoint": "processing", "fail_reason": "frame_rate_check_failed"}
    )
    assert bench.post(post_id).reason_code == "frame_rate_check_failed"
    assert (await _send_again(bench, post_id)).state == states.PUBLISHED


async def test_an_unknown_init_answer_refuses_until_tiktok_can_no_longer_have_it(
    bench: Bench,
) -> None:
    post_id = await _failed_post(bench, {"endpoint": "video_init", "error": "invalid_params"})
    now = utcnow()
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        (attempt,) = post.attempts
        attempt.state = states.AMBIGUOUS  # as a run killed before it stored TikTok's answer
        attempt.created_at = now
    post = bench.post(post_id)
    refusal = lifecycle.retry_refusal(post, now=now)
    assert refusal is not None and "not yet certain" in refusal
    creator = await bench.creator_facts("demo-public")
    draft = replace(Draft(media=bench.media_video()[1]), privacy_level="SELF_ONLY")
    with bench.ctx.factory() as session, session.begin(), pytest.raises(service.PostNotEditable):
        service.reconfirm_post(
            session,
            settings=bench.settings,
            person_id=bench.person_id,
            post_id=post_id,
            creator=creator,
            draft=draft,
            now=now,
        )
    assert bench.post(post_id).state == states.FAILED  # nothing changed
    later = now + lifecycle.AMBIGUOUS_SETTLES_AFTER + timedelta(seconds=1)
    assert lifecycle.retry_refusal(post, now=later) is None


async def test_a_publish_tiktok_has_not_ended_is_never_sent_again(bench: Bench) -> None:
    post_id = await _failed_post(bench, {"endpoint": "video_init", "error": "invalid_params"})
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        (attempt,) = post.attempts
        attempt.state = states.CONFIRMED  # TikTok has it (e.g. an upload that ran out of time)
        post.tiktok_status = "PROCESSING_UPLOAD"
    refusal = lifecycle.retry_refusal(bench.post(post_id), now=utcnow())
    assert refusal is not None and "could post it twice" in refusal


async def test_a_post_whose_media_was_deleted_says_to_make_it_again(bench: Bench) -> None:
    post_id = await _failed_post(bench, {"endpoint": "video_init", "error": "invalid_params"})
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        post.media = [{**item, "key": ""} for item in post.media]  # the retention sweep's mark
    refusal = lifecycle.retry_refusal(bench.post(post_id), now=utcnow())
    assert refusal is not None and "retention" in refusal
