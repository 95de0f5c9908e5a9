"""The app's own measures (DG-3): counts and latencies per minute, merged from every process.

Each process keeps its measures in memory (`publishing.measures.MeasureRecorder`) and adds
them here every half minute: one row per (minute, name, label, outcome), where `name` is what
was measured ("tiktok": a request to TikTok; "page": a page render), `label` which one (an
endpoint, a page) and `outcome` how it ended ("ok", "error:<TikTok code>", "http_5xx",
"no_answer", ...). Rows are merged by adding (an upsert on both SQLite and PostgreSQL), so any
number of `serve` and `worker` processes write into the same rows without reading them first.

A latency is kept as a sum and a histogram over fixed bounds (`LATENCY_BOUNDS_S`), enough to
estimate p50/p95 for any span of minutes by adding rows up. Minutes are whole minutes since the
Unix epoch (an integer), so grouping them into a chart's slots is integer division in SQL on
both databases. Nothing here is about any one person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Float, Integer, String, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from directpost.publishing.states import (
    CANCELLED,
    DISCONNECTED,
    FAILED,
    PUBLISHED,
    SENT_TO_INBOX,
)
from directpost.store.base import Base
from directpost.store.posts.models import Post

#: Upper bounds (seconds) of the latency histogram's buckets; one more bucket holds the rest.
LATENCY_BOUNDS_S: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The histogram's columns, one per bucket (`h0` ≤ 50 ms … `h8` above 10 s).
BUCKET_COLUMNS: tuple[str, ...] = tuple(f"h{i}" for i in range(len(LATENCY_BOUNDS_S) + 1))


class Measure(Base):
    """What one kind of event added up to in one minute, from every process."""

    __tablename__ = "measures"

    #: Whole minutes since the Unix epoch (UTC).
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(120), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(80), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    seconds_sum: Mapped[float] = mapped_column(Float, default=0.0)
    h0: Mapped[int] = mapped_column(Integer, default=0)
    h1: Mapped[int] = mapped_column(Integer, default=0)
    h2: Mapped[int] = mapped_column(Integer, default=0)
    h3: Mapped[int] = mapped_column(Integer, default=0)
    h4: Mapped[int] = mapped_column(Integer, default=0)
    h5: Mapped[int] = mapped_column(Integer, default=0)
    h6: Mapped[int] = mapped_column(Integer, default=0)
    h7: Mapped[int] = mapped_column(Integer, default=0)
    h8: Mapped[int] = mapped_column(Integer, default=0)


MEASURES = cast(Table, Measure.__table__)
_ADDED = ("count", "seconds_sum", *BUCKET_COLUMNS)


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """One row's worth of measures: a key, a count, a latency sum and histogram."""

    minute: int
    name: str
    label: str
    outcome: str
    count: int
    seconds_sum: float
    #: Counts per latency bucket, `len(BUCKET_COLUMNS)` of them.
    buckets: tuple[int, ...]


def _merge_statement(insert: Any) -> Any:
    statement = insert(MEASURES)
    return statement.on_conflict_do_update(
        index_elements=[MEASURES.c.minute, MEASURES.c.name, MEASURES.c.label, MEASURES.c.outcome],
        set_={name: MEASURES.c[name] + statement.excluded[name] for name in _ADDED},
    )


#: Both databases add on conflict (INSERT … ON CONFLICT DO UPDATE), each its own construct.
_MERGE = {"postgresql": _merge_statement(pg_insert), "sqlite": _merge_statement(sqlite_insert)}


def merge_measures(engine: Engine, rows: Sequence[MeasureRow]) -> None:
    """Add `rows` to what other processes wrote (one transaction, one batched statement)."""
    if not rows:
        return
    values = [
        {
            "minute": row.minute,
            "name": row.name,
            "label": row.label,
            "outcome": row.outcome,
            "count": row.count,
            "seconds_sum": row.seconds_sum,
            **dict(zip(BUCKET_COLUMNS, row.buckets, strict=True)),
        }
        for row in rows
    ]
    kind = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
    with engine.begin() as connection:
        connection.execute(_MERGE[kind], values)


def prune_measures(engine: Engine, *, before_minute: int) -> None:
    """Forget the minutes before `before_minute` (the page shows a week at most)."""
    with engine.begin() as connection:
        connection.execute(delete(MEASURES).where(MEASURES.c.minute < before_minute))


@dataclass(frozen=True, slots=True)
class SlotTotal:
    """The measures of one label and outcome added up over one chart slot."""

    slot: int
    label: str
    outcome: str
    count: int
    seconds_sum: float
    buckets: tuple[int, ...]


def slot_totals(
    session: Session, *, name: str, start_minute: int, slots: int, step_minutes: int
) -> list[SlotTotal]:
    """`name`'s measures from `start_minute` on, added up per slot of `step_minutes`, label
    and outcome (slot 0 starts at `start_minute`). One grouped statement."""
    slot = ((MEASURES.c.minute - start_minute) // step_minutes).label("slot")
    end = start_minute + slots * step_minutes
    sums = [func.sum(MEASURES.c[column]) for column in _ADDED]
    rows = session.execute(
        select(slot, MEASURES.c.label, MEASURES.c.outcome, *sums)
        .where(
            MEASURES.c.name == name,
            MEASURES.c.minute >= start_minute,
            MEASURES.c.minute < end,
        )
        .group_by(slot, MEASURES.c.label, MEASURES.c.outcome)
    ).all()
    return [
        SlotTotal(
            slot=int(row[0]),
            label=str(row[1]),
            outcome=str(row[2]),
            count=int(row[3] or 0),
            seconds_sum=float(row[4] or 0.0),
            buckets=tuple(int(value or 0) for value in row[5:]),
        )
        for row in rows
    ]


#: The states a post ends in; the first two count as success.
SUCCESS_STATES = (PUBLISHED, SENT_TO_INBOX)
ENDED_STATES = (PUBLISHED, SENT_TO_INBOX, FAILED, CANCELLED, DISCONNECTED)


@dataclass(frozen=True, slots=True)
class FinishedPost:
    """When a post ended, whether it succeeded, and how long it took from queued to final."""

    finished_at: datetime
    succeeded: bool
    seconds_to_final: float


def finished_posts(session: Session, *, since: datetime, until: datetime) -> list[FinishedPost]:
    """The posts that reached a final state in [since, until): aggregates' raw material only
    (no id, no person). Time to final counts from creation, or from the scheduled time when
    later, as `operator_figures` does."""
    rows = session.execute(
        select(Post.state, Post.created_at, Post.scheduled_at, Post.finished_at).where(
            Post.finished_at >= since,
            Post.finished_at < until,
            Post.state.in_(ENDED_STATES),
        )
    ).all()
    found: list[FinishedPost] = []
    for state, created, scheduled, finished in rows:
        if finished is None:
            continue
        queued = max(created, scheduled or created)
        found.append(
            FinishedPost(
                finished_at=finished,
                succeeded=state in SUCCESS_STATES,
                seconds_to_final=max(0.0, (finished - queued).total_seconds()),
            )
        )
    return found
