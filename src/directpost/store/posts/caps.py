"""What the caps are counted from (CAP-1, CAP-3, CAP-5): our own records of who started what in
the last 24 hours, in one statement. The arithmetic on these counts is policy (`rules.caps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from directpost.publishing.states import (
    CANCELLED,
    FAILED,
    REACHED_TIKTOK,
)
from directpost.store.base import UTCDateTime
from directpost.store.posts.models import Post, PublishAttempt, param


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
            .where(PublishAttempt.created_at >= param("since", type_=UTCDateTime()))
        )

    reached = started(func.count(func.distinct(Post.id))).where(
        Post.open_id == param("open_id"),
        PublishAttempt.state.in_(REACHED_TIKTOK),
        Post.state.not_in((FAILED, CANCELLED)),
    )
    return select(
        started(func.count(func.distinct(Post.open_id))).scalar_subquery(),
        started(Post.id).where(Post.open_id == param("open_id")).exists(),
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
