"""The calendar: a month or a week of the signed-in person's posts across all their accounts,
in their time zone, with each day's caps (CAP-1, CAP-3, CAP-5).

`GET /calendar?view=month|week&date=YYYY-MM-DD&tz=Area/City&account=ID&state=NAME`

- `tz`: the zone the days and times are shown in. The page's script fills it with the
  browser's own zone (`Intl`); without it the server uses the zone of the person's latest post
  (the zone they last picked on the Post page), else UTC. An unknown zone is said so and the
  default is used.
- `state` and `account` filter what is shown (the posts list's state groups); the caps count
  every post of the day whatever the filters.

Moving a post (a drag, the arrow keys, or the plain form under "Move") goes to the existing
`POST /posts/{id}/schedule`, which alone decides whether the post may still move.

Cost: at most three statements besides the session's (the zone default when `tz` is missing,
the posts of the whole grid, the app's creator count per day), whatever the number of posts or
days (tests/web/test_calendar_page_cost.py).
"""

from __future__ import annotations

from datetime import date as Date
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.web.api_contract import DATABASE, INVALID, SIGNED_IN, html_route
from directpost.web.calendar_view import (
    VIEWS,
    build_calendar,
    day_edges,
    grid_days,
    known_zone,
)
from directpost.web.deps import CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.post_views import FILTER_LABELS, STATE_FILTERS
from directpost.web.templating import render

router = APIRouter(tags=["calendar"])

#: Dates the calendar will show: far enough for any schedule (60 days ahead) or history.
_EARLIEST, _LATEST = Date(2000, 1, 1), Date(2199, 12, 1)


def _anchor(value: str, today: Date) -> tuple[Date, str]:
    """The day asked for, or today with the reason it could not be read."""
    if not value:
        return today, ""
    try:
        asked = Date.fromisoformat(value)
    except ValueError:
        return today, _("The date %(value)s cannot be read; showing today.") % {"value": value[:40]}
    if not _EARLIEST <= asked <= _LATEST:
        return today, _("That date is out of the calendar's range; showing today.")
    return asked, ""


def _posts_list(state: str, account: int | None) -> str:
    """The posts list (the queue view) with the same filters."""
    query = urlencode({k: v for k, v in (("state", state), ("account", account)) if v})
    return "/posts" + (f"?{query}" if query else "")


@router.get(
    "/calendar",
    response_class=HTMLResponse,
    responses=html_route(SIGNED_IN, DATABASE, INVALID),
)
def calendar_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    view: str = "month",
    date: str = "",
    tz: str = "",
    account: int | None = None,
    state: str = "",
) -> Response:
    """A month or a week of the person's posts: every post on its local day, with its local
    time, account nickname and cover; scheduled ones can be moved."""
    notices: list[str] = []
    view = view if view in VIEWS else "month"
    zone = known_zone(tz)
    zone_name = tz if zone is not None else ""
    zone_from_address = zone is not None  # else the page's script may offer the browser's
    if zone is None:
        zone_name = store.latest_time_zone(db, person_id=person.id) or "UTC"
        zone = known_zone(zone_name) or ZoneInfo("UTC")
        zone_name = zone.key
        if tz:
            notices.append(
                _("Unknown time zone %(asked)s; showing %(zone)s.")
                % {"asked": tz[:64], "zone": zone_name}
            )
    now = utcnow()
    today = now.astimezone(zone).date()
    anchor, problem = _anchor(date, today)
    if problem:
        notices.append(problem)
    names = {a.id: a.display_name or a.open_id for a in person.accounts}
    account_filter = account if account in names else None
    state_filter = state if state in STATE_FILTERS else ""

    days, _first, _last = grid_days(view, anchor)
    edges = day_edges(days, zone)
    posts = store.posts_between(db, person_id=person.id, start=edges[0], end=edges[-1])
    creators = store.creators_per_day(db, bounds=edges)
    settings = services.settings
    calendar = build_calendar(
        view=view,
        anchor=anchor,
        zone_name=zone_name,
        posts=posts,
        creators=creators,
        account_names=names,
        account_filter=account_filter,
        state_filter=state_filter,
        audited=settings.app_audited,
        configured_creator_cap=settings.creator_cap_per_day,
        now=now,
    )
    kept = {"tz": zone_name, "account": account_filter or "", "state": state_filter}

    def link(**changes: object) -> str:
        query = {**kept, "view": view, "date": anchor.isoformat(), **changes}
        return "/calendar?" + urlencode({k: v for k, v in query.items() if v not in ("", None)})

    return render(
        request,
        "calendar/page.html",
        {
            "calendar": calendar,
            "notices": notices,
            "zone_from_browser": zone_from_address,
            "accounts": sorted(names.items(), key=lambda item: item[1].lower()),
            "account_filter": account_filter,
            "state_filter": state_filter,
            "state_filters": [(name, _(label)) for name, label in FILTER_LABELS.items()],
            "anchor": anchor,
            "link": link,
            "here": link(),
            "list_link": _posts_list(state_filter, account_filter),
        },
    )
