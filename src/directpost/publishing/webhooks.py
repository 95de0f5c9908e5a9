"""Applying TikTok's webhooks: verified, de-duplicated, and never moving a post backwards.

TikTok delivers at least once (spec §6.1), so every delivery is remembered by a hash of its
signed body: a duplicate, or a replay of a captured delivery, changes nothing. Events are applied
in one short transaction so the endpoint can answer 200 at once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from directpost import tiktok
from directpost.publishing import lifecycle, outcomes
from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow

log = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The delivery is not from TikTok for this app (bad or stale signature, wrong app)."""


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What happened to a delivery: applied, or ignored as a duplicate."""

    event: str
    duplicate: bool


def verify_delivery(
    body: bytes, header: str, *, client_key: str, client_secret: str, now: float | None = None
) -> tiktok.WebhookEvent:
    """Check the signature over the raw body and that the event is for this app."""
    try:
        event = tiktok.verify(body, header, client_secret, now=now)
    except tiktok.WebhookSignatureError as exc:
        raise WebhookRejected(str(exc)) from exc
    if client_key and event.client_key and event.client_key != client_key:
        raise WebhookRejected("the event is for another app")
    return event


def dedupe_key(body: bytes) -> str:
    """One key per distinct delivery (the signed body: TikTok's retries repeat it)."""
    return hashlib.sha256(body).hexdigest()


def apply_webhook(
    session: Session, *, body: bytes, event: tiktok.WebhookEvent, now: datetime | None = None
) -> WebhookResult:
    """Record and apply a verified event (the caller commits)."""
    now = now or utcnow()
    publish_id = str(getattr(event, "publish_id", "") or "")
    fresh = store.record_webhook_event(
        session,
        dedupe_key=dedupe_key(body),
        event=event.event[:64],
        open_id=event.user_openid[:128],
        publish_id=publish_id[:64],
    )
    if not fresh:
        return WebhookResult(event=event.event, duplicate=True)
    if isinstance(event, tiktok.AuthorizationRemovedEvent):
        authorization_removed(session, open_id=event.user_openid, now=now)
    elif publish_id:
        post = store.post_by_publish_id(session, publish_id=publish_id)
        if post is None:
            log.info("webhook %s for an unknown publish; ignored", event.event)
        else:
            _apply_publish_event(session, post, event, now)
    return WebhookResult(event=event.event, duplicate=False)


def _apply_publish_event(
    session: Session, post: store.Post, event: tiktok.WebhookEvent, now: datetime
) -> None:
    if not lifecycle.answer_is_current(post, str(getattr(event, "publish_id", "") or "")):
        log.info("webhook %s about an earlier publish of the post; kept only", event.event)
        return
    if post.publish_id is None and isinstance(event, tiktok.PublishCompleteEvent):
        post.publish_id = str(getattr(event, "publish_id", "")) or None
    answer = lifecycle.answer_from_event(event)
    if answer is None:
        return
    was_final = lifecycle.is_final(post.state)
    lifecycle.apply_answer(post, answer, now=now)
    if lifecycle.is_final(post.state) and not was_final:
        # Only the news that ended it frees the lease (a later "publicly available" after
        # "complete" would only repeat the statement).
        store.release_lease(session, account_id=post.account_id, post_id=post.id, now=now)


def authorization_removed(session: Session, *, open_id: str, now: datetime) -> int:
    """The creator removed this app in TikTok: delete the tokens at once, and every post that
    has not finished becomes "account disconnected" (DG-5). Returns how many posts moved."""
    account = accounts.find_account_by_open_id(session, open_id=open_id)
    if account is not None:
        accounts.forget_tokens(session, account_id=account.id, status="removed")
    moved = 0
    for post in store.unfinished_posts_for_open_id(session, open_id=open_id):
        lifecycle.end_with(post, outcomes.DISCONNECTED, now=now, code="authorization_removed")
        moved += 1
    return moved
