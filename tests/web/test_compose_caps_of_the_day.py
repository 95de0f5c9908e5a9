"""The "publish later" field shows the caps of the day picked (CAP-1, CAP-3, CAP-5): what is
already planned that day in the creator's zone, and a warning when this post would go past a cap — over the real
app in-process and the real emulator, with posts seeded in the database.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from directpost.publishing import states
from directpost.rules import limits
from directpost.store import posts as store
from directpost.store.accounts import TikTokAccount
from directpost.web.schedule_field import ScheduledDay, ScheduleField
from tests.fixtures.live import AppClient, LiveEmulator, api_sign_in, fetch_csrf

pytestmark = pytest.mark.anyio

ZONE = "America/New_York"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _new_creator(emulator: LiveEmulator) -> str:
    open_id = "day-" + secrets.token_hex(5)
    emulator.control(
        "POST",
        "/_emulator/creators",
        json={"open_id": open_id, "nickname": "Day", "username": open_id, "privacy": "private"},
    )
    return open_id


def _local_day(days_ahead: int) -> datetime:
    """Noon, `days_ahead` days from now, in ZONE."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    day = today + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(ZONE))


def _seed(app: AppClient, open_id: str, at: datetime, count: int, *, mode: str = "direct") -> None:
    """`count` posts of this creator scheduled for `at` (and one cancelled, which never counts)."""
    factory = app.app.state.services.factory
    with factory() as session, session.begin():
        account = session.query(TikTokAccount).filter_by(open_id=open_id).one()
        for i in range(count + 1):
            store.create_post(
                session,
                person_id=account.person_id,
                account_id=account.id,
                open_id=open_id,
                kind="video",
                mode=mode,
                choices={"title": f"planned {i}"},
                media=[],
                upload_id=None,
                scheduled_at=at.astimezone(UTC),
                time_zone=ZONE,
                state=states.SCHEDULED,
                due_at=at.astimezone(UTC),
                creator_info={},
                declaration="",
                label="",
            )
        last = session.query(store.Post).order_by(store.Post.id.desc()).first()
        assert last is not None
        last.state = states.CANCELLED


async def _day_caps(app: AppClient, csrf: str, at: datetime, mode: str = "direct") -> list[str]:
    answer = await app.client.post(
        "/compose/state",
        data={"scheduled_at": at.strftime("%Y-%m-%dT%H:%M"), "time_zone": ZONE, "mode": mode},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200, answer.text
    return re.findall(r'<li class="(day-cap(?:-full)?)" data-rule="([^"]+)">([^<]*)<', answer.text)


async def test_the_day_picked_shows_its_planned_posts_and_warns_when_full_CAP_3(
    app_client: AppClient,
) -> None:
    open_id = _new_creator(app_client.emulator)
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    csrf = await fetch_csrf(app_client.client, "/compose")
    busy, quiet = _local_day(3), _local_day(4)
    _seed(app_client, open_id, busy.replace(hour=8), 4)

    caps = {rule: (cls, text) for cls, rule, text in await _day_caps(app_client, csrf, busy)}
    cls, text = caps["CAP-3"]
    assert cls == "day-cap" and "4 posts planned" in text and busy.strftime("%A") in text
    cls, text = caps["CAP-1"]  # unaudited: the app's 5 accounts a day
    assert "1 of the 5 accounts" in text and cls == "day-cap"

    # The next day in the creator's zone is another day: nothing planned there.
    caps = {rule: (cls, text) for cls, rule, text in await _day_caps(app_client, csrf, quiet)}
    assert "no other posts planned" in caps["CAP-3"][1]

    # A full day warns (CAP-3 "warns before the limit").
    _seed(app_client, open_id, busy.replace(hour=20), limits.POSTS_PER_CREATOR_PER_DAY - 4)
    caps = {rule: (cls, text) for cls, rule, text in await _day_caps(app_client, csrf, busy)}
    cls, text = caps["CAP-3"]
    assert cls == "day-cap-full" and "Pick another day" in text


async def test_an_inbox_draft_shows_the_days_drafts_CAP_5(app_client: AppClient) -> None:
    open_id = _new_creator(app_client.emulator)
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    csrf = await fetch_csrf(app_client.client, "/compose")
    day = _local_day(2)
    _seed(app_client, open_id, day, limits.PENDING_SHARES_PER_DAY, mode="inbox")
    caps = {
        rule: (cls, text) for cls, rule, text in await _day_caps(app_client, csrf, day, "inbox")
    }
    assert "CAP-3" not in caps
    cls, text = caps["CAP-5"]
    assert cls == "day-cap-full" and "Pick another day" in text


async def test_a_time_that_cannot_be_read_says_why_beside_the_field(
    app_client: AppClient,
) -> None:
    open_id = _new_creator(app_client.emulator)
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    csrf = await fetch_csrf(app_client.client, "/compose")
    answer = await app_client.client.post(
        "/compose/state",
        data={"scheduled_at": "2020-01-01T09:00", "time_zone": ZONE},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200
    assert 'data-testid="schedule-problem"' in answer.text and "has passed" in answer.text
    assert 'data-testid="day-caps"' not in answer.text


def test_a_day_with_a_clock_change_is_bounded_by_its_own_midnights() -> None:
    # 2026-11-01: New York leaves daylight saving time; that day lasts 25 hours.
    now = datetime(2026, 10, 20, tzinfo=UTC)
    day = ScheduleField(at="2026-11-01T09:00", zone=ZONE).day(now=now)
    assert isinstance(day, ScheduledDay)
    assert day.start == datetime(2026, 11, 1, 4, tzinfo=UTC)  # 00:00 EDT
    assert day.end == datetime(2026, 11, 2, 5, tzinfo=UTC)  # 00:00 EST
    assert day.label == "Sunday 1 November"
    assert ScheduleField(at="", zone=ZONE).day(now=now) is None
