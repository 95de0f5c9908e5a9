"""A post scheduled for 09:00 local on a day the clocks change goes at 09:00 local (issue 17):
the time is read in the creator's zone for that very date, stored as the UTC instant, and the
job is due at that instant; shown back in the zone it was picked in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from directpost.publishing import lifecycle, service, states
from directpost.web.post_views import in_time_zone

#: (zone, local time on a clock-change day, the UTC instant it is)
CHANGES = [
    # Paris springs forward on 28 March 2027 (02:00 → 03:00): 09:00 is CEST, UTC+2.
    ("Europe/Paris", "2027-03-28T09:00", datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    # The day before it is still CET, UTC+1.
    ("Europe/Paris", "2027-03-27T09:00", datetime(2027, 3, 27, 8, 0, tzinfo=UTC)),
    # New York springs forward on 14 March 2027: 09:00 is EDT, UTC-4.
    ("America/New_York", "2027-03-14T09:00", datetime(2027, 3, 14, 13, 0, tzinfo=UTC)),
    # Sydney falls back on 4 April 2027 (03:00 → 02:00): 09:00 is AEST, UTC+10.
    ("Australia/Sydney", "2027-04-04T09:00", datetime(2027, 4, 3, 23, 0, tzinfo=UTC)),
    # A time that happens twice (01:30 on New York's fall-back day, 7 Nov 2027): the first.
    ("America/New_York", "2027-11-07T01:30", datetime(2027, 11, 7, 5, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "local", "instant"), CHANGES)
def test_a_local_time_on_a_clock_change_day_is_that_local_time(
    zone: str, local: str, instant: datetime
) -> None:
    now = instant - timedelta(days=10)  # within the 60 days a post may be scheduled ahead
    when, kept_zone = service.parse_schedule(local, zone, now=now)
    assert when == instant and kept_zone == zone
    state, due_at = lifecycle.first_state(when, now)
    assert state == states.SCHEDULED and due_at == instant  # the job runs at that instant
    assert in_time_zone(instant, zone) == local.replace("T", " ")  # shown back as picked
