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
    DISCONNECTED,
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


@dataclass(frozen=True, slots=True)
class DayPlan:
    """What is planned for one day (the creator's local day, as UTC bounds): the caps' counts
    for a day in the future, so "publish later" can show the caps of the day picked."""

    #: Accounts with a post planned or posted that day through this app (CAP-1).
    creators: int
    #: Whether this creator is one of them.
    creator_included: bool
    #: This creator's posts planned or posted that day (CAP-3), and of those the drafts (CAP-5).
    posts: int
    inbox: int


def _day_plan_statement() -> Any:
    # A post counts on the day it was scheduled for, or the day it was made when sent at once;
    # failed, cancelled and disconnected ones will not reach TikTok that day.
    when = func.coalesce(Post.scheduled_at, Post.created_at)

    def on_the_day(*columns: Any) -> Any:
        return select(*columns).where(
            when >= param("start", type_=UTCDateTime()),
            when < param("end", type_=UTCDateTime()),
            Post.state.not_in((FAILED, CANCELLED, DISCONNECTED)),
        )

    mine = on_the_day(func.count(Post.id)).where(Post.open_id == param("open_id"))
    return select(
        on_the_day(func.count(func.distinct(Post.open_id))).scalar_subquery(),
        on_the_day(Post.id).where(Post.open_id == param("open_id")).exists(),
        mine.scalar_subquery(),
        mine.where(Post.mode == "inbox").scalar_subquery(),
    )


_DAY_PLAN = _day_plan_statement()


def day_plan(session: Session, *, open_id: str, start: datetime, end: datetime) -> DayPlan:
    """The caps' counts of one day, in one statement."""
    creators, mine, posts, inbox = session.execute(
        _DAY_PLAN, {"open_id": open_id, "start": start, "end": end}
    ).one()
    return DayPlan(int(creators or 0), bool(mine), int(posts or 0), int(inbox or 0))
