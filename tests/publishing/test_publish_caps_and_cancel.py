"""Caps checked when a post is queued and again when it runs (CAP-1, CAP-3, CAP-5), and
cancelling: scheduled posts until they start, pulls while TikTok is still downloading."""

from __future__ import annotations

from datetime import timedelta

import pytest

from directpost.publishing import pipeline, service, states
from directpost.rules.limits import POSTS_PER_CREATOR_PER_DAY
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.fixtures.post_states import seed_state
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

UNAUDITED_CREATORS = ["demo-private"] + [f"cap-private-{i}" for i in range(5)]


def _private_creators(bench: Bench) -> None:
    for open_id in UNAUDITED_CREATORS[1:]:
        bench.emulator.control(
            "creators", {"open_id": open_id, "nickname": open_id, "private_account": True}
        )


async def test_sixth_creator_is_refused_when_queued_while_unaudited_cap_1(bench: Bench) -> None:
    bench.settings.app_audited = False
    bench.register(audited=False)
    _private_creators(bench)
    # What each creator's Post page showed, before any of them posted.
    facts = {open_id: await bench.creator_facts(open_id) for open_id in UNAUDITED_CREATORS}
    for open_id in UNAUDITED_CREATORS[:5]:
        post_id = bench.submit(
            open_id, facts[open_id], media=bench.media_video(), privacy_level="SELF_ONLY"
        )
        assert (await bench.drive(post_id)).state == states.PUBLISHED
    sixth = UNAUDITED_CREATORS[5]
    with pytest.raises(service.PublishRefused) as refused:
        bench.submit(sixth, facts[sixth], media=bench.media_video(), privacy_level="SELF_ONLY")
    assert refused.value.violations[0].rule == "CAP-1"
    assert "Nothing has been sent" in refused.value.violations[0].message
    # A creator who already posted today may post again.
    again = bench.submit(
        "demo-private", facts["demo-private"], media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    assert (await bench.drive(again)).state == states.PUBLISHED
    assert len(bench.publishes()) == 6


async def test_creator_cap_is_checked_again_when_the_post_runs_cap_1(bench: Bench) -> None:
    bench.settings.app_audited = False
    bench.register(audited=False)
    _private_creators(bench)
    sixth = UNAUDITED_CREATORS[5]
    creator = await bench.creator_facts(sixth)
    later = bench.submit(
        sixth,
        creator,
        media=bench.media_video(),
        privacy_level="SELF_ONLY",
        scheduled_at=utcnow() + timedelta(seconds=2),
    )
    for open_id in UNAUDITED_CREATORS[:5]:
        facts = await bench.creator_facts(open_id)
        post_id = bench.submit(open_id, facts, media=bench.media_video(), privacy_level="SELF_ONLY")
        await bench.drive(post_id)
    post = await bench.drive(later)
    assert post.state == states.TRY_LATER
    assert post.reason_code == "CAP-1", "our own count stopped it before TikTok was asked"
    assert post.attempts == [], "nothing was sent for the refused post"
    assert len(bench.publishes()) == 5


async def test_daily_post_cap_is_counted_before_tiktok_is_asked_cap_3(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    link = bench.link("demo-public")
    with bench.ctx.factory() as session, session.begin():
        # Fifteen posts already went out today through this app (as the records say).
        for _ in range(POSTS_PER_CREATOR_PER_DAY):
            post = store.create_post(
                session,
                person_id=bench.person_id,
                account_id=link,
                open_id="demo-public",
                kind="video",
                mode="direct",
                choices={},
                media=[],
                upload_id=None,
                scheduled_at=None,
                time_zone="UTC",
                state=states.QUEUED,
                due_at=utcnow(),
                creator_info={},
                declaration="",
                label="",
            )
            seed_state(post, state=states.PUBLISHED)
            store.new_attempt(
                session, post=post, source="PULL_FROM_URL", media_token=None, token_expires_at=None
            )
            post.attempts[0].state = states.CONFIRMED
    with pytest.raises(service.PublishRefused) as refused:
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
    assert "try again tomorrow" in refused.value.violations[0].message
    assert bench.publishes() == []


async def test_pending_inbox_shares_are_capped_at_five_cap_5(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    for _ in range(5):
        post_id = bench.submit("demo-public", creator, media=bench.media_video(), mode="inbox")
        assert (await bench.drive(post_id)).state == states.SENT_TO_INBOX
    with pytest.raises(service.PublishRefused) as refused:
        bench.submit("demo-public", creator, media=bench.media_video(), mode="inbox")
    assert "inbox" in refused.value.violations[0].message
    assert len(bench.publishes()) == 5


async def test_scheduled_post_can_be_moved_and_cancelled_until_it_starts(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        privacy_level="SELF_ONLY",
        scheduled_at=utcnow() + timedelta(hours=2),
    )
    with bench.ctx.factory() as session, session.begin():
        moved = service.reschedule_post(
            session,
            person_id=bench.person_id,
            post_id=post_id,
            scheduled_at=utcnow() + timedelta(hours=5),
            time_zone="America/New_York",
        )
        assert moved.state == states.SCHEDULED and moved.time_zone == "America/New_York"
    with bench.ctx.factory() as session, session.begin():
        cancelled = service.cancel_post(session, person_id=bench.person_id, post_id=post_id)
        assert cancelled.state == states.CANCELLED
    assert await pipeline.advance(bench.ctx, post_id) == states.CANCELLED
    assert bench.publishes() == []


async def test_another_person_cannot_cancel_a_post(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        privacy_level="SELF_ONLY",
        scheduled_at=utcnow() + timedelta(hours=2),
    )
    with bench.ctx.factory() as session, session.begin(), pytest.raises(LookupError):
        service.cancel_post(session, person_id=bench.person_id + 1000, post_id=post_id)
    assert bench.post(post_id).state == states.SCHEDULED


async def test_cancel_while_tiktok_is_downloading_stops_the_pull(bench: Bench) -> None:
    bench.register(webhook_url=None)
    # TikTok's download is slow: the pull waits before it starts reading.
    bench.emulator.control("faults", {"endpoint": "pull", "delay_s": 3})
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    while bench.post(post_id).state != states.PROCESSING:
        await pipeline.advance(bench.ctx, post_id)
    with bench.ctx.factory() as session, session.begin():
        post = service.cancel_post(session, person_id=bench.person_id, post_id=post_id)
        assert post.cancel_requested
    post = await bench.drive(post_id)
    assert post.state == states.CANCELLED
    (publish,) = bench.publishes("demo-public")
    assert publish["status"] == "FAILED" and publish["fail_reason"] == "publish_cancelled"
    assert bench.emulator.state()["posts"].get("demo-public", []) == []
