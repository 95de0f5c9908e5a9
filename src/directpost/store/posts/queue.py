"""The database as the job queue: due posts claimed for a worker, one job per post (claims), one
publish at a time per creator (leases).

Claims, leases and enqueued marks are plain Core statements built once with named parameters
(see `models`): they change rows no caller holds loaded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from directpost.publishing.states import (
    DUE_STATES,
    WAITING_STATES,
)
from directpost.store.base import UTCDateTime, utcnow
from directpost.store.posts.models import LEASES, POSTS, Post, PublishLease, dialect, param
from directpost.store.posts.records import PostProgress

_CLAIM_POST = (
    update(POSTS)
    .where(
        POSTS.c.id == param("post_id"),
        (POSTS.c.claimed_until.is_(None))
        | (POSTS.c.claimed_until <= param("now"))
        | (POSTS.c.claimed_by == param("holder")),
    )
    .values(claimed_by=param("holder"), claimed_until=param("until"))
    .returning(POSTS.c.state, POSTS.c.due_at, POSTS.c.account_id)
)


def claim_post(
    session: Session, *, post_id: int, holder: str, ttl: timedelta, now: datetime | None = None
) -> PostProgress | None:
    """Claim the post for one job (or renew our claim) and say where it stands; None when
    another live job has it or it is gone. (One statement: the job reads this at every run.)"""
    now = now or utcnow()
    row = session.execute(
        _CLAIM_POST, {"post_id": post_id, "holder": holder, "now": now, "until": now + ttl}
    ).first()
    return PostProgress(*row) if row is not None else None


_RENEW_CLAIM = (
    update(POSTS)
    .where(POSTS.c.id == param("post_id"), POSTS.c.claimed_by == param("holder"))
    .values(claimed_until=param("until"))
)


def renew_post_claim(
    session: Session, *, post_id: int, holder: str, ttl: timedelta, now: datetime
) -> None:
    """Extend a claim the holder still has (never re-take one its run has already ended)."""
    session.execute(_RENEW_CLAIM, {"post_id": post_id, "holder": holder, "until": now + ttl})


_MINE = POSTS.c.claimed_by == param("holder")
_END_RUN = (
    update(POSTS)
    .where(POSTS.c.id == param("post_id"))
    .values(
        claimed_by=case((_MINE, None), else_=POSTS.c.claimed_by),
        claimed_until=case((_MINE, None), else_=POSTS.c.claimed_until),
        enqueued_until=None,
    )
)


def end_run(session: Session, *, post_id: int, holder: str) -> None:
    """A job's run on the post is over: drop its claim (if still its own) and the enqueued
    mark, so a claim may hand the post to a job again once it is due."""
    session.execute(_END_RUN, {"post_id": post_id, "holder": holder})


def _take_lease_statement(insert: Any) -> Any:
    statement = insert(LEASES).values(
        account_id=param("account_id"),
        holder=param("holder"),
        post_id=param("post_id"),
        expires_at=param("until"),
    )
    return statement.on_conflict_do_update(
        index_elements=[LEASES.c.account_id],
        set_={
            "holder": statement.excluded.holder,
            "post_id": statement.excluded.post_id,
            "expires_at": statement.excluded.expires_at,
        },
        where=(LEASES.c.expires_at <= param("now")) | (LEASES.c.holder == param("holder")),
    ).returning(LEASES.c.account_id)


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
        _TAKE_LEASE[dialect(session)],
        {
            "account_id": account_id,
            "holder": holder,
            "post_id": post_id,
            "until": now + ttl,
            "now": now,
        },
    )
    return taken.first() is not None


#: (An UPDATE's parameters may not be named after a column of its table: SQLAlchemy keeps
#: those names for the SET clause.)
_RENEW_LEASE = (
    update(LEASES).where(LEASES.c.holder == param("lease_holder")).values(expires_at=param("until"))
)


def renew_lease(session: Session, *, holder: str, ttl: timedelta, now: datetime) -> None:
    session.execute(_RENEW_LEASE, {"lease_holder": holder, "until": now + ttl})


def _due_posts_statement() -> Any:
    """The claim's query (see `claim_due_posts`), with parameters `now` and `rows`."""
    now = param("now", type_=UTCDateTime())
    other_post = aliased(Post, name="sibling")
    busy = (
        select(PublishLease.account_id)
        .where(PublishLease.expires_at > now)
        .where(PublishLease.account_id == Post.account_id)
        .where(PublishLease.post_id != Post.id)
        .exists()
    )
    # Accounts with a post on its way to a runner to start (enqueued, not started). Not
    # correlated with the outer row (a post that is itself enqueued is filtered out before this
    # matters), so the database builds the set once per claim instead of looking at every due
    # post's siblings: that halved the claim on SQLite with 1,000 due posts (4.2 -> 2.1 ms).
    sibling_starting = Post.account_id.in_(
        select(other_post.account_id)
        .where(other_post.state.in_(WAITING_STATES))
        .where(other_post.enqueued_until > now)
    )
    # Each creator's own posts in order (1 = its next), over the due posts only.
    # When the creator's last start let go of its lease; NULL when it has not started yet, or
    # when this very post holds the lease (a start waiting for its budget: its creator's turn).
    last_turn = (
        select(
            case(
                ((LEASES.c.post_id == POSTS.c.id) & (LEASES.c.expires_at > now), None),
                else_=LEASES.c.expires_at,
            )
        )
        .where(LEASES.c.account_id == POSTS.c.account_id)
        .correlate(POSTS)
        .scalar_subquery()
    )
    place = (
        func.row_number()
        .over(partition_by=Post.account_id, order_by=(Post.due_at, Post.id))
        .label("place")
    )
    return (
        select(Post.id, Post.account_id, Post.state, place)
        .where(
            Post.state.in_(DUE_STATES),
            Post.due_at <= now,
            (Post.enqueued_until.is_(None)) | (Post.enqueued_until <= now),
            (Post.claimed_until.is_(None)) | (Post.claimed_until <= now),
            ~(Post.state.in_(WAITING_STATES) & (busy | sibling_starting)),
        )
        # Fair turns: starts under way and creators that never started come first, then the
        # creator whose last start let go of its lease longest ago; within that, each creator's next post before its
        # later ones. (A creator's posts one after the other would hold back every other
        # creator's first init, and with it the end of TikTok's per-minute window.)
        .order_by(last_turn.asc().nulls_first(), place, Post.due_at, Post.id)
        .limit(param("rows"))
    )


