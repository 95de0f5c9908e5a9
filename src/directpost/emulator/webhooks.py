"""Webhook delivery: signed exactly as spec §6.4, retried with backoff until a 200 (bounded).

Every attempt is recorded on the delivery (time, status or error, start of the answer), so
tests and people can read back what the app was sent and how it answered.
"""

from __future__ import annotations

import asyncio
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


async def deliver(backend: Backend, delivery: WebhookDelivery) -> None:
    """Send one event until the app answers 200 or the retry schedule runs out."""
    generation = backend.generation
    delays = backend.config.webhook_retry_delays_s
    for attempt in range(len(delays) + 1):
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
        record: dict[str, object] = {"attempt": attempt + 1, "at": backend.now()}
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
        if status == 200:
            delivery.delivered = True
            return
        if attempt < len(delays):
            await asyncio.sleep(delays[attempt])
    delivery.gave_up = True
