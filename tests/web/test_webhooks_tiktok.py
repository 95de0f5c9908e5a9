"""`POST /webhooks/tiktok` on the app as a real server: verified on the raw body, de-duplicated,
applied at once; `authorization.removed` deletes the tokens and disconnects pending posts (DG-5)."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

import asyncio
import json
import time

import httpx2
import pytest

from directpost import tiktok
from directpost.publishing import states
from directpost.store import accounts
from directpost.store import posts as store
from tests.publishing.harness import Bench, bench  # noqa: F401

pytestmark = pytest.mark.anyio


def _event(bench: Bench, event: str, content: dict[str, object], open_id: str) -> bytes:
    envelope = {
        "client_key": bench.settings.tiktok_client_key,
        "event": event,
        "create_time": int(time.time()),
        "user_openid": open_id,
        "content": json.dumps(content),
    }
    return json.dumps(envelope).encode()


def _deliver(
    bench: Bench, body: bytes, *, secret: str | None = None, at: int | None = None
) -> httpx2.Response:
    secret = secret or bench.settings.tiktok_client_secret.get_secret_value()
    header = tiktok.sign(body, secret, timestamp=at or int(time.time()))
    return httpx2.post(
        f"{bench.app_url}/webhooks/tiktok",
        content=body,
        headers={"TikTok-Signature": header, "Content-Type": "application/json"},
        trust_env=False,
    )


async def _processing_post(bench: Bench) -> store.Post:
    bench.register(webhook_url=None)
    bench.emulator.control("progression", {"mode": "polls", "value": 1000})
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    from directpost.publishing import pipeline

    while bench.post(post_id).state != states.PROCESSING:
        await pipeline.advance(bench.ctx, post_id)
    return bench.post(post_id)


async def test_signed_complete_event_publishes_the_post(bench: Bench) -> None:
    post = await _processing_post(bench)
    body = _event(
        bench,
        "post.publish.complete",
        {"publish_id": post.publish_id, "publish_type": "DIRECT_PUBLISH"},
        "demo-public",
    )
    answer = _deliver(bench, body)
    assert answer.status_code == 200
    assert bench.post(post.id).state == states.PUBLISHED


async def test_forged_signature_is_refused_and_changes_nothing(bench: Bench) -> None:
    post = await _processing_post(bench)
    body = _event(
        bench,
        "post.publish.failed",
        {"publish_id": post.publish_id, "reason": "spam_risk", "publish_type": "DIRECT_PUBLISH"},
        "demo-public",
    )
    answer = _deliver(bench, body, secret="not-the-client-secret")
    assert answer.status_code == 400
    assert bench.post(post.id).state == states.PROCESSING


async def test_stale_signature_is_refused(bench: Bench) -> None:
    post = await _processing_post(bench)
    body = _event(
        bench,
        "post.publish.complete",
        {"publish_id": post.publish_id, "publish_type": "DIRECT_PUBLISH"},
        "demo-public",
    )
    answer = _deliver(bench, body, at=int(time.time()) - 3600)
    assert answer.status_code == 400
    assert bench.post(post.id).state == states.PROCESSING


async def test_tampered_body_is_refused(bench: Bench) -> None:
    post = await _processing_post(bench)
    body = _event(
        bench,
        "post.publish.complete",
        {"publish_id": post.publish_id, "publish_type": "DIRECT_PUBLISH"},
        "demo-public",
    )
    header = tiktok.sign(
        body, bench.settings.tiktok_client_secret.get_secret_value(), timestamp=int(time.time())
    )
    answer = httpx2.post(
        f"{bench.app_url}/webhooks/tiktok",
        content=body.replace(b"complete", b"failed"),
        headers={"TikTok-Signature": header},
        trust_env=False,
    )
    assert answer.status_code == 400
    assert bench.post(post.id).state == states.PROCESSING


async def test_duplicate_and_replayed_deliveries_apply_once(bench: Bench) -> None:
    post = await _processing_post(bench)
    body = _event(
        bench,
        "post.publish.publicly_available",
        {
            "publish_id": post.publish_id,
            "post_id": 7301234567890123456,
            "publish_type": "DIRECT_PUBLISH",
        },
        "demo-public",
    )
    first = _deliver(bench, body)
    again = _deliver(bench, body)  # TikTok's at-least-once retry
    replay = _deliver(bench, body, at=int(time.time()) - 10)  # a captured delivery re-signed
    assert [first.json()["duplicate"], again.json()["duplicate"], replay.json()["duplicate"]] == [
        False,
        True,
        True,
    ]
    after = bench.post(post.id)
    # The 19-digit id is kept exactly, as a string.
    assert after.post_ids == ["7301234567890123456"]
    assert after.state == states.PUBLISHED
    with bench.ctx.factory() as session:
        count = session.query(store.WebhookEvent).count()
    assert count == 1


async def test_failed_event_moves_the_post_to_failed_with_the_reason(bench: Bench) -> None:
    post = await _processing_post(bench)
    body = _event(
        bench,
        "post.publish.failed",
        {
            "publish_id": post.publish_id,
            "reason": "spam_risk_text",
            "publish_type": "DIRECT_PUBLISH",
        },
        "demo-public",
    )
    assert _deliver(bench, body).status_code == 200
    after = bench.post(post.id)
    assert after.state == states.FAILED
    assert "caption" in after.reason_text


@pytest.mark.rules("DG-5")
async def test_authorization_removed_deletes_tokens_and_disconnects_pending_posts(
    bench: Bench,
) -> None:
    post = await _processing_post(bench)
    waiting_id = bench.submit(
        "demo-public",
        await bench.creator_facts("demo-public"),
        media=bench.media_video(),
        privacy_level="PUBLIC_TO_EVERYONE",
    )
    bench.register()  # webhooks on again: TikTok (the emulator) sends authorization.removed
    bench.emulator.control(
        "creators/demo-public/deauthorize",
        {"client_key": bench.settings.tiktok_client_key, "reason": 1},
    )
    for _ in range(200):
        if bench.post(waiting_id).state == states.DISCONNECTED:
            break
        await asyncio.sleep(0.05)
    with bench.ctx.factory() as session:
        account = accounts.find_account_by_open_id(session, open_id="demo-public")
        assert account is not None
        assert account.access_token_enc is None and account.refresh_token_enc is None
        assert account.status == "removed"
    assert bench.post(waiting_id).state == states.DISCONNECTED
    assert bench.post(post.id).state == states.DISCONNECTED
    assert "disconnected" in bench.post(waiting_id).reason_text


async def test_events_for_unknown_publishes_are_acknowledged(bench: Bench) -> None:
    body = _event(
        bench,
        "post.publish.complete",
        {"publish_id": "v_pub_url~v2.1", "publish_type": "DIRECT_PUBLISH"},
        "demo-public",
    )
    assert _deliver(bench, body).status_code == 200
