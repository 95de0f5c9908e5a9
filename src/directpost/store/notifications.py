"""Telling a person what happened to their posts: their channel settings, the notifications
(an outbox written in the transaction that moves the post) and each channel's deliveries.

- `notification_settings`: one row per person who changed the defaults (in the app: on; e-mail
  and webhook: off). The webhook's signing secret is kept encrypted with the token cipher (the
  app must sign with it, so a hash would not do) and never leaves the row in clear except
  once, to the person, when it is made.
- `notifications`: one row per event (`post.needs_confirmation`, `post.failed`,
  `post.published`, `test`), with what the person needs to know about the post and nothing
  secret: no token, no media URL, no publish_id. `in_app` rows make the list and the badge.
- `notification_deliveries`: one row per channel an event goes to (e-mail, webhook), claimed
  by a worker like the posts are (a conditional UPDATE), with attempts, the next try, the last
  error and when it was delivered.

Every table hangs off `person_id` (ON DELETE CASCADE): the export and "delete everything"
cover them (`store.person_data`, DG-5); the secret column is left out of the export by name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CursorResult,
    ForeignKey,
    Index,
    Integer,
    ScalarSelect,
    String,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column, relationship

from directpost.store.base import Base, UTCDateTime, utcnow
from directpost.store.crypto import TokenCipher

#: The channels a notification can go out by besides the app itself.
EMAIL = "email"
WEBHOOK = "webhook"
#: A delivery's states: waiting for its (next) try, done, given up, or no longer wanted (the
#: person turned the channel off or changed its address before it went).
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"


class NotificationSettings(Base):
    """A person's channels. No row: the defaults (in the app only)."""

    __tablename__ = "notification_settings"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Empty: no e-mail.
    email_address: Mapped[str] = mapped_column(String(254), default="")
    #: Empty: no webhook.
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    #: The webhook's HMAC secret, encrypted (Fernet, the token cipher's keys).
    webhook_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(Base):
    """One event about one of the person's posts (or a test the person asked for)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_person_inbox", "person_id", "in_app", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    #: The prepared post it is about (issue 18: confirmed, rejected; its post's end).
    prepared_id: Mapped[int | None] = mapped_column(
        ForeignKey("prepared_posts.id", ondelete="CASCADE"), nullable=True
    )
    #: The event's id, sent with every delivery (webhook `Idempotency-Key`, e-mail Message-ID):
    #: a receiver drops a retry it has already seen.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    account_name: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deliveries: Mapped[list[NotificationDelivery]] = relationship(
        back_populates="notification", cascade="all, delete-orphan", passive_deletes=True
    )


class NotificationDelivery(Base):
    """One event on its way by one channel, tried until delivered or given up."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    #: Copied from the notification so the person's deliveries are found (and deleted) alike.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: The address or URL as it was set when the event happened (shown in the list).
    target: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: A worker is sending it until then (a killed worker's claim runs out).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Channels:
    """A person's channels as the code that records an event needs them (no secret)."""

    in_app: bool = True
    email_address: str = ""
    webhook_url: str = ""


def channels_of(row: NotificationSettings | None) -> Channels:
    if row is None:
        return Channels()
    return Channels(
        in_app=row.in_app,
        email_address=row.email_address,
        webhook_url=row.webhook_url if row.webhook_secret_enc else "",
    )


def get_settings(session: Session, *, person_id: int) -> NotificationSettings | None:
    return session.get(NotificationSettings, person_id)


def settings_for_update(session: Session, *, person_id: int) -> NotificationSettings:
    """The person's row, made with the defaults when they have none yet."""
    row = session.get(NotificationSettings, person_id)
    if row is None:
        row = NotificationSettings(person_id=person_id, in_app=True, email_address="")
        row.webhook_url = ""
        session.add(row)
    return row


def cancel_pending(session: Session, *, person_id: int, channel: str, now: datetime) -> int:
    """Deliveries of a channel the person turned off or pointed elsewhere do not go out."""
    result = session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.person_id == person_id,
            NotificationDelivery.channel == channel,
            NotificationDelivery.state == PENDING,
        )
        .values(state=CANCELLED, last_error="The setting changed before it was sent.")
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def webhook_secret(row: NotificationSettings, *, cipher: TokenCipher) -> str | None:
    """The webhook's signing secret in clear (for signing only; never for a page)."""
    return cipher.decrypt(row.webhook_secret_enc) if row.webhook_secret_enc else None


def reencrypt_secrets(session: Session, *, cipher: TokenCipher) -> int:
    """Re-encrypt every webhook secret under the cipher's current key (`rotate-keys`)."""
    count = 0
    rows = session.scalars(
        select(NotificationSettings).where(NotificationSettings.webhook_secret_enc.is_not(None))
    )
    for row in rows:
        assert row.webhook_secret_enc is not None
        row.webhook_secret_enc = cipher.rotate(row.webhook_secret_enc)
        count += 1
    return count


# --- recording an event --------------------------------------------------------------------------


