"""The steps of a start as plain statements: the post read and marked publishing, each attempt
written before its init leaves, TikTok's answer stored, tracking started; and what a
per-attempt media URL may serve.

The state-changing statements are guarded by `publishing.states.TRANSITIONS`: a post in a state
that may not move to the target changes no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    case,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from directpost.publishing.states import (
    AMBIGUOUS,
    CONFIRMED,
    INIT_SENT,
    PROCESSING,
    PUBLISHING,
    attempt_sources,
    sources,
)
from directpost.store.base import UTCDateTime, utcnow
from directpost.store.posts.models import ATTEMPTS, POSTS, Post, PublishAttempt, param
from directpost.store.posts.queue import release_lease


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
    ATTEMPTS.insert()
    .values(
        post_id=param("post_id"),
        number=select(func.coalesce(func.max(ATTEMPTS.c.number), 0) + 1)
        .where(ATTEMPTS.c.post_id == param("post_id"))
        .scalar_subquery(),
        source=param("source"),
        state=INIT_SENT,
        media_token=param("media_token"),
        token_expires_at=param("token_expires_at"),
        created_at=param("now"),
    )
    .returning(ATTEMPTS.c.id)
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
    update(ATTEMPTS)
    .where(
        ATTEMPTS.c.id == param("attempt_id"),
        ATTEMPTS.c.state.in_(attempt_sources(CONFIRMED)),
    )
    .values(state=CONFIRMED, publish_id=param("publish_id"), upload_url=param("upload_url"))
)
_POST_PUBLISH_ID = (
    update(POSTS)
    .where(POSTS.c.id == param("post_id"))
    .values(publish_id=param("publish_id"), updated_at=param("now"))
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


def _move(target: str, **values: Any) -> Any:
    """A guarded move of one post (`post_id`) to `target` at `now`: a post in a state that
    `TRANSITIONS` does not allow to move there changes no row."""
    return (
        update(POSTS)
        .where(POSTS.c.id == param("post_id"), POSTS.c.state.in_(sources(target)))
        .values(state=target, reason_code="", reason_text="", updated_at=param("now"), **values)
    )


_START_TRACKING = _move(PROCESSING, due_at=param("next_look"), tries=0)

#: A post's end, claimed by one writer: the row moves only from the state its writer read.
_CLAIM_END = (
    update(POSTS)
    .where(POSTS.c.id == param("post_id"), POSTS.c.state == param("source"))
    .values(state=param("target"))
)


def claim_end(session: Session, *, post_id: int, source: str, target: str) -> bool:
    """Move the post's row from `source` to the final `target`; False when another writer
    moved it first. A webhook and a status poll may bring the same news at once, each having
    read the post before the other wrote (SQLite reads outside the write's transaction,
    PostgreSQL's READ COMMITTED lets both read): the end is then applied, and told, once."""
    changed = session.execute(_CLAIM_END, {"post_id": post_id, "source": source, "target": target})
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def start_tracking(
    session: Session, *, post_id: int, account_id: int, next_look: datetime, now: datetime
) -> None:
    """The publish is with TikTok: the post is processing (looked at again at `next_look`),
    and the creator's lease is free for the next post."""
    session.execute(_START_TRACKING, {"post_id": post_id, "next_look": next_look, "now": now})
    release_lease(session, account_id=account_id, post_id=post_id, now=now)


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
    POSTS.c.id,
    POSTS.c.account_id,
    POSTS.c.open_id,
    POSTS.c.kind,
    POSTS.c.mode,
    POSTS.c.media,
    POSTS.c.choices,
    POSTS.c.state,
    POSTS.c.cancel_requested,
).where(POSTS.c.id == param("post_id"))


def post_to_start(session: Session, *, post_id: int) -> PostToStart | None:
    row = session.execute(_POST_TO_START, {"post_id": post_id}).first()
    return PostToStart(*row) if row is not None else None


_ATTEMPT_STATES = (
    select(ATTEMPTS.c.id, ATTEMPTS.c.state)
    .where(ATTEMPTS.c.post_id == param("post_id"))
    .order_by(ATTEMPTS.c.number)
)


def attempt_states(session: Session, *, post_id: int) -> list[tuple[int, str]]:
    """The post's attempts as (id, state), oldest first."""
    rows = session.execute(_ATTEMPT_STATES, {"post_id": post_id}).all()
    return [(attempt_id, state) for attempt_id, state in rows]


_MARK_UNANSWERED_AMBIGUOUS = (
    update(ATTEMPTS)
    .where(
        ATTEMPTS.c.post_id == param("for_post"),
        ATTEMPTS.c.state.in_(attempt_sources(AMBIGUOUS)),
    )
    .values(
        state=AMBIGUOUS,
        token_revoked_at=case(
            (
                ATTEMPTS.c.media_token.is_not(None) & ATTEMPTS.c.token_revoked_at.is_(None),
                param("now", type_=UTCDateTime()),
            ),
            else_=ATTEMPTS.c.token_revoked_at,
        ),
    )
)


def mark_unanswered_ambiguous(session: Session, *, post_id: int, now: datetime) -> None:
    """Attempts whose init was sent but never answered become ambiguous, their media URLs
    revoked (`revoke_attempt_url`), so such a ghost publish can only fail."""
    session.execute(_MARK_UNANSWERED_AMBIGUOUS, {"for_post": post_id, "now": now})


_MARK_PUBLISHING = _move(
    PUBLISHING, started_at=func.coalesce(POSTS.c.started_at, param("now", type_=UTCDateTime()))
)


def mark_publishing(session: Session, *, post_id: int, now: datetime) -> None:
    """A job has taken the creator's lease for the post: it is publishing (since `now`, unless
    an earlier run started it)."""
    session.execute(_MARK_PUBLISHING, {"post_id": post_id, "now": now})


_CANCEL_REQUESTED = select(POSTS.c.cancel_requested).where(POSTS.c.id == param("post_id"))


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
    .where(PublishAttempt.media_token == param("token"))
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


_MEDIA_SERVED = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.media_token == param("token"))
    .values(media_served=ATTEMPTS.c.media_served.op("|")(param("bit", type_=BigInteger())))
)


def record_media_served(session: Session, *, token: str, index: int) -> None:
    """Our media service sent file `index` of this attempt's URL to its last byte (one guarded
    statement; the caller commits)."""
    session.execute(_MEDIA_SERVED, {"token": token, "bit": 1 << index})
