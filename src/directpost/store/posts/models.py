"""The tables of publishing: posts, their consent records, publish attempts (with per-attempt
media URL tokens), webhook deliveries, shared rate-budget hits and per-creator publish leases.

Everything the publish pipeline knows lives in these rows, so a job that is killed at any point
can be run again and carries on from what the database says (conventions: "jobs load state").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from directpost.publishing.states import (
    FINAL_STATES,
)
from directpost.store.base import Base, UTCDateTime, utcnow


class Post(Base):
    """One post a creator asked for: the draft choices, schedule, state and TikTok's answers."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), index=True
    )
    #: The TikTok open_id of the account (webhooks name the account by it).
    open_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "video" | "photos"
    mode: Mapped[str] = mapped_column(String(16))  # "direct" | "inbox"
    #: The creator's choices (rules.Draft fields without media facts), as JSON.
    choices: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: What to send: [{"key", "filename", "content_type", "size"}] in MediaStore order.
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    upload_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The time the creator picked (UTC) and the zone they picked it in (shown back in it).
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: When a worker should next look at this post (schedule, retry backoff, next poll).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(32))
    #: Machine reason (fail_reason, error code) and the plain words shown to the creator.
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    reason_text: Mapped[str] = mapped_column(Text, default="")
    log_id: Mapped[str] = mapped_column(String(128), default="")
    publish_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    #: TikTok post ids, as strings (19-digit ints must never pass through a float).
    post_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    tiktok_status: Mapped[str] = mapped_column(String(32), default="")
    publicly_available: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Retries after transport trouble and status polls, for backoff.
    tries: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The job currently working on the post, until when (a killed job's claim runs out).
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: A worker queue already holds a job for this post until then (no duplicate jobs).
    enqueued_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Who prepared it when that was not the owner (issue 18): they are told how it ends.
    prepared_by: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    #: Every consent the creator gave for this post, oldest first (UX-5c): confirming again
    #: adds one and never rewrites an earlier one.
    consents: Mapped[list[PostConsent]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PostConsent.id"
    )
    attempts: Mapped[list[PublishAttempt]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PublishAttempt.number"
    )

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def consent(self) -> PostConsent | None:
        """The consent the post goes out under: the latest one."""
        return self.consents[-1] if self.consents else None


class PostConsent(Base):
    """What the creator saw when they pressed publish (UX-5c): recorded before anything is sent."""

    __tablename__ = "post_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    creator_info: Mapped[dict[str, Any]] = mapped_column(JSON)
    declaration: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[dict[str, Any]] = mapped_column(JSON)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    post: Mapped[Post] = relationship(back_populates="consents")


class PublishAttempt(Base):
    """One init sent (or about to be sent) to TikTok for a post, with its own media URL token."""

    __tablename__ = "publish_attempts"
    __table_args__ = (UniqueConstraint("post_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # PULL_FROM_URL | FILE_UPLOAD
    state: Mapped[str] = mapped_column(String(16))
    #: The per-attempt public media URL token (PULL_FROM_URL), unguessable, expiring, revocable.
    media_token: Mapped[str | None] = mapped_column(String(96), nullable=True, unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    token_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    publish_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    upload_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    upload_done: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    log_id: Mapped[str] = mapped_column(String(128), default="")
    #: Which media files our media service sent to their last byte for this attempt's URL, bit
    #: i for file i (at most 35): a pull TikTok reports failed before every file was sent may
    #: have failed because of us, and is retried (`lifecycle.pull_retry_allowed`).
    media_served: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    post: Mapped[Post] = relationship(back_populates="attempts")


class WebhookEvent(Base):
    """A webhook delivery we have applied, kept to drop TikTok's at-least-once duplicates."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    open_id: Mapped[str] = mapped_column(String(128), default="")
    publish_id: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RateBudgetHit(Base):
    """One request spent from a per-token sliding-minute budget (CAP-4), shared by all workers."""

    __tablename__ = "rate_budget_hits"
    __table_args__ = (Index("ix_rate_budget_hits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column()


class PublishLease(Base):
    """ "One publish at a time per creator": a lease on an account held by one worker.

    A lease expires, so a worker that was killed cannot block the creator forever.
    """

    __tablename__ = "publish_leases"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(64))
    post_id: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


#: Claims, leases, enqueued marks and the steps of a start (attempt written, answer stored,
#: tracking started) change rows no caller holds loaded in its session, so they are plain Core
#: statements on the tables: the ORM's unit of work and bulk-update machinery were the larger
#: part of a worker's CPU.
POSTS = cast(Table, Post.__table__)
ATTEMPTS = cast(Table, PublishAttempt.__table__)
LEASES = cast(Table, PublishLease.__table__)
#: The statements a job runs at every step are built once, with named parameters: SQLAlchemy
#: then builds each one's cache key once too (per execution that traversal was most of what a
#: statement cost in Python: a tenth of a worker's CPU for the caps query alone).
param = bindparam


def dialect(session: Session) -> str:
    """Which of the two databases the session talks to (their upserts are separate constructs)."""
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
