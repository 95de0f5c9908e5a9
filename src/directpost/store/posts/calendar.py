"""What the calendar page reads: one person's posts over a range of days, the app's creator count
per day (CAP-1), and the zone the person last scheduled in.

A post sits on the day it was scheduled for, or the day it was made when it went at once: the
same moment `caps.day_plan` counts it on, so the calendar and the Post page's "caps of that
day" agree. Every read of posts is scoped to the signed-in person; the one read across the app
returns counts only (how many accounts have posts each day), never a row of anyone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.orm import Session

from directpost.publishing.states import CANCELLED, DISCONNECTED, FAILED
from directpost.store.base import UTCDateTime
from directpost.store.posts.models import POSTS, param

#: The moment a post is placed at (and counted on): its schedule, else when it was made.
placed_at = func.coalesce(POSTS.c.scheduled_at, POSTS.c.created_at, type_=UTCDateTime())
#: States whose posts will not reach TikTok on their day: they are shown, but not counted.
NOT_COUNTED = (FAILED, CANCELLED, DISCONNECTED)


@dataclass(frozen=True, slots=True)
class PlacedPost:
    """A post as the calendar reads it: what places and counts it, and its choices and media
    as the stored JSON text (decoded only for the posts a page shows: a month holds thousands,
    a month cell lists a few)."""

    id: int
    account_id: int
    kind: str
    mode: str
    state: str
    placed_at: datetime
    upload_id: str | None
    choices_json: str
    media_json: str


_POSTS_IN_RANGE = (
    select(
        POSTS.c.id,
        POSTS.c.account_id,
        POSTS.c.kind,
        POSTS.c.mode,
        POSTS.c.state,
        placed_at,
        POSTS.c.upload_id,
        cast(POSTS.c.choices, Text),
        cast(POSTS.c.media, Text),
    )
    .where(
        POSTS.c.person_id == param("person_id"),
        placed_at >= param("start", type_=UTCDateTime()),
        placed_at < param("end", type_=UTCDateTime()),
    )
    .order_by(placed_at, POSTS.c.id)
)


def posts_between(
    session: Session, *, person_id: int, start: datetime, end: datetime
) -> list[PlacedPost]:
    """The person's posts placed in [start, end), in time order, in one statement: Core
    columns, not ORM objects (nothing here may load `consents` or `attempts` post by post, and
    the ORM's loading was most of what thousands of rows cost)."""
    values = {"person_id": person_id, "start": start, "end": end}
    return [PlacedPost(*row) for row in session.execute(_POSTS_IN_RANGE, values).all()]


@lru_cache(maxsize=8)
def _creators_statement(days: int) -> Any:
    """The count by day for a grid of `days` days, built once per length (7, 35 or 42): its
    parameters are named, so SQLAlchemy also keys and compiles it once."""
    day = case(
        *[(placed_at < param(f"edge_{i}", type_=UTCDateTime()), i - 1) for i in range(1, days)],
        else_=days - 1,
    )
    return (
        select(day.label("day"), func.count(func.distinct(POSTS.c.open_id)))
        .where(
            placed_at >= param("start", type_=UTCDateTime()),
            placed_at < param("end", type_=UTCDateTime()),
            POSTS.c.state.not_in(NOT_COUNTED),
        )
        .group_by(day)
    )


def creators_per_day(session: Session, *, bounds: Sequence[datetime]) -> list[int]:
    """How many accounts of the whole app have a post planned or posted on each day (CAP-1 is
    the app's cap, so its count crosses people), in one statement for every day together.

    `bounds` are the days' edges in UTC, each day [bounds[i], bounds[i + 1]) (local days: not
    always 24 hours). Returns one count per day. The database sorts each post into its day with
    one CASE over the edges, so no day costs a statement of its own.
    """
    days = len(bounds) - 1
    if days < 1:
        return []
    values: dict[str, Any] = {"start": bounds[0], "end": bounds[-1]}
    values.update({f"edge_{i}": bounds[i] for i in range(1, days)})
    counts = [0] * days
    for index, creators in session.execute(_creators_statement(days), values):
        counts[int(index)] = int(creators or 0)
    return counts


_LATEST_ZONE = (
    select(POSTS.c.time_zone)
    .where(POSTS.c.person_id == param("person_id"))
    .order_by(POSTS.c.created_at.desc(), POSTS.c.id.desc())
    .limit(1)
)


def latest_time_zone(session: Session, *, person_id: int) -> str | None:
    """The zone the person picked for their latest post (the calendar's default before the
    browser says its own), or None when they have no post yet."""
    zone = session.scalars(_LATEST_ZONE, {"person_id": person_id}).first()
    return str(zone) if zone else None
