"""Posts as the creator and the jobs see them: stored with consent, read by id, by person, by
publish_id, and the small progress read a job makes at every claim.

Functions take keyword-only arguments and a `Session`; the caller owns the transaction. Every
read a page makes is scoped to the signed-in person (`person_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from directpost.publishing.states import (
    DUE_STATES,
    FINAL_STATES,
    NEW,
    TRANSITIONS,
)
from directpost.store.base import utcnow
from directpost.store.posts.models import POSTS, Post, PostConsent, PublishAttempt, param


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
    state: str,
    due_at: datetime,
    creator_info: dict[str, Any],
    declaration: str,
    label: str,
    now: datetime | None = None,
) -> Post:
    """Store a post with its consent record (UX-5c), in its first `state` (from
    `publishing.lifecycle`). Nothing has been sent to TikTok yet."""
    if state not in TRANSITIONS[NEW]:
        raise ValueError(f"a post cannot begin in state {state!r}")
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
        due_at=due_at,
        state=state,
        post_ids=[],
        created_at=now,
        updated_at=now,
    )
    add_consent(
        post,
        creator_info=creator_info,
        declaration=declaration,
        label=label,
        choices=choices,
        now=now,
    )
    session.add(post)
    session.flush()
    return post


def add_consent(
    post: Post,
    *,
    creator_info: dict[str, Any],
    declaration: str,
    label: str,
    choices: dict[str, Any],
    now: datetime,
) -> PostConsent:
    """Record a consent the creator gave for the post (UX-5c). Consents are only ever added:
    confirming a post again keeps every earlier one, and the latest is the one it goes out
    under."""
    consent = PostConsent(
        creator_info=creator_info,
        declaration=declaration,
        label=label,
        choices=choices,
        consented_at=now,
    )
    post.consents.append(consent)
    return consent


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


_PROGRESS = select(POSTS.c.state, POSTS.c.due_at, POSTS.c.account_id).where(
    POSTS.c.id == param("post_id")
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
        .where(Post.state.in_(DUE_STATES), Post.due_at <= now)
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
