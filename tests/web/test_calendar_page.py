"""The calendar page (issue 17) over the real app in-process and the real emulator, with posts
seeded in the database: each post on its local day (where the UTC date is another), only the
signed-in person's posts, each day's caps (CAP-1, CAP-3), the filters, bad input said plainly,
and the plain "Move" form that works without script.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx2
import pytest

from directpost.publishing import states
from directpost.rules import limits
from directpost.store import posts as store
from directpost.store.accounts import TikTokAccount
from directpost.web.calendar_view import day_edges, grid_days
from tests.fixtures.live import AppClient, Personas, api_sign_in

LA = "America/Los_Angeles"
TOKYO = "Asia/Tokyo"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def seed(
    app: AppClient,
    open_id: str,
    at: datetime,
    *,
    zone: str = LA,
    title: str = "planned",
    state: str = states.SCHEDULED,
    count: int = 1,
) -> list[int]:
    """`count` posts of this creator placed at `at` (scheduled for then), in `state`."""
    made: list[int] = []
    with app.app.state.services.factory() as session, session.begin():
        account = session.query(TikTokAccount).filter_by(open_id=open_id).one()
        for i in range(count):
            post = store.create_post(
                session,
                person_id=account.person_id,
                account_id=account.id,
                open_id=open_id,
                kind="video",
                mode="direct",
                choices={"title": f"{title} {i}" if count > 1 else title},
                media=[],
                upload_id=None,
                scheduled_at=at.astimezone(UTC),
                time_zone=zone,
                state=states.SCHEDULED,
                due_at=at.astimezone(UTC),
                creator_info={},
                declaration="",
                label="",
            )
            post.state = state  # seeded as the database would hold it (tests/fixtures/post_states)
            made.append(post.id)
    return made


def day_cells(html: str) -> dict[str, str]:
    """Each day cell's HTML by its date (`id="day-YYYY-MM-DD"`)."""
    parts = re.split(r'(?=<li class="cal-day[^"]*" id="day-)', html)
    cells: dict[str, str] = {}
    for part in parts[1:]:
        found = re.match(r'<li class="cal-day[^"]*" id="day-(\d{4}-\d\d-\d\d)"', part)
        assert found is not None
        cells[found.group(1)] = part
    return cells


def late_evening(days_ahead: int, zone: str = LA) -> datetime:
    """23:30 local, `days_ahead` days from today in `zone`: already the next day in UTC."""
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, 23, 30, tzinfo=ZoneInfo(zone))


