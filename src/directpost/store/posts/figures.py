"""Figures for the operator (DG-3): aggregates only, nothing about any one person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from directpost.publishing.states import (
    ACTIVE_STATES,
    CANCELLED,
    DISCONNECTED,
    DUE_STATES,
    FAILED,
    PUBLISHED,
    SENT_TO_INBOX,
)
from directpost.store.posts.models import Post


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


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """The queue as a monitoring system sees it (`/metrics`): every post by state, the posts
    due now, and how long the oldest of them has waited."""

    by_state: dict[str, int]
    #: Posts in a due state whose time has come (a worker should be on them now).
    due_now: int
    #: The earliest `due_at` among those (None: nothing is due).
    oldest_due_at: datetime | None
    #: The oldest `updated_at` of a queued, publishing or processing post (None: none).
    oldest_active_update_at: datetime | None


def queue_figures(session: Session, *, now: datetime) -> QueueFigures:
    """Two aggregate queries, both on the (state, due_at) index: posts by state, and the due
    and active posts' count and ages. Nothing about any one person."""
    rows = session.execute(select(Post.state, func.count()).group_by(Post.state)).all()
    due = Post.due_at <= now
    count, oldest_due, oldest_active = session.execute(
        select(
            func.count(case((due, 1))),
            func.min(case((due, Post.due_at))),
            func.min(case((Post.state.in_(ACTIVE_STATES), Post.updated_at))),
        ).where(Post.state.in_(DUE_STATES))
    ).one()
    return QueueFigures(
        by_state={str(state): int(n) for state, n in rows},
        due_now=int(count or 0),
        oldest_due_at=_as_utc(oldest_due),
        oldest_active_update_at=_as_utc(oldest_active),
    )


def _as_utc(value: object) -> datetime | None:
    """An aggregate's datetime (min() over a CASE loses the column's UTC type on SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)