def add_notification(
    session: Session,
    *,
    person_id: int,
    channels: Channels,
    event: str,
    now: datetime,
    post_id: int | None = None,
    state: str = "",
    title: str = "",
    account_name: str = "",
    reason: str = "",
    scheduled_at: datetime | None = None,
    only: str | None = None,
) -> Notification:
    """Add an event and a delivery per channel the person has (`only`: that channel alone, for
    a test); written by the caller's transaction, sent later by a worker."""
    notification = Notification(
        person_id=person_id,
        post_id=post_id,
        event_id=str(uuid.uuid4()),
        event=event,
        state=state,
        title=title[:200],
        account_name=account_name[:200],
        reason=reason,
        scheduled_at=scheduled_at,
        in_app=channels.in_app and only is None,
        created_at=now,
    )
    for channel, target in ((EMAIL, channels.email_address), (WEBHOOK, channels.webhook_url)):
        if target and only in (None, channel):
            notification.deliveries.append(
                NotificationDelivery(
                    person_id=person_id,
                    channel=channel,
                    target=target,
                    state=PENDING,
                    attempts=0,
                    next_try_at=now,
                    created_at=now,
                    last_error="",
                )
            )
    session.add(notification)
    return notification


def record_event(
    session: Session,
    *,
    person_id: int,
    channels: Channels,
    event: str,
    now: datetime,
    post_id: int,
    state: str,
    title: str,
    account_name: str,
    reason: str,
    scheduled_at: datetime | None,
) -> None:
    """`add_notification` for a post's move, as plain inserts in the move's transaction: no
    objects built, one statement when the person has no e-mail or webhook (the usual case),
    two when they do. Every published post passes here (bench/publish_scale.py)."""
    values = {
        "person_id": person_id,
        "post_id": post_id,
        "event_id": str(uuid.uuid4()),
        "event": event,
        "state": state,
        "title": title[:200],
        "account_name": account_name[:200],
        "reason": reason,
        "scheduled_at": scheduled_at,
        "in_app": channels.in_app,
        "created_at": now,
    }
    targets = [
        (channel, target)
        for channel, target in ((EMAIL, channels.email_address), (WEBHOOK, channels.webhook_url))
        if target
    ]
    if not targets:
        session.execute(insert(Notification).values(values))
        return
    made = session.execute(insert(Notification).values(values).returning(Notification.id))
    notification_id = made.scalar_one()
    session.execute(
        insert(NotificationDelivery),
        [
            {
                "notification_id": notification_id,
                "person_id": person_id,
                "channel": channel,
                "target": target,
                "state": PENDING,
                "attempts": 0,
                "next_try_at": now,
                "created_at": now,
                "last_error": "",
            }
            for channel, target in targets
        ],
    )


# --- the in-app list -----------------------------------------------------------------------------


def unread_count_of(
    person_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ScalarSelect[int]:
    """The person's unread in-app notifications, as a subquery that a page's one statement
    reads beside the person (the header's badge costs no statement of its own)."""
    return (
        select(func.count(Notification.id))
        .where(
            Notification.person_id == person_id,
            Notification.in_app.is_(True),
            Notification.read_at.is_(None),
        )
        .correlate_except(Notification)
        .scalar_subquery()
    )


def list_notifications(session: Session, *, person_id: int, limit: int = 50) -> list[Notification]:
    """The person's in-app notifications, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.person_id == person_id, Notification.in_app.is_(True))
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, *, person_id: int, now: datetime) -> int:
    """Every unread in-app notification of the person is read now."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.person_id == person_id,
            Notification.in_app.is_(True),
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def recent_deliveries(
    session: Session, *, person_id: int, limit: int = 20
) -> list[tuple[NotificationDelivery, Notification]]:
    """The person's latest deliveries with their events, newest first."""
    rows = session.execute(
        select(NotificationDelivery, Notification)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.person_id == person_id)
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


# --- the worker's side -----------------------------------------------------------------------------


def claim_due_deliveries(
    session: Session, *, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    """Claim deliveries whose try is due (one conditional UPDATE per batch: a delivery another
    worker claimed meanwhile is not taken twice); returns their ids."""
    claimable = (
        (NotificationDelivery.state == PENDING)
        & (NotificationDelivery.next_try_at <= now)
        & (
            NotificationDelivery.claimed_until.is_(None)
            | (NotificationDelivery.claimed_until < now)
        )
    )
    ids = list(
        session.scalars(
            select(NotificationDelivery.id)
            .where(claimable)
            .order_by(NotificationDelivery.next_try_at)
            .limit(limit)
        )
    )
    if not ids:
        return []
    claimed = session.scalars(
        update(NotificationDelivery)
        .where(NotificationDelivery.id.in_(ids), claimable)
        .values(claimed_until=now + lease)
        .returning(NotificationDelivery.id)
    )
    return sorted(claimed)


def get_delivery(session: Session, *, delivery_id: int) -> NotificationDelivery | None:
    return session.get(NotificationDelivery, delivery_id)


def record_attempt(
    delivery: NotificationDelivery,
    *,
    now: datetime,
    error: str,
    status: int | None,
    retry_at: datetime | None,
) -> None:
    """What one try gave: delivered (no error), tried again at `retry_at`, or given up."""
    delivery.attempts += 1
    delivery.claimed_until = None
    delivery.last_status = status
    delivery.last_error = error[:500]
    if not error:
        delivery.state = DELIVERED
        delivery.delivered_at = now
    elif retry_at is None:
        delivery.state = FAILED
    else:
        delivery.next_try_at = retry_at
