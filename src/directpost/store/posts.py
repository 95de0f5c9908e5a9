"""Posts, their consent records, publish attempts, per-attempt media URLs, webhook events,
shared rate budgets and per-creator publish leases: the durable state of publishing.

Everything the publish pipeline knows lives in these rows, so a job that is killed at any point
can be run again and carries on from what the database says (conventions: "jobs load state").

Functions take keyword-only arguments and a `Session`; the caller owns the transaction.
Every read a page makes is scoped to the signed-in person (`person_id`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from directpost.store.base import Base, UTCDateTime, utcnow

# Post states. The publishing part gives them meaning; they live here so queries can use them.
SCHEDULED = "scheduled"  # waiting for its time
QUEUED = "queued"  # due; a job will pick it up
PUBLISHING = "publishing"  # a job is talking to TikTok (token, creator_info, init, transfer)
PROCESSING = "processing"  # TikTok has a publish_id and is processing it
NEEDS_CONFIRMATION = "needs_confirmation"  # creator's settings changed; they must re-confirm
TRY_LATER = "try_later"  # a TikTok cap said "not now" (CAP-3): never retried blindly
PUBLISHED = "published"  # PUBLISH_COMPLETE (direct post)
SENT_TO_INBOX = "sent_to_inbox"  # SEND_TO_USER_INBOX: final for drafts
FAILED = "failed"
CANCELLED = "cancelled"
DISCONNECTED = "disconnected"  # authorization removed / account disconnected (DG-5)

#: States in which nothing more will happen without the creator acting.
FINAL_STATES = frozenset(
    {PUBLISHED, SENT_TO_INBOX, FAILED, CANCELLED, DISCONNECTED, TRY_LATER, NEEDS_CONFIRMATION}
)
#: States in which a worker still has something to do.
ACTIVE_STATES = frozenset({QUEUED, PUBLISHING, PROCESSING})
#: States a scheduled post may still be edited or cancelled in.
EDITABLE_STATES = frozenset({SCHEDULED, QUEUED, NEEDS_CONFIRMATION, TRY_LATER})

# Attempt states (architecture.md "No duplicate posts").
INIT_SENT = "init_sent"  # written BEFORE the init request leaves
AMBIGUOUS = "ambiguous"  # the init's answer was lost: may or may not exist at TikTok
CONFIRMED = "confirmed"  # TikTok answered with a publish_id, stored before anything else
REJECTED = "rejected"  # TikTok answered the init with an error: nothing exists there
FINISHED = "finished"  # a confirmed publish that TikTok ended; the post was confirmed anew


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    consent: Mapped[PostConsent | None] = relationship(
        back_populates="post", cascade="all, delete-orphan", uselist=False
    )
    attempts: Mapped[list[PublishAttempt]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PublishAttempt.number"
    )

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class PostConsent(Base):
    """What the creator saw when they pressed publish (UX-5c): recorded before anything is sent."""

    __tablename__ = "post_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), unique=True, index=True
    )
    creator_info: Mapped[dict[str, Any]] = mapped_column(JSON)
    declaration: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[dict[str, Any]] = mapped_column(JSON)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    post: Mapped[Post] = relationship(back_populates="consent")


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
_POSTS = cast(Table, Post.__table__)
_ATTEMPTS = cast(Table, PublishAttempt.__table__)
_LEASES = cast(Table, PublishLease.__table__)
#: The statements a job runs at every step are built once, with named parameters: SQLAlchemy
#: then builds each one's cache key once too (per execution that traversal was most of what a
#: statement cost in Python: a tenth of a worker's CPU for the caps query alone).
_param = bindparam


# ---------------------------------------------------------------------------------------------
# Posts


def create_post(
    session: Session,
    *,
    person_id: int,
    account_id: int,
    open_id: str,
    kind: str,
    mode: str,
    choices: dict[str, Any],
    media: list[dict[str, Any]],
    upload_id: str | None,
    scheduled_at: datetime | None,
    time_zone: str,
    creator_info: dict[str, Any],
    declaration: str,
    label: str,
    now: datetime | None = None,
) -> Post:
    """Store a post with its consent record (UX-5c). Nothing has been sent to TikTok yet."""
    now = now or utcnow()
    post = Post(
        person_id=person_id,
        account_id=account_id,
        open_id=open_id,
        kind=kind,
        mode=mode,
        choices=choices,
        media=media,
        upload_id=upload_id,
        scheduled_at=scheduled_at,
        time_zone=time_zone,
        due_at=scheduled_at if scheduled_at and scheduled_at > now else now,
        state=SCHEDULED if scheduled_at and scheduled_at > now else QUEUED,
        post_ids=[],
        created_at=now,
        updated_at=now,
    )
    post.consent = PostConsent(
        creator_info=creator_info,
        declaration=declaration,
        label=label,
        choices=choices,
        consented_at=now,
    )
    session.add(post)
    session.flush()
    return post


def get_post(session: Session, *, post_id: int, person_id: int | None = None) -> Post | None:
    """A post by id; with `person_id`, only if it belongs to that person (else None)."""
    query = select(Post).where(Post.id == post_id)
    if person_id is not None:
        query = query.where(Post.person_id == person_id)
    return session.scalars(query).first()


@dataclass(frozen=True, slots=True)
class PostProgress:
    """Where a post stands, without loading the post (jobs read this at every claim and end)."""

    state: str
    due_at: datetime
    account_id: int


_PROGRESS = select(_POSTS.c.state, _POSTS.c.due_at, _POSTS.c.account_id).where(
    _POSTS.c.id == _param("post_id")
)


def post_progress(session: Session, *, post_id: int) -> PostProgress | None:
    row = session.execute(_PROGRESS, {"post_id": post_id}).first()
    return PostProgress(*row) if row is not None else None


def list_posts(session: Session, *, person_id: int, limit: int = 100) -> list[Post]:
    """The person's posts, newest first."""
    query = (
        select(Post)
        .where(Post.person_id == person_id)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def post_by_publish_id(session: Session, *, publish_id: str) -> Post | None:
    """The post a TikTok publish_id belongs to (from any of its confirmed attempts)."""
    post = session.scalars(select(Post).where(Post.publish_id == publish_id)).first()
    if post is not None:
        return post
    attempt = session.scalars(
        select(PublishAttempt).where(PublishAttempt.publish_id == publish_id)
    ).first()
    return attempt.post if attempt is not None else None


def due_post_ids(session: Session, *, now: datetime, limit: int = 500) -> list[int]:
    """Posts a worker should look at now: scheduled ones whose time has come, queued ones,
    and active ones whose next check is due (a killed worker's posts come back this way)."""
    query = (
        select(Post.id)
        .where(Post.state.in_((SCHEDULED, QUEUED, PUBLISHING, PROCESSING)), Post.due_at <= now)
        .order_by(Post.due_at, Post.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def unfinished_posts_for_account(session: Session, *, account_id: int) -> list[Post]:
    query = select(Post).where(
        Post.account_id == account_id, Post.state.not_in(tuple(FINAL_STATES))
    )
    return list(session.scalars(query))


def unfinished_posts_for_open_id(session: Session, *, open_id: str) -> list[Post]:
    query = select(Post).where(Post.open_id == open_id, Post.state.not_in(tuple(FINAL_STATES)))
    return list(session.scalars(query))


def set_state(
    post: Post,
    *,
    state: str,
    reason_code: str = "",
    reason_text: str = "",
    log_id: str | None = None,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Move a post to `state` with the reason shown to the creator."""
    now = now or utcnow()
    post.state = state
    post.reason_code = reason_code
    post.reason_text = reason_text
    if log_id is not None:
        post.log_id = log_id
    if due_at is not None:
        post.due_at = due_at
    if state in FINAL_STATES:
        post.finished_at = now
    post.updated_at = now


# ---------------------------------------------------------------------------------------------
# Caps (CAP-1, CAP-3, CAP-5): counted from our own records


#: Attempt states that mean the post reached TikTok (or may have: an unanswered init counts).
_REACHED = (CONFIRMED, AMBIGUOUS, INIT_SENT, FINISHED)


@dataclass(frozen=True, slots=True)
class CapStanding:
    """What the caps are counted from (CAP-1, CAP-3, CAP-5), for one creator over a period."""

    #: Accounts that have started a publish through this app.
    creators_posted: int
    #: Whether this creator is one of them.
    creator_posted: bool
    #: This creator's posts that reached TikTok and did not fail or get cancelled.
    started: int
    #: The same, for drafts sent to the creator's inbox.
    inbox_started: int


def _cap_standing_statement() -> Any:
    def started(*columns: Any) -> Any:
        return (
            select(*columns)
            .join(PublishAttempt, PublishAttempt.post_id == Post.id)
            .where(PublishAttempt.created_at >= _param("since", type_=UTCDateTime()))
        )

    reached = started(func.count(func.distinct(Post.id))).where(
        Post.open_id == _param("open_id"),
        PublishAttempt.state.in_(_REACHED),
        Post.state.not_in((FAILED, CANCELLED)),
    )
    return select(
        started(func.count(func.distinct(Post.open_id))).scalar_subquery(),
        started(Post.id).where(Post.open_id == _param("open_id")).exists(),
        reached.scalar_subquery(),
        reached.where(Post.mode == "inbox").scalar_subquery(),
    )


_CAP_STANDING = _cap_standing_statement()


def cap_standing(session: Session, *, open_id: str, since: datetime) -> CapStanding:
    """Counted by the database in one statement: every start asks, and the number of
    accounts grows with the app."""
    creators, mine, posts, inbox = session.execute(
        _CAP_STANDING, {"open_id": open_id, "since": since}
    ).one()
    return CapStanding(int(creators or 0), bool(mine), int(posts or 0), int(inbox or 0))


# ---------------------------------------------------------------------------------------------
# Attempts and their media URLs


def new_attempt(
    session: Session,
    *,
    post: Post,
    source: str,
    media_token: str | None,
    token_expires_at: datetime | None,
    now: datetime | None = None,
) -> PublishAttempt:
    """`insert_attempt` for a loaded post: returns the attempt, also in `post.attempts`."""
    attempt_id = insert_attempt(
        session,
        post_id=post.id,
        source=source,
        media_token=media_token,
        token_expires_at=token_expires_at,
        now=now or utcnow(),
    )
    session.expire(post, ["attempts"])
    attempt = session.get(PublishAttempt, attempt_id)
    assert attempt is not None
    return attempt


_INSERT_ATTEMPT = (
    _ATTEMPTS.insert()
    .values(
        post_id=_param("post_id"),
        number=select(func.coalesce(func.max(_ATTEMPTS.c.number), 0) + 1)
        .where(_ATTEMPTS.c.post_id == _param("post_id"))
        .scalar_subquery(),
        source=_param("source"),
        state=INIT_SENT,
        media_token=_param("media_token"),
        token_expires_at=_param("token_expires_at"),
        created_at=_param("now"),
    )
    .returning(_ATTEMPTS.c.id)
)


def insert_attempt(
    session: Session,
    *,
    post_id: int,
    source: str,
    media_token: str | None,
    token_expires_at: datetime | None,
    now: datetime,
) -> int:
    """Write the attempt as INIT_SENT before its init leaves, so a crash leaves a trace; one
    statement, numbered after the post's earlier attempts. Returns its id."""
    added = session.execute(
        _INSERT_ATTEMPT,
        {
            "post_id": post_id,
            "source": source,
            "media_token": media_token,
            "token_expires_at": token_expires_at,
            "now": now,
        },
    )
    return int(added.scalar_one())


_CONFIRM_ATTEMPT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == _param("attempt_id"))
    .values(state=CONFIRMED, publish_id=_param("publish_id"), upload_url=_param("upload_url"))
)
_POST_PUBLISH_ID = (
    update(_POSTS)
    .where(_POSTS.c.id == _param("post_id"))
    .values(publish_id=_param("publish_id"), updated_at=_param("now"))
)


def confirm_attempt(
    session: Session,
    *,
    post_id: int,
    attempt_id: int,
    publish_id: str,
    upload_url: str | None,
    now: datetime,
) -> bool:
    """Store TikTok's answer to an init (its `publish_id` on the attempt and on the post);
    False when the post is gone."""
    session.execute(
        _CONFIRM_ATTEMPT,
        {"attempt_id": attempt_id, "publish_id": publish_id, "upload_url": upload_url},
    )
    changed = session.execute(
        _POST_PUBLISH_ID, {"post_id": post_id, "publish_id": publish_id, "now": now}
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


_START_TRACKING = (
    update(_POSTS)
    .where(_POSTS.c.id == _param("post_id"))
    .values(
        state=PROCESSING,
        reason_code="",
        reason_text="",
        due_at=_param("next_look"),
        tries=0,
        updated_at=_param("now"),
    )
)


def start_tracking(
    session: Session, *, post_id: int, account_id: int, next_look: datetime, now: datetime
) -> None:
    """The publish is with TikTok: the post is processing (looked at again at `next_look`),
    and the creator's lease is free for the next post."""
    session.execute(_START_TRACKING, {"post_id": post_id, "next_look": next_look, "now": now})
    release_lease(session, account_id=account_id, post_id=post_id)


@dataclass(frozen=True, slots=True)
class PostToStart:
    """What starting a publish reads of a post. Kind, mode, media and choices cannot change
    while it publishes (only scheduled posts are editable); a cancel can, so it is read again
    right before the init (`cancel_requested`)."""

    id: int
    account_id: int
    open_id: str
    kind: str
    mode: str
    media: list[dict[str, Any]]
    choices: dict[str, Any]
    state: str
    cancel_requested: bool


_POST_TO_START = select(
    _POSTS.c.id,
    _POSTS.c.account_id,
    _POSTS.c.open_id,
    _POSTS.c.kind,
    _POSTS.c.mode,
    _POSTS.c.media,
    _POSTS.c.choices,
    _POSTS.c.state,
    _POSTS.c.cancel_requested,
).where(_POSTS.c.id == _param("post_id"))


def post_to_start(session: Session, *, post_id: int) -> PostToStart | None:
    row = session.execute(_POST_TO_START, {"post_id": post_id}).first()
    return PostToStart(*row) if row is not None else None


_ATTEMPT_STATES = (
    select(_ATTEMPTS.c.id, _ATTEMPTS.c.state)
    .where(_ATTEMPTS.c.post_id == _param("post_id"))
    .order_by(_ATTEMPTS.c.number)
)


def attempt_states(session: Session, *, post_id: int) -> list[tuple[int, str]]:
    """The post's attempts as (id, state), oldest first."""
    rows = session.execute(_ATTEMPT_STATES, {"post_id": post_id}).all()
    return [(attempt_id, state) for attempt_id, state in rows]


_MARK_UNANSWERED_AMBIGUOUS = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.post_id == _param("for_post"), _ATTEMPTS.c.state == INIT_SENT)
    .values(
        state=AMBIGUOUS,
        token_revoked_at=case(
            (
                _ATTEMPTS.c.media_token.is_not(None) & _ATTEMPTS.c.token_revoked_at.is_(None),
                _param("now", type_=UTCDateTime()),
            ),
            else_=_ATTEMPTS.c.token_revoked_at,
        ),
    )
)


def mark_unanswered_ambiguous(session: Session, *, post_id: int, now: datetime) -> None:
    """Attempts whose init was sent but never answered become ambiguous, their media URLs
    revoked (`revoke_attempt_url`), so such a ghost publish can only fail."""
    session.execute(_MARK_UNANSWERED_AMBIGUOUS, {"for_post": post_id, "now": now})


_MARK_PUBLISHING = (
    update(_POSTS)
    .where(_POSTS.c.id == _param("post_id"), _POSTS.c.state != PUBLISHING)
    .values(
        state=PUBLISHING,
        reason_code="",
        reason_text="",
        updated_at=_param("now"),
        started_at=func.coalesce(_POSTS.c.started_at, _param("now", type_=UTCDateTime())),
    )
)


def mark_publishing(session: Session, *, post_id: int, now: datetime) -> None:
    """A job has taken the creator's lease for the post: it is publishing (since `now`, unless
    an earlier run started it)."""
    session.execute(_MARK_PUBLISHING, {"post_id": post_id, "now": now})


_CANCEL_REQUESTED = select(_POSTS.c.cancel_requested).where(_POSTS.c.id == _param("post_id"))


def cancel_requested(session: Session, *, post_id: int) -> bool | None:
    """Whether the creator asked to cancel the post (None: no such post)."""
    return session.execute(_CANCEL_REQUESTED, {"post_id": post_id}).scalar_one_or_none()


def revoke_attempt_url(attempt: PublishAttempt, *, now: datetime | None = None) -> None:
    """Make the attempt's media URL answer 404 from now on (an ambiguous init's ghost must fail)."""
    if attempt.media_token is not None and attempt.token_revoked_at is None:
        attempt.token_revoked_at = now or utcnow()


@dataclass(frozen=True, slots=True)
class MediaGrant:
    """What a valid per-attempt media URL may serve."""

    post_id: int
    media: list[dict[str, Any]]
    #: TikTok's answer to this attempt's init is stored (only then are bytes served).
    confirmed: bool


_MEDIA_FOR_TOKEN = (
    select(
        PublishAttempt.post_id,
        PublishAttempt.state,
        PublishAttempt.token_revoked_at,
        PublishAttempt.token_expires_at,
        Post.media,
    )
    .join(Post, Post.id == PublishAttempt.post_id)
    .where(PublishAttempt.media_token == _param("token"))
)


def media_for_token(
    session: Session, *, token: str, now: datetime | None = None
) -> MediaGrant | None:
    """The media a per-attempt URL token may serve, or None if unknown, expired or revoked.

    One plain query (no objects loaded): TikTok's pulls may ask several times while the init's
    answer is on its way.
    """
    now = now or utcnow()
    row = session.execute(_MEDIA_FOR_TOKEN, {"token": token}).first()
    if row is None:
        return None
    post_id, state, revoked_at, expires_at, media = row
    if revoked_at is not None or expires_at is None or expires_at <= now:
        return None
    if state not in (INIT_SENT, CONFIRMED):
        return None
    return MediaGrant(post_id=post_id, media=list(media), confirmed=state == CONFIRMED)


# ---------------------------------------------------------------------------------------------
# Webhook de-duplication


def _record_webhook_statement(insert: Any) -> Any:
    table = cast(Table, WebhookEvent.__table__)
    return (
        insert(table)
        .values(
            dedupe_key=_param("dedupe_key"),
            event=_param("event"),
            open_id=_param("open_id"),
            publish_id=_param("publish_id"),
            received_at=_param("now"),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )


_RECORD_WEBHOOK = {
    "postgresql": _record_webhook_statement(pg_insert),
    "sqlite": _record_webhook_statement(sqlite_insert),
}


def record_webhook_event(
    session: Session, *, dedupe_key: str, event: str, open_id: str, publish_id: str
) -> bool:
    """Remember a delivery; False when the same delivery was already recorded (a duplicate).

    One INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite both have it): no savepoint
    round trips on the path that must answer TikTok fast.
    """
    added = session.execute(
        _RECORD_WEBHOOK[_dialect(session)],
        {
            "dedupe_key": dedupe_key,
            "event": event,
            "open_id": open_id,
            "publish_id": publish_id,
            "now": utcnow(),
        },
    )
    return added.first() is not None


# ---------------------------------------------------------------------------------------------
# Claims (one job per post) and leases (one publish at a time per creator)


_CLAIM_POST = (
    update(_POSTS)
    .where(
        _POSTS.c.id == _param("post_id"),
        (_POSTS.c.claimed_until.is_(None))
        | (_POSTS.c.claimed_until <= _param("now"))
        | (_POSTS.c.claimed_by == _param("holder")),
    )
    .values(claimed_by=_param("holder"), claimed_until=_param("until"))
)


def try_claim_post(
    session: Session, *, post_id: int, holder: str, ttl: timedelta, now: datetime | None = None
) -> bool:
    """Claim the post for one job (or renew our claim); False when another live job has it."""
    now = now or utcnow()
    result = session.execute(
        _CLAIM_POST, {"post_id": post_id, "holder": holder, "now": now, "until": now + ttl}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


_RENEW_CLAIM = (
    update(_POSTS)
    .where(_POSTS.c.id == _param("post_id"), _POSTS.c.claimed_by == _param("holder"))
    .values(claimed_until=_param("until"))
)


def renew_post_claim(
    session: Session, *, post_id: int, holder: str, ttl: timedelta, now: datetime
) -> None:
    """Extend a claim the holder still has (never re-take one its run has already ended)."""
    session.execute(_RENEW_CLAIM, {"post_id": post_id, "holder": holder, "until": now + ttl})


_MINE = _POSTS.c.claimed_by == _param("holder")
_END_RUN = (
    update(_POSTS)
    .where(_POSTS.c.id == _param("post_id"))
    .values(
        claimed_by=case((_MINE, None), else_=_POSTS.c.claimed_by),
        claimed_until=case((_MINE, None), else_=_POSTS.c.claimed_until),
        enqueued_until=None,
    )
)


def end_run(session: Session, *, post_id: int, holder: str) -> None:
    """A job's run on the post is over: drop its claim (if still its own) and the enqueued
    mark, so the sweeper may hand the post to a job again once it is due."""
    session.execute(_END_RUN, {"post_id": post_id, "holder": holder})


def _take_lease_statement(insert: Any) -> Any:
    statement = insert(_LEASES).values(
        account_id=_param("account_id"),
        holder=_param("holder"),
        post_id=_param("post_id"),
        expires_at=_param("until"),
    )
    return statement.on_conflict_do_update(
        index_elements=[_LEASES.c.account_id],
        set_={
            "holder": statement.excluded.holder,
            "post_id": statement.excluded.post_id,
            "expires_at": statement.excluded.expires_at,
        },
        where=(_LEASES.c.expires_at <= _param("now")) | (_LEASES.c.holder == _param("holder")),
    ).returning(_LEASES.c.account_id)


#: PostgreSQL and SQLite both have INSERT ... ON CONFLICT DO UPDATE ... WHERE, each its own
#: construct in SQLAlchemy.
_TAKE_LEASE = {
    "postgresql": _take_lease_statement(pg_insert),
    "sqlite": _take_lease_statement(sqlite_insert),
}


def try_take_lease(
    session: Session,
    *,
    account_id: int,
    post_id: int,
    holder: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> bool:
    """Take (or renew) the account's lease for `post_id`; False if another live post holds it.

    One statement: a new lease is inserted; an existing one is taken over only when it has
    expired or is already ours; otherwise nothing changes and no row comes back.
    """
    now = now or utcnow()
    taken = session.execute(
        _TAKE_LEASE[_dialect(session)],
        {
            "account_id": account_id,
            "holder": holder,
            "post_id": post_id,
            "until": now + ttl,
            "now": now,
        },
    )
    return taken.first() is not None


def _dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


#: (An UPDATE's parameters may not be named after a column of its table: SQLAlchemy keeps
#: those names for the SET clause.)
_RENEW_LEASE = (
    update(_LEASES)
    .where(_LEASES.c.holder == _param("lease_holder"))
    .values(expires_at=_param("until"))
)


def renew_lease(session: Session, *, holder: str, ttl: timedelta, now: datetime) -> None:
    session.execute(_RENEW_LEASE, {"lease_holder": holder, "until": now + ttl})


def _due_posts_statement(*, one_account: bool) -> Any:
    """The sweep's query (see `claim_due_posts`), with parameters `now`, `rows` and, for
    `one_account`, `account_id`."""
    now = _param("now", type_=UTCDateTime())
    other_post = aliased(Post, name="sibling")
    busy = (
        select(PublishLease.account_id)
        .where(PublishLease.expires_at > now)
        .where(PublishLease.account_id == Post.account_id)
        .where(PublishLease.post_id != Post.id)
        .exists()
    )
    sibling_starting = (
        select(other_post.id)
        .where(other_post.account_id == Post.account_id)
        .where(other_post.id != Post.id)
        .where(other_post.state.in_((SCHEDULED, QUEUED)))
        .where(other_post.enqueued_until > now)
        .exists()
    )
    query = (
        select(Post.id, Post.account_id, Post.state)
        .where(
            Post.state.in_((SCHEDULED, QUEUED, PUBLISHING, PROCESSING)),
            Post.due_at <= now,
            (Post.enqueued_until.is_(None)) | (Post.enqueued_until <= now),
            (Post.claimed_until.is_(None)) | (Post.claimed_until <= now),
            ~(Post.state.in_((SCHEDULED, QUEUED)) & (busy | sibling_starting)),
        )
        .order_by(Post.due_at, Post.id)
        .limit(_param("rows"))
    )
    return query.where(Post.account_id == _param("account_id")) if one_account else query


_DUE_POSTS = _due_posts_statement(one_account=False)
_DUE_POSTS_OF_ACCOUNT = _due_posts_statement(one_account=True)
_MARK_ENQUEUED = (
    update(_POSTS)
    .where(
        _POSTS.c.id.in_(_param("ids", expanding=True)),
        (_POSTS.c.enqueued_until.is_(None)) | (_POSTS.c.enqueued_until <= _param("now")),
    )
    .values(enqueued_until=_param("until"))
    .returning(_POSTS.c.id)
)


def claim_due_posts(
    session: Session,
    *,
    now: datetime,
    grace: timedelta,
    limit: int = 200,
    account_id: int | None = None,
) -> list[int]:
    """Due posts no queue holds a job for; marks them as enqueued for `grace`.

    One publish at a time per creator: a post that has not started yet is skipped while
    another post of the same account holds the account's lease or is itself on its way to a
    worker to start (enqueued by this or another sweeper), and at most one such post per
    account is taken per sweep. Otherwise the second would only find the lease taken and
    wait for a later sweep. `account_id`: only that account's posts (a worker handing on to
    the creator's next post as a start ends).
    """
    params: dict[str, Any] = {"now": now, "rows": limit * 5}
    statement = _DUE_POSTS
    if account_id is not None:
        statement, params["account_id"] = _DUE_POSTS_OF_ACCOUNT, account_id
    starting: set[int] = set()
    chosen: list[int] = []
    for post_id, account, state in session.execute(statement, params).all():
        if state in (SCHEDULED, QUEUED):
            if account in starting:
                continue
            starting.add(account)
        chosen.append(post_id)
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    # One statement marks them all; another sweeper may have taken some in between.
    marked = session.execute(_MARK_ENQUEUED, {"ids": chosen, "now": now, "until": now + grace})
    taken = set(marked.scalars().all())
    return [post_id for post_id in chosen if post_id in taken]


_RELEASE_LEASE = delete(_LEASES).where(
    _LEASES.c.account_id == _param("account_id"), _LEASES.c.post_id == _param("post_id")
)


def release_lease(session: Session, *, account_id: int, post_id: int) -> None:
    session.execute(_RELEASE_LEASE, {"account_id": account_id, "post_id": post_id})


def lease_holder(session: Session, *, account_id: int, now: datetime | None = None) -> int | None:
    """The post currently holding the account's live lease, if any."""
    now = now or utcnow()
    lease = session.get(PublishLease, account_id)
    if lease is None or lease.expires_at <= now:
        return None
    return lease.post_id


# ---------------------------------------------------------------------------------------------
# Data the creator may see, export or delete (DG-5)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_posts(session: Session, *, person_id: int) -> list[dict[str, Any]]:
    """Everything stored about the person's posts, with each post's consent record and its
    attempts, as JSON-ready dicts (DG-5). No token or capability URL is included."""
    out: list[dict[str, Any]] = []
    for post in list_posts(session, person_id=person_id, limit=100_000):
        consent = post.consent
        out.append(
            {
                "id": post.id,
                "kind": post.kind,
                "mode": post.mode,
                "choices": post.choices,
                "state": post.state,
                "reason": post.reason_text,
                "log_id": post.log_id,
                "publish_id": post.publish_id,
                "post_ids": list(post.post_ids),
                "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
                "created_at": post.created_at.isoformat(),
                "consent": (
                    {
                        "creator_info": consent.creator_info,
                        "declaration": consent.declaration,
                        "label": consent.label,
                        "choices": consent.choices,
                        "consented_at": consent.consented_at.isoformat(),
                    }
                    if consent
                    else None
                ),
                # Every try at TikTok, without the capability parts (media URL token, upload URL).
                "attempts": [
                    {
                        "number": attempt.number,
                        "source": attempt.source,
                        "state": attempt.state,
                        "publish_id": attempt.publish_id,
                        "upload_done": attempt.upload_done,
                        "error_code": attempt.error_code,
                        "log_id": attempt.log_id,
                        "created_at": attempt.created_at.isoformat(),
                        "media_url_expires_at": _iso(attempt.token_expires_at),
                        "media_url_revoked_at": _iso(attempt.token_revoked_at),
                    }
                    for attempt in sorted(post.attempts, key=lambda a: a.number)
                ],
            }
        )
    json.dumps(out)  # fail here, not in the route, if something is not JSON-ready
    return out


def delete_posts_of_person(session: Session, *, person_id: int) -> int:
    """Delete every post (with consents and attempts) of a person; returns how many."""
    posts = list_posts(session, person_id=person_id, limit=1_000_000)
    for post in posts:
        session.delete(post)
    session.flush()
    return len(posts)


# ---------------------------------------------------------------------------------------------
# Figures for the operator (DG-3): aggregates only, nothing about any one person


@dataclass(frozen=True, slots=True)
class OperatorFigures:
    """How publishing went over a window: posts by state, success rate, median time to final."""

    since: datetime
    by_state: dict[str, int]
    total: int
    succeeded: int
    ended: int
    median_seconds_to_final: float | None

    @property
    def success_rate(self) -> float | None:
        """Published or delivered to the inbox, out of the posts that ended (None: none ended)."""
        return self.succeeded / self.ended if self.ended else None


def operator_figures(
    session: Session, *, now: datetime, window: timedelta = timedelta(hours=24)
) -> OperatorFigures:
    """Posts created in the window, counted by state; of those that ended (published, sent to
    the inbox, failed, cancelled, disconnected), the share that succeeded; and the median time
    from the post being queued to its final state. Two small queries, no row per person."""
    since = now - window
    rows = session.execute(
        select(Post.state, func.count()).where(Post.created_at >= since).group_by(Post.state)
    ).all()
    by_state = {str(state): int(count) for state, count in rows}
    ended_states = (PUBLISHED, SENT_TO_INBOX, FAILED, CANCELLED, DISCONNECTED)
    succeeded = by_state.get(PUBLISHED, 0) + by_state.get(SENT_TO_INBOX, 0)
    ended = sum(by_state.get(state, 0) for state in ended_states)
    spans = session.execute(
        select(Post.created_at, Post.scheduled_at, Post.finished_at).where(
            Post.created_at >= since,
            Post.state.in_(ended_states),
            Post.finished_at.is_not(None),
        )
    ).all()
    durations = sorted(
        max(0.0, (finished - max(created, scheduled or created)).total_seconds())
        for created, scheduled, finished in spans
        if finished is not None
    )
    median: float | None = None
    if durations:
        middle = len(durations) // 2
        median = (
            durations[middle]
            if len(durations) % 2
            else (durations[middle - 1] + durations[middle]) / 2
        )
    return OperatorFigures(
        since=since,
        by_state=dict(sorted(by_state.items())),
        total=sum(by_state.values()),
        succeeded=succeeded,
        ended=ended,
        median_seconds_to_final=median,
    )
