"""Figures for the operator (DG-3): aggregates only, nothing about any one person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from directpost.publishing.states import (
    CANCELLED,
    DISCONNECTED,
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
