"""The Post page's "publish later" field: what the creator typed, the day it falls on in their
zone, and the caps of that day (CAP-1, CAP-3, CAP-5) shown beside it.

The page never decides the time: POST /posts converts it (`service.parse_schedule`, the same
call used here to find the day, so the page and the route read a time the same way).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from directpost import rules
from directpost.publishing.service import PublishRefused, parse_schedule
from directpost.store.posts import DayPlan


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduledDay:
    """The local day a scheduled post falls on, as UTC bounds (the store counts in UTC) and in
    words. A day is not always 24 hours: the bounds come from each midnight in the zone."""

    start: datetime
    end: datetime
    label: str


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleField:
    """The "publish later" field as the creator left it: a local date-time and its zone.

    `detect` asks the page's script to fill in the browser's own time zone (first render
    only); without script the zone stays as shown, UTC, and the creator may type theirs.
    """

    at: str = ""
    zone: str = "UTC"
    detect: bool = True

    @classmethod
    def from_form(cls, form: Any) -> ScheduleField:
        at, zone = form.get("scheduled_at"), form.get("time_zone")
        return cls(
            at=at.strip() if isinstance(at, str) else "",
            zone=(zone.strip() if isinstance(zone, str) else "") or "UTC",
            detect=not isinstance(zone, str),
        )

    def day(self, *, now: datetime | None = None) -> ScheduledDay | str | None:
        """The day the time falls on; None when the post goes now; the reason in words when
        the time or zone cannot be read (the same sentence the publish route would give)."""
        try:
            when, zone_name = parse_schedule(self.at, self.zone, now=now)
        except PublishRefused as exc:
            return str(exc)
        if when is None:
            return None
        zone = ZoneInfo(zone_name)
        date = when.astimezone(zone).date()
        start = datetime.combine(date, time(0), tzinfo=zone)
        end = datetime.combine(date + timedelta(days=1), time(0), tzinfo=zone)
        label = f"{date:%A} {date.day} {date:%B}"
        return ScheduledDay(start.astimezone(UTC), end.astimezone(UTC), label)


def caps_of_the_day(
    day: ScheduledDay, plan: DayPlan, *, mode: rules.PostMode, policy: rules.AppPolicy
) -> list[rules.DayCap]:
    """The caps of the day picked, from the store's `DayPlan` for it."""
    return rules.day_caps(
        day=day.label,
        mode=mode,
        audited=policy.audited,
        configured_creator_cap=policy.creator_cap,
        creators=plan.creators,
        creator_included=plan.creator_included,
        posts=plan.posts,
        inbox=plan.inbox,
    )