_DUE_POSTS = _due_posts_statement()
_MARK_ENQUEUED = (
    update(POSTS)
    .where(
        POSTS.c.id.in_(param("ids", expanding=True)),
        (POSTS.c.enqueued_until.is_(None)) | (POSTS.c.enqueued_until <= param("now")),
    )
    .values(enqueued_until=param("until"))
    .returning(POSTS.c.id)
)


def claim_due_posts(
    session: Session, *, now: datetime, grace: timedelta, limit: int = 200
) -> list[int]:
    """Due posts no worker holds; marks them as enqueued for `grace` and returns them.

    One publish at a time per creator: a post that has not started yet is skipped while
    another post of the same account holds the account's lease or is itself on its way to a
    worker to start (claimed by this or another process), and at most one such post per
    account is taken per claim. Otherwise the second would only find the lease taken and
    wait a retry period. Creators take turns (see the query's order).
    """
    starting: set[int] = set()
    chosen: list[int] = []
    for post_id, account, state, _place in session.execute(
        _DUE_POSTS, {"now": now, "rows": limit * 5}
    ).all():
        if state in WAITING_STATES:
            if account in starting:
                continue
            starting.add(account)
        chosen.append(post_id)
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    # One statement marks them all; another process may have taken some in between.
    marked = session.execute(_MARK_ENQUEUED, {"ids": chosen, "now": now, "until": now + grace})
    taken = set(marked.scalars().all())
    return [post_id for post_id in chosen if post_id in taken]


_CLEAR_ENQUEUED = (
    update(POSTS).where(POSTS.c.id.in_(param("ids", expanding=True))).values(enqueued_until=None)
)


def clear_enqueued(session: Session, *, post_ids: list[int]) -> None:
    """Give claimed posts back at once (a stopping worker will not run them), instead of
    leaving them to wait until their enqueued mark runs out."""
    if post_ids:
        session.execute(_CLEAR_ENQUEUED, {"ids": post_ids})


#: A released lease is kept, expired at the moment of release: the time a creator's last start
#: let go is what gives creators fair turns in `claim_due_posts`.
_RELEASE_LEASE = (
    update(LEASES)
    .where(LEASES.c.account_id == param("for_account"), LEASES.c.post_id == param("for_post"))
    .values(expires_at=param("released_at"))
)


def release_lease(
    session: Session, *, account_id: int, post_id: int, now: datetime | None = None
) -> None:
    """Let go of the account's lease if `post_id` holds it (another post's lease is kept)."""
    session.execute(
        _RELEASE_LEASE,
        {"for_account": account_id, "for_post": post_id, "released_at": now or utcnow()},
    )


def lease_holder(session: Session, *, account_id: int, now: datetime | None = None) -> int | None:
    """The post currently holding the account's live lease, if any."""
    now = now or utcnow()
    lease = session.get(PublishLease, account_id)
    if lease is None or lease.expires_at <= now:
        return None
    return lease.post_id
