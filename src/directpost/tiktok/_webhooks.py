"""Webhook signatures and typed events.

https://developers.tiktok.com/doc/webhooks-verification and .../webhooks-events
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import WebhookSignatureError
from ._models import post_id_to_str

SIGNATURE_HEADER = "TikTok-Signature"


@dataclass(frozen=True)
class WebhookEvent:
    """Envelope fields common to every event; `content` is the decoded inner JSON object."""

    client_key: str
    event: str
    create_time: int
    """Event time, UTC epoch seconds."""
    user_openid: str
    content: dict[str, Any]


@dataclass(frozen=True)
class _PublishEvent(WebhookEvent):
    publish_id: str
    publish_type: str
    """`INBOX_SHARE` for uploads; `DIRECT_PUBLISH` seen for direct posts."""


@dataclass(frozen=True)
class PublishCompleteEvent(_PublishEvent):
    """`post.publish.complete`: posted (inbox flow: the user posted; may repeat)."""


@dataclass(frozen=True)
class PublishFailedEvent(_PublishEvent):
    """`post.publish.failed`, with the `fail_reason` in `reason`."""

    reason: str


@dataclass(frozen=True)
class InboxDeliveredEvent(_PublishEvent):
    """`post.publish.inbox_delivered`: the inbox notification reached the creator."""


@dataclass(frozen=True)
class PubliclyAvailableEvent(_PublishEvent):
    """`post.publish.publicly_available`: a post of this publish is public (id as a string)."""

    post_id: str


@dataclass(frozen=True)
class NoLongerPubliclyAvailableEvent(_PublishEvent):
    """`post.publish.no_longer_publicaly_available` (TikTok's spelling): no longer public."""

    post_id: str


@dataclass(frozen=True)
class AuthorizationRemovedEvent(WebhookEvent):
    """`authorization.removed`: the token is already revoked. reason 0–5 (5 = developer)."""

    reason: int


@dataclass(frozen=True)
class UnknownEvent(WebhookEvent):
    """Any other event (legacy Video Kit, data portability, future ones)."""


def _loads(raw: bytes | str) -> Any:
    # Decimal keeps any non-integer number exact, so nothing id-like is rounded through a float.
    return json.loads(raw, parse_float=Decimal)


def parse_event(payload: bytes) -> WebhookEvent:
    """Parse a webhook body: the envelope, then its `content`, which is a JSON *string*."""
    try:
        env = _loads(payload)
        if not isinstance(env, dict):
            raise TypeError("the body is not a JSON object")
        raw_content = env.get("content", "{}")
        content = _loads(raw_content) if isinstance(raw_content, str) else raw_content
        if not isinstance(content, dict):
            raise TypeError("content is not a JSON object")
        base: dict[str, Any] = {
            "client_key": str(env.get("client_key", "")),
            "event": str(env["event"]),
            "create_time": int(env.get("create_time", 0)),
            "user_openid": str(env.get("user_openid", "")),
            "content": content,
        }
        name = base["event"]
        if name.startswith("post.publish."):
            pub = {
                **base,
                "publish_id": str(content.get("publish_id", "")),
                "publish_type": str(content.get("publish_type", "")),
            }
            if name == "post.publish.complete":
                return PublishCompleteEvent(**pub)
            if name == "post.publish.failed":
                return PublishFailedEvent(**pub, reason=str(content.get("reason", "")))
            if name == "post.publish.inbox_delivered":
                return InboxDeliveredEvent(**pub)
            if name == "post.publish.publicly_available":
                return PubliclyAvailableEvent(**pub, post_id=post_id_to_str(content["post_id"]))
            if name in (
                "post.publish.no_longer_publicaly_available",
                "post.publish.no_longer_publicly_available",
            ):
                return NoLongerPubliclyAvailableEvent(
                    **pub, post_id=post_id_to_str(content["post_id"])
                )
        if name == "authorization.removed":
            return AuthorizationRemovedEvent(**base, reason=int(content.get("reason", 0)))
        return UnknownEvent(**base)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a TikTok webhook event: {exc}") from exc
    except RecursionError as exc:  # nested deeper than any event: refused, not a crash
        raise ValueError("not a TikTok webhook event: nested too deeply") from exc


def _digest(payload: bytes, secret: str, timestamp: str) -> str:
    signed = timestamp.encode("ascii") + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, *, timestamp: int) -> str:
    """The `TikTok-Signature` header value for `payload` (for tests and emulators)."""
    return f"t={timestamp},s={_digest(payload, secret, str(timestamp))}"


def verify(
    payload: bytes,
    header: str,
    secret: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> WebhookEvent:
    """Check a webhook's signature over the raw body bytes, then parse it.

    Raises `WebhookSignatureError` when the header is missing or malformed, the signature does not
    match (constant-time compare), or its timestamp is more than `tolerance` seconds from `now`.
    """
    if not secret:
        raise WebhookSignatureError("no client secret configured to verify webhooks with")
    fields: dict[str, str] = {}
    for part in (header or "").split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    t, s = fields.get("t", ""), fields.get("s", "")
    if not t.isdigit() or not s:
        raise WebhookSignatureError("TikTok-Signature header missing or not of the form t=…,s=…")
    if not hmac.compare_digest(_digest(payload, secret, t).encode(), s.lower().encode()):
        raise WebhookSignatureError("TikTok-Signature does not match the body")
    current = time.time() if now is None else now
    if abs(current - int(t)) > tolerance:
        raise WebhookSignatureError(
            f"TikTok-Signature timestamp is {int(current - int(t))} s away from now "
            f"(tolerance {tolerance} s): stale or replayed"
        )
    try:
        return parse_event(payload)
    except ValueError as exc:
        raise WebhookSignatureError(f"signed body is not a valid event: {exc}") from exc
