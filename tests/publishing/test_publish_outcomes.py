"""Every way TikTok can answer, and the state and words the creator gets for it.

Each TikTok answer is provoked in the emulator (a real server) with its fault control; the post
must end in the right state, with plain words and TikTok's log_id, and nothing may be sent twice.
"""

from __future__ import annotations

import pytest

from directpost.publishing import outcomes, states
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

FAIL_REASONS = sorted(outcomes.FAIL_REASONS)


@pytest.mark.parametrize("reason", FAIL_REASONS)
async def test_every_fail_reason_ends_the_post_with_plain_words(bench: Bench, reason: str) -> None:
    bench.emulator.control("faults", {"endpoint": "processing", "fail_reason": reason})
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    post = await bench.drive(post_id)

    expected = outcomes.FAIL_REASONS[reason]
    assert post.state == expected.state
    assert post.reason_code == reason
    assert post.reason_text == expected.text
    # A TikTok-side failure is never answered by a second init (no duplicates, CAP-3).
    assert len(bench.publishes("demo-public")) == 1


INIT_ERRORS = [
    ("spam_risk_too_many_posts", states.TRY_LATER),
    ("spam_risk_user_banned_from_posting", states.TRY_LATER),
    ("reached_active_user_cap", states.TRY_LATER),
    ("unaudited_client_can_only_post_to_private_accounts", states.NEEDS_CONFIRMATION),
    ("url_ownership_unverified", states.FAILED),
    ("privacy_level_option_mismatch", states.NEEDS_CONFIRMATION),
    ("invalid_params", states.FAILED),
    ("invalid_param", states.FAILED),
    ("scope_not_authorized", states.DISCONNECTED),
    ("access_token_invalid", states.DISCONNECTED),
]


@pytest.mark.rules("DG-6")
@pytest.mark.parametrize(("code", "state"), INIT_ERRORS)
async def test_every_init_error_code_is_final_without_a_retry(
    bench: Bench, code: str, state: str
) -> None:
    bench.emulator.control("faults", {"endpoint": "video_init", "error": code})
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    post = await bench.drive(post_id)

    assert post.state == state
    assert post.reason_code == code
    assert post.reason_text == outcomes.INIT_ERRORS[code].text
    assert post.log_id, "TikTok's log_id is kept for support (DG-6)"
    (attempt,) = post.attempts
    assert attempt.state == states.REJECTED
    assert attempt.token_revoked_at is not None
    assert bench.publishes("demo-public") == []


async def test_pending_share_cap_at_inbox_init_means_try_later(bench: Bench) -> None:
    bench.emulator.control(
        "faults", {"endpoint": "inbox_video_init", "error": "spam_risk_too_many_pending_share"}
    )
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit("demo-public", creator, media=bench.media_video(), mode="inbox")
    post = await bench.drive(post_id)
    assert post.state == states.TRY_LATER
    assert "inbox" in post.reason_text


async def test_creator_who_cannot_post_now_gets_try_later_and_nothing_is_sent(
    bench: Bench,
) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    # Between consent and the job, TikTok starts saying this creator cannot post (UX-1b).
    bench.emulator.control("creators", {"open_id": "demo-public", "posting_state": "capped"})
    post = await bench.drive(post_id)
    assert post.state == states.TRY_LATER
    assert post.reason_code == "spam_risk_too_many_posts"
    assert post.attempts == []
    assert bench.publishes() == []


async def test_server_error_at_init_revokes_the_url_then_publishes_exactly_once(
    bench: Bench,
) -> None:
    bench.emulator.control("faults", {"endpoint": "video_init", "error": "internal_error"})
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    first, second = post.attempts
    assert first.state == states.AMBIGUOUS and first.token_revoked_at is not None
    assert second.state == states.CONFIRMED and second.media_token != first.media_token
    assert len(bench.publishes("demo-public")) == 1


async def test_lost_init_answer_makes_the_ghost_fail_and_the_post_appear_once(
    bench: Bench,
) -> None:
    # TikTok creates the publish, but its answer never arrives (the ambiguous init).
    bench.emulator.control("faults", {"endpoint": "video_init", "drop": True})
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    ghost_first = bench.emulator.wait_for(
        lambda s: all(
            p["status"] in ("PUBLISH_COMPLETE", "FAILED")
            for p in s["publishes"]
            if p["client_key"] == bench.settings.tiktok_client_key
        )
    )
    publishes = [
        p for p in ghost_first["publishes"] if p["client_key"] == bench.settings.tiktok_client_key
    ]
    assert sorted(p["status"] for p in publishes) == ["FAILED", "PUBLISH_COMPLETE"]
    ghost = next(p for p in publishes if p["status"] == "FAILED")
    assert ghost["fail_reason"] == "video_pull_failed"
    posts = ghost_first["posts"].get("demo-public", [])
    assert len(posts) == 1, "exactly one TikTok post for one published post"


async def test_status_call_failures_keep_tracking_and_never_init_again(bench: Bench) -> None:
    bench.emulator.control("progression", {"mode": "polls", "value": 2})
    bench.emulator.control(
        "faults", {"endpoint": "status_fetch", "error": "internal_error", "count": 2}
    )
    bench.emulator.control("faults", {"endpoint": "status_fetch", "drop": True})
    bench.register(webhook_url=None)  # polling alone must get there
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    assert len(post.attempts) == 1
    assert len(bench.publishes("demo-public")) == 1


async def test_expired_upload_url_fails_the_post_with_a_clear_reason(
    file_upload_bench: Bench,
) -> None:
    bench = file_upload_bench
    bench.emulator.control("faults", {"endpoint": "upload", "status": 403})
    creator = await bench.creator_facts("demo-private")
    post_id = bench.submit(
        "demo-private", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    post = await bench.drive(post_id)
    assert post.state == states.FAILED
    assert post.reason_code == "upload_url_expired"
    assert post.reason_text == outcomes.UPLOAD_EXPIRED.text
    assert len(bench.publishes("demo-private")) == 1


async def test_upload_interrupted_midway_resumes_the_same_publish(file_upload_bench: Bench) -> None:
    bench = file_upload_bench
    bench.emulator.control("faults", {"endpoint": "upload", "status": 503})
    bench.emulator.control("faults", {"endpoint": "upload", "drop": True, "drop_after_bytes": 1000})
    creator = await bench.creator_facts("demo-private")
    post_id = bench.submit(
        "demo-private", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED
    (publish,) = bench.publishes("demo-private")
    assert publish["uploaded_bytes"] == post.media[0]["size"]
