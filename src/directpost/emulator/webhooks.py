"""Webhook delivery: one signed attempt at a time (spec §6.4), every attempt recorded.

An attempt that is not answered 200 is tried again when the backend's schedule says
(``backend/webhook_events.py``: on the emulator clock, TikTok's "exponential backoff for up to
72 hours"). Every attempt is recorded on the delivery (emulator time, status or error, start of
the answer), so tests and people can read back what the app was sent and how it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time

from . import _outbound
from .backend import Backend
from .state import WebhookDelivery


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix seconds>,s=<hex HMAC-SHA256(secret, t + "." + body)>``."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},s={digest}"


#: Deliveries some other delivery waits to follow: set once their first attempt is answered.
_first_attempt_done: dict[int, asyncio.Event] = {}


async def _after(backend: Backend, delivery: WebhookDelivery) -> None:
    """Wait until the delivery this one must follow (a fault's order) made its first attempt;
    bounded by one attempt's time-out, so a lost or delayed predecessor blocks nothing."""
    if delivery.send_after is None:
        return
    previous = next((d for d in backend.deliveries if d.delivery_id == delivery.send_after), None)
    if previous is None or previous.attempts or previous.gave_up:
        return
    done = _first_attempt_done.setdefault(id(previous), asyncio.Event())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), backend.config.webhook_timeout_s + 1)


async def deliver(backend: Backend, delivery: WebhookDelivery, *, retry: bool = True) -> None:
    """One attempt to send the event; unless answered 200, the next is scheduled (``retry``)
    or the delivery gives up."""
    generation = backend.generation
    await _after(backend, delivery)
    app = backend.apps.get(delivery.client_key)
    if app is None or backend.generation != generation:
        return
    # Real wall time, not emulator time: the receiver checks freshness against its own clock,
    # and a test that advanced the emulator clock must still get verifiable webhooks.
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "directpost-emulator-webhooks/1",
        "TikTok-Signature": signature_header(app.client_secret, delivery.body, timestamp),
    }
    record: dict[str, object] = {"attempt": len(delivery.attempts) + 1, "at": backend.now()}
    try:
        status, text = await _outbound.post_webhook(
            delivery.url, delivery.body, headers, timeout_s=backend.config.webhook_timeout_s
        )
        record.update(status=status, response=text)
    except _outbound.HTTPError as exc:
        status = 0
        record.update(status=None, error=f"{type(exc).__name__}: {exc}")
    if backend.generation != generation:
        return
    delivery.attempts.append(record)
    follower = _first_attempt_done.pop(id(delivery), None)
    if follower is not None:
        follower.set()
    if status == 200:
        delivery.delivered = True
    elif not retry or not backend.schedule_retry(delivery):
        delivery.gave_up = True


async def send_test(backend: Backend, delivery: WebhookDelivery) -> WebhookDelivery:
    """The developer portal's "Test URL → Send": one attempt, its answer shown, no retries."""
    await deliver(backend, delivery, retry=False)
    return delivery
