"""Issue 17, notifications: a post that needs confirmation, fails or is published tells its
person, through an outbox written in the move's own transaction, and the worker's deliveries
(e-mail to a local SMTP catcher, a signed webhook to a loopback receiver), retried with
backoff; no notification carries a token or a secret."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx2
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from directpost.publishing import lifecycle, notify_delivery, notify_webhook, states
from directpost.store import accounts
from directpost.store import notifications as nstore
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.fixtures.notify_receivers import smtp_catcher, webhook_receiver
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

FAST_RETRY = notify_delivery.RetryPolicy(base_s=0.05, cap_s=0.2, max_attempts=4, jitter=0.0)
SECRET = "whsec_test-" + "s" * 32


def _channels(bench: Bench, *, email: str = "", webhook: str = "") -> None:
    with bench.ctx.factory() as session, session.begin():
        row = nstore.settings_for_update(session, person_id=bench.person_id)
        row.email_address = email
        row.webhook_url = webhook
        row.webhook_secret_enc = bench.ctx.cipher.encrypt(SECRET) if webhook else None


def _notifications(bench: Bench, post_id: int) -> list[nstore.Notification]:
    with bench.ctx.factory() as session:
        rows = session.scalars(
            select(nstore.Notification).where(nstore.Notification.post_id == post_id)
        ).all()
        for row in rows:
            _ = list(row.deliveries)
        return list(rows)


def _sender(bench: Bench, *, smtp_url: str = "", smtp_from: str = "") -> notify_delivery.Sender:
    settings = bench.settings.model_copy(
        update={"smtp_url": SecretStr(smtp_url), "smtp_from": smtp_from}
    )
    return notify_delivery.Sender(settings, bench.ctx.cipher)


async def _needs_confirmation(bench: Bench) -> int:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        privacy_level="PUBLIC_TO_EVERYONE",
        allow_comment=True,
        title="Sunday walk #dogs",
        scheduled_at=utcnow() + timedelta(seconds=0.3),
    )
    bench.emulator.control("creators", {"open_id": "demo-public", "comment_disabled": True})
    assert (await bench.drive(post_id)).state == states.NEEDS_CONFIRMATION
    return post_id


async def test_needs_confirmation_writes_exactly_one_notification_with_its_deliveries(
    bench: Bench,
) -> None:
    bench.link("demo-public")
    _channels(bench, email="me@example.test", webhook="http://127.0.0.1:9/hook")
    post_id = await _needs_confirmation(bench)

    [notification] = _notifications(bench, post_id)
    assert notification.event == "post.needs_confirmation"
    assert notification.state == states.NEEDS_CONFIRMATION
    assert notification.title == "Sunday walk #dogs"
    assert notification.account_name == "demo-public"
    assert notification.in_app and notification.read_at is None
    assert sorted(d.channel for d in notification.deliveries) == ["email", "webhook"]
    assert {d.state for d in notification.deliveries} == {nstore.PENDING}


async def test_a_published_post_tells_once_and_in_the_app_only_by_default(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    assert (await bench.drive(post_id)).state == states.PUBLISHED
    [notification] = _notifications(bench, post_id)
    assert notification.event == "post.published" and notification.in_app
    assert notification.deliveries == []


async def test_a_draft_sent_to_the_inbox_tells_the_creator_to_finish_it_in_tiktok(
    bench: Bench,
) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit("demo-public", creator, media=bench.media_video(), mode="inbox")
    assert (await bench.drive(post_id)).state == states.SENT_TO_INBOX
    [notification] = _notifications(bench, post_id)
    assert notification.event == "post.sent_to_inbox"
    assert "open TikTok" in notify_delivery.headline(notification.event)


async def test_the_same_end_brought_twice_at_once_is_applied_and_told_once(
    bench: Bench,
) -> None:
    """A webhook and a status poll bring PUBLISH_COMPLETE at the same moment, each having read
    the post while it was processing: one ends it, the other finds it ended (one notification).
    """
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        post.state = states.PROCESSING
    done = lifecycle.TikTokAnswer(status="PUBLISH_COMPLETE", post_ids=("7",))
    first, second = bench.ctx.factory(), bench.ctx.factory()
    try:
        one, two = first.get(store.Post, post_id), second.get(store.Post, post_id)
        assert one is not None and two is not None
        assert one.state == two.state == states.PROCESSING  # both read it before either wrote
        lifecycle.apply_answer(one, done, now=utcnow())
        first.commit()
        lifecycle.apply_answer(two, done, now=utcnow())
        second.commit()
        assert two.state == states.PUBLISHED  # read again as the first writer left it
    finally:
        first.close()
        second.close()
    [notification] = _notifications(bench, post_id)
    assert notification.event == "post.published"


async def test_a_move_rolled_back_tells_nobody(bench: Bench) -> None:
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public",
        creator,
        media=bench.media_video(),
        privacy_level="PUBLIC_TO_EVERYONE",
        scheduled_at=utcnow() + timedelta(hours=1),
    )
    with bench.ctx.factory() as session:
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        lifecycle.move(post, states.FAILED, now=utcnow(), reason_text="test")
        session.flush()
        assert session.scalar(select(nstore.Notification.id)) is not None  # written with it
        session.rollback()
    assert _notifications(bench, post_id) == []


async def test_email_and_signed_webhook_deliveries_reach_their_receivers(bench: Bench) -> None:
    bench.link("demo-public")
    with smtp_catcher() as catcher, webhook_receiver() as receiver:
        _channels(bench, email="me@example.test", webhook=receiver.url)
        post_id = await _needs_confirmation(bench)
        sender = _sender(bench, smtp_url=catcher.url, smtp_from="directpost@example.test")
        assert await notify_delivery.deliver_due(bench.ctx.factory, sender, policy=FAST_RETRY)

    [notification] = _notifications(bench, post_id)
    assert {d.state for d in notification.deliveries} == {nstore.DELIVERED}
    [mail] = catcher.messages
    assert mail["To"] == "me@example.test"
    assert "needs your confirmation" in mail["Subject"]
    assert f"{bench.settings.public_base_url}/posts/{post_id}" in mail.get_content()
    assert mail["Message-ID"] == f"<{notification.event_id}@directpost>"
    [hook] = receiver.received
    notify_webhook.verify(hook.body, hook.headers["x-directpost-signature"], SECRET)
    assert hook.headers["idempotency-key"] == notification.event_id
    body = json.loads(hook.body)
    assert body["event"] == "post.needs_confirmation"
    assert body["post"]["id"] == post_id and body["post"]["account"] == "demo-public"


async def test_a_failing_webhook_is_retried_with_growing_pauses_then_delivered(
    bench: Bench,
) -> None:
    bench.link("demo-public")
    with webhook_receiver(statuses=[500, 503]) as receiver:
        _channels(bench, webhook=receiver.url)
        await _needs_confirmation(bench)
        sender = _sender(bench)
        pauses = []
        for _ in range(50):
            await notify_delivery.deliver_due(bench.ctx.factory, sender, policy=FAST_RETRY)
            with bench.ctx.factory() as session:
                delivery = session.scalars(select(nstore.NotificationDelivery)).one()
            if delivery.state != nstore.PENDING:
                break
            pauses.append((delivery.attempts, delivery.next_try_at))
            await asyncio.sleep(0.05)
    assert delivery.state == nstore.DELIVERED and delivery.attempts == 3
    assert delivery.last_status == 200 and delivery.delivered_at is not None
    # The same event each time (the receiver drops repeats by its id), each signed anew.
    assert len({r.headers["idempotency-key"] for r in receiver.received}) == 1
    for hook in receiver.received:
        notify_webhook.verify(hook.body, hook.headers["x-directpost-signature"], SECRET)
    retry_at = {attempts: when for attempts, when in pauses}
    assert retry_at[2] - retry_at[1] >= timedelta(seconds=0.09)  # 0.05 s, then 0.1 s


async def test_a_webhook_that_never_answers_is_given_up_after_the_last_try(bench: Bench) -> None:
    bench.link("demo-public")
    with webhook_receiver(statuses=[500] * 10) as receiver:
        _channels(bench, webhook=receiver.url)
        await _needs_confirmation(bench)
        for _ in range(100):
            await notify_delivery.deliver_due(bench.ctx.factory, _sender(bench), policy=FAST_RETRY)
            with bench.ctx.factory() as session:
                delivery = session.scalars(select(nstore.NotificationDelivery)).one()
            if delivery.state != nstore.PENDING:
                break
            await asyncio.sleep(0.05)
    assert delivery.state == nstore.FAILED
    assert delivery.attempts == FAST_RETRY.max_attempts == len(receiver.received)
    assert delivery.last_error == "HTTP 500"


def test_backoff_doubles_up_to_its_cap_then_gives_up() -> None:
    policy = notify_delivery.RetryPolicy(base_s=30, cap_s=3600, max_attempts=8, jitter=0)
    now = utcnow()
    waits = [(policy.retry_at(n, now) or now) - now for n in range(1, 8)]
    assert [w.total_seconds() for w in waits] == [30, 60, 120, 240, 480, 960, 1920]
    assert policy.retry_at(8, now) is None


async def test_no_notification_carries_a_token_or_a_secret(bench: Bench) -> None:
    bench.link("demo-public")
    with smtp_catcher() as catcher, webhook_receiver() as receiver:
        _channels(bench, email="me@example.test", webhook=receiver.url)
        creator = await bench.creator_facts("demo-public")
        published = bench.submit(
            "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
        )
        assert (await bench.drive(published)).state == states.PUBLISHED
        await _needs_confirmation(bench)
        sender = _sender(bench, smtp_url=catcher.url, smtp_from="directpost@example.test")
        await notify_delivery.deliver_due(bench.ctx.factory, sender, policy=FAST_RETRY)

    with bench.ctx.factory() as session:
        account = accounts.find_account_by_open_id(session, open_id="demo-public")
        assert account is not None
        tokens = accounts.read_tokens(account, cipher=bench.ctx.cipher)
        attempt_tokens = [
            a.media_token
            for a in session.scalars(select(store.PublishAttempt))
            if a.media_token is not None
        ]
        rows = [
            str({c.name: getattr(n, c.name) for c in n.__table__.columns})
            for n in session.scalars(select(nstore.Notification))
        ] + [
            str({c.name: getattr(d, c.name) for c in d.__table__.columns})
            for d in session.scalars(select(nstore.NotificationDelivery))
        ]
    sent = [m.as_string() for m in catcher.messages] + [
        r.body.decode() + str(r.headers) for r in receiver.received
    ]
    assert len(catcher.messages) == 2 and len(receiver.received) == 2
    secrets = [tokens.access_token, tokens.refresh_token, SECRET, *attempt_tokens]
    secrets += [bench.settings.tiktok_client_secret.get_secret_value()]
    assert attempt_tokens, "the published post had a media URL token to look for"
    for text in rows + sent:
        for secret in secrets:
            assert secret not in text


async def test_webhook_addresses_on_private_networks_are_refused_in_production() -> None:
    refused = [
        "ftp://example.org/hook",
        "https://user:pw@example.org/hook",
        "http://example.org/hook",  # production: https only
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
    ]
    for url in refused:
        with pytest.raises(notify_webhook.TargetRefused):
            await notify_webhook.resolve_target(url, allow_private=False)
    # Demo mode, tests and development: a local receiver is fine.
    local = await notify_webhook.resolve_target("http://127.0.0.1:9/h", allow_private=True)
    assert local.url == "http://127.0.0.1:9/h"


async def test_a_checked_public_address_is_the_one_connected_to_with_the_name_kept() -> None:
    """DNS rebinding: the POST goes to the address that passed the check, the name only in
    `Host` (and TLS's server name)."""
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(204)

    target = notify_webhook.Target(url="https://hooks.example.org:8443/in", address="93.184.216.34")
    status = await notify_webhook.post_signed(
        target,
        b"{}",
        secret=SECRET,
        event_id="e1",
        delivery_id=1,
        transport=httpx2.MockTransport(answer),
    )
    [request] = seen
    assert status == 204
    assert request.url.host == "93.184.216.34" and request.url.port == 8443
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"


def test_a_signature_verifies_only_for_the_same_body_secret_and_a_recent_time() -> None:
    body = b'{"event":"post.failed"}'
    header = notify_webhook.sign(body, SECRET, timestamp=1_700_000_000)
    notify_webhook.verify(body, header, SECRET, now=1_700_000_100)
    for bad_body, bad_secret, now in (
        (body + b" ", SECRET, 1_700_000_100),
        (body, SECRET + "x", 1_700_000_100),
        (body, SECRET, 1_700_000_000 + 301),
    ):
        with pytest.raises(notify_webhook.SignatureError):
            notify_webhook.verify(bad_body, header, bad_secret, now=now)
    with pytest.raises(notify_webhook.SignatureError):
        notify_webhook.verify(body, "v1=abc", SECRET)