async def calendar(client: httpx2.AsyncClient, **query: str) -> str:
    answer = await client.get("/calendar", params=query)
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.mark.anyio
async def test_a_post_sits_on_its_local_day_when_the_utc_date_is_another(
    app_client: AppClient,
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    at = late_evening(3)
    (post_id,) = seed(app_client, "demo-private", at, title="Late show")
    local_day, utc_day = at.date(), at.astimezone(UTC).date()
    assert local_day != utc_day

    html = await calendar(app_client.client, view="week", date=local_day.isoformat(), tz=LA)
    cells = day_cells(html)
    assert f'data-post-id="{post_id}"' in cells[local_day.isoformat()]
    assert "23:30" in cells[local_day.isoformat()] and "Late show" in html
    assert "Pim Private" in cells[local_day.isoformat()]  # the account's nickname
    if utc_day.isoformat() in cells:
        assert f'data-post-id="{post_id}"' not in cells[utc_day.isoformat()]

    # In Tokyo the same moment is the afternoon of the next day.
    html = await calendar(app_client.client, view="week", date=utc_day.isoformat(), tz=TOKYO)
    tokyo = at.astimezone(ZoneInfo(TOKYO))
    cell = day_cells(html)[tokyo.date().isoformat()]
    assert f'data-post-id="{post_id}"' in cell and tokyo.strftime("%H:%M") in cell


@pytest.mark.anyio
async def test_the_month_shows_only_the_signed_in_persons_posts(personas: Personas) -> None:
    at = late_evening(5)
    (mine,) = seed(personas.app, "demo-private", at, title="Mine")
    (theirs,) = seed(personas.app, "demo-public", at, title="Theirs")

    html = await calendar(personas.creator, date=at.date().isoformat(), tz=LA)
    assert f'data-post-id="{mine}"' in html
    assert f'data-post-id="{theirs}"' not in html
    assert "Theirs" not in html and "Pia Public" not in html
    # Only a count crosses people: the app's creator cap (CAP-1) counts both accounts.
    cell = day_cells(html)[at.date().isoformat()]
    assert "2 of the 5 accounts" in cell

    html = await calendar(personas.other, date=at.date().isoformat(), tz=LA)
    assert f'data-post-id="{theirs}"' in html and f'data-post-id="{mine}"' not in html

    # A visitor is sent to sign in.
    answer = await personas.visitor.get("/calendar", headers={"accept": "text/html"})
    assert answer.status_code == 303


@pytest.mark.anyio
async def test_each_day_shows_the_accounts_caps_and_warns_when_full_CAP_3(
    app_client: AppClient,
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    busy = late_evening(4).replace(hour=9, minute=0)
    seed(app_client, "demo-private", busy, count=3)
    seed(app_client, "demo-private", busy, state=states.CANCELLED)  # never counted

    cell = day_cells(await calendar(app_client.client, date=busy.date().isoformat(), tz=LA))[
        busy.date().isoformat()
    ]
    caps = re.findall(r'<li class="(day-cap(?:-full)?)" data-rule="([^"]+)">(.*?)</li>', cell)
    by_rule = {rule: (cls, text) for cls, rule, text in caps}
    assert by_rule["CAP-3"][0] == "day-cap"
    assert "Pim Private" in by_rule["CAP-3"][1] and "3 posts planned" in by_rule["CAP-3"][1]
    assert busy.strftime("%A") in by_rule["CAP-3"][1]
    assert "1 of the 5 accounts" in by_rule["CAP-1"][1]

    seed(app_client, "demo-private", busy, count=limits.POSTS_PER_CREATOR_PER_DAY - 3)
    cell = day_cells(
        await calendar(app_client.client, view="week", date=busy.date().isoformat(), tz=LA)
    )[busy.date().isoformat()]
    assert re.search(r'class="day-cap-full" data-rule="CAP-3">.*Pick another day', cell)
    assert "cal-caps-full" in cell
    # The month cell lists a few posts and says how many more the week shows.
    cell = day_cells(await calendar(app_client.client, date=busy.date().isoformat(), tz=LA))[
        busy.date().isoformat()
    ]
    assert f"{limits.POSTS_PER_CREATOR_PER_DAY + 1 - 4} more" in cell


@pytest.mark.anyio
async def test_filters_by_state_and_account_keep_the_days_caps(app_client: AppClient) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    at = late_evening(6).replace(hour=10)
    (waiting,) = seed(app_client, "demo-private", at, title="Waiting")
    (done,) = seed(app_client, "demo-private", at, title="Done", state=states.PUBLISHED)
    day = at.date().isoformat()

    html = await calendar(app_client.client, date=day, tz=LA, state="done")
    assert f'data-post-id="{done}"' in html and f'data-post-id="{waiting}"' not in html
    assert "2 posts planned" in day_cells(html)[day]  # the caps count every post
    html = await calendar(app_client.client, date=day, tz=LA, state="scheduled")
    assert f'data-post-id="{waiting}"' in html and f'data-post-id="{done}"' not in html
    # Only the scheduled post has a Move form.
    assert f'action="/posts/{waiting}/schedule"' in html
    html = await calendar(app_client.client, date=day, tz=LA)
    assert f'action="/posts/{done}/schedule"' not in html

    with app_client.app.state.services.factory() as session:
        account_id = session.query(TikTokAccount).filter_by(open_id="demo-private").one().id
    html = await calendar(app_client.client, date=day, tz=LA, account=str(account_id))
    assert f'data-post-id="{waiting}"' in html
    html = await calendar(app_client.client, date=day, tz=LA, account=str(account_id + 999))
    assert f'data-post-id="{waiting}"' in html  # not one of theirs: no filter
    # The list view filters the same way.
    listed = await app_client.client.get(f"/posts?state=scheduled&account={account_id}")
    assert f'data-post-id="{waiting}"' in listed.text
    assert f'data-post-id="{done}"' not in listed.text


@pytest.mark.anyio
async def test_the_zone_defaults_to_the_latest_posts_and_bad_input_is_said_plainly(
    app_client: AppClient,
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    html = await calendar(app_client.client)
    assert 'value="UTC"' in html and "data-detect-zone" in html  # no post yet: UTC

    seed(app_client, "demo-private", late_evening(2, TOKYO), zone=TOKYO)
    html = await calendar(app_client.client)
    assert f'data-zone="{TOKYO}"' in html

    html = await calendar(app_client.client, tz="Mars/Olympus_Mons", date="someday", view="x")
    assert "Unknown time zone Mars/Olympus_Mons" in html
    assert "cannot be read; showing today" in html
    assert f'data-zone="{TOKYO}"' in html and "cal-month" in html
    html = await calendar(app_client.client, date="0001-01-01", tz="UTC")
    assert "out of the calendar" in html
    answer = await app_client.client.get("/calendar", params={"account": "not-a-number"})
    assert answer.status_code == 422


@pytest.mark.anyio
async def test_the_move_form_works_without_script_and_returns_to_the_calendar(
    app_client: AppClient,
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    at = late_evening(3).replace(hour=9)
    (post_id,) = seed(app_client, "demo-private", at)
    (started,) = seed(app_client, "demo-private", at, state=states.PROCESSING)
    here = f"/calendar?tz={LA}&view=week&date={at.date().isoformat()}"
    html = await calendar(app_client.client, view="week", date=at.date().isoformat(), tz=LA)
    form = re.search(
        rf'<form method="post" action="/posts/{post_id}/schedule">(.*?)</form>', html, re.S
    )
    assert form is not None
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1)))
    assert fields["time_zone"] == LA and fields["back"].startswith("/calendar?")
    assert fields["scheduled_at"] == at.strftime("%Y-%m-%dT%H:%M")

    target = at + timedelta(days=2, hours=1)
    fields.update(scheduled_at=target.strftime("%Y-%m-%dT%H:%M"), back=here)
    answer = await app_client.client.post(f"/posts/{post_id}/schedule", data=fields)
    assert answer.status_code == 303 and answer.headers["location"] == here
    with app_client.app.state.services.factory() as session:
        post = store.get_post(session, post_id=post_id)
        assert post is not None and post.scheduled_at == target.astimezone(UTC)
    day = target.date().isoformat()
    cells = day_cells(await calendar(app_client.client, view="week", date=day, tz=LA))
    assert f'data-post-id="{post_id}"' in cells[day]

    # A started post does not move; `back` never leads off the calendar.
    fields.update(back="https://elsewhere.example/")
    answer = await app_client.client.post(f"/posts/{started}/schedule", data=fields)
    assert answer.status_code == 409
    answer = await app_client.client.post(f"/posts/{post_id}/schedule", data=fields)
    assert answer.status_code == 303 and answer.headers["location"] == f"/posts/{post_id}"


def test_a_day_is_not_always_24_hours_and_weeks_start_on_monday() -> None:
    days, first, last = grid_days("month", date(2026, 3, 15))
    assert (first, last) == (date(2026, 3, 1), date(2026, 3, 31))
    assert days[0].weekday() == 0 and days[-1].weekday() == 6 and len(days) % 7 == 0
    edges = day_edges([date(2026, 3, 29)], ZoneInfo("Europe/Paris"))
    assert edges[1] - edges[0] == timedelta(hours=23)  # the clocks go forward that night


@pytest.mark.anyio
async def test_the_list_link_keeps_the_filters_and_the_list_answers_them(
    app_client: AppClient,
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    with app_client.app.state.services.factory() as session:
        account_id = session.query(TikTokAccount).filter_by(open_id="demo-private").one().id
    html = await calendar(app_client.client, state="attention", account=str(account_id))
    link = re.search(r'<a href="(/posts[^"]*)">List</a>', html)
    assert link is not None
    assert link.group(1) == f"/posts?state=attention&amp;account={account_id}"
    listed = await app_client.client.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200 and 'aria-current="page">Needs attention' in listed.text
