"""The calendar page's view model: which days a month or a week shows in the person's zone,
each post on its local day, and each day's caps (CAP-1, CAP-3, CAP-5) from counts.

Everything here is arithmetic on what the route read in its few statements (the person's posts
of the range, the app's creator count per day): no day asks the database anything, and the
caps' wording comes from `rules.day_caps`, the same sentences the Post page shows.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from directpost import rules
from directpost.publishing import lifecycle, outcomes
from directpost.store import posts as store
from directpost.store.posts.calendar import NOT_COUNTED
from directpost.web.i18n import _
from directpost.web.post_views import STATE_FILTERS, cover_of

VIEWS = ("month", "week")
#: A month cell lists this many posts, then "N more" (the week view lists every post).
MONTH_CELL_POSTS = 4


@dataclass(frozen=True, slots=True)
class CalendarPost:
    """One post as a calendar cell shows it (no internal fields, no tokens)."""

    id: int
    title: str
    kind: str
    state: str
    state_label: str
    account_name: str
    #: Its time in the calendar's zone: "09:30", and as a datetime-local value for the form.
    local_time: str
    local_value: str
    #: Not started yet: it may be moved (`lifecycle.can_reschedule`), by drag, keys or form.
    movable: bool
    thumb_url: str = ""
    thumb_is_video: bool = False


@dataclass(frozen=True, slots=True)
class AccountCaps:
    """One account's caps on one day: CAP-3 (and CAP-5 for inbox drafts)."""

    account_name: str
    caps: list[rules.DayCap]


@dataclass(slots=True)
class CalendarDay:
    """One local day of the grid, its posts (filtered as asked) and its caps."""

    day: date
    label: str
    in_range: bool
    today: bool
    past: bool
    posts: list[CalendarPost] = field(default_factory=list)
    account_caps: list[AccountCaps] = field(default_factory=list)
    #: The app's creator cap that day (CAP-1), when it is worth saying.
    creator_cap: rules.DayCap | None = None
    #: Posts the month cell leaves out (shown by the week view).
    more: int = 0

    @property
    def iso(self) -> str:
        return self.day.isoformat()

    @property
    def any_full(self) -> bool:
        full = [c.full for a in self.account_caps for c in a.caps]
        return any(full) or (self.creator_cap is not None and self.creator_cap.full)


def day_label(day: date) -> str:
    """A day in the creator's words, as the Post page's caps say it ("Tuesday 8 December")."""
    return f"{day:%A} {day.day} {day:%B}"


def known_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def grid_days(view: str, anchor: date) -> tuple[list[date], date, date]:
    """The days shown (whole weeks, Monday first) and the first and last day of the month or
    week asked for."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return [first + timedelta(days=i) for i in range(7)], first, first + timedelta(days=6)
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    last = following - timedelta(days=1)
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    return [start + timedelta(days=i) for i in range((end - start).days + 1)], first, last


def day_edges(days: Sequence[date], zone: ZoneInfo) -> list[datetime]:
    """Each day's local midnight in UTC, and the midnight after the last day: a day is not
    always 24 hours (daylight saving), so every edge comes from the zone."""
    edges = [*days, days[-1] + timedelta(days=1)]
    return [datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC) for d in edges]


def neighbours(view: str, anchor: date) -> tuple[date, date]:
    """The anchors of the previous and the next month or week."""
    if view == "week":
        return anchor - timedelta(days=7), anchor + timedelta(days=7)
    first = anchor.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return previous, following


def caps_of_day(
    label: str,
    *,
    accounts: Iterable[tuple[str, int, int]],
    creators: int,
    audited: bool,
    configured_creator_cap: int,
) -> tuple[list[AccountCaps], rules.DayCap | None]:
    """A day's caps from its counts: per account (name, posts, inbox drafts) CAP-3 or CAP-5,
    and the app's creator cap (CAP-1) once for the day, all worded by `rules.day_caps`."""
    per_account: list[AccountCaps] = []
    creator_cap: rules.DayCap | None = None
    for name, posts, inbox in accounts:
        caps: list[rules.DayCap] = []
        modes: list[rules.PostMode] = ["direct"] if posts > inbox else []
        if inbox:
            modes.append("inbox")
        for mode in modes:
            for cap in rules.day_caps(
                day=label,
                mode=mode,
                audited=audited,
                configured_creator_cap=configured_creator_cap,
                creators=creators,
                creator_included=True,
                posts=posts,
                inbox=inbox,
            ):
                if cap.rule != "CAP-1":
                    caps.append(cap)
        per_account.append(AccountCaps(name, caps))
    # CAP-1 as it stands for an account with nothing that day: full means a post from another
    # account of this app would be refused on that day.
    for cap in rules.day_caps(
        day=label,
        mode="direct",
        audited=audited,
        configured_creator_cap=configured_creator_cap,
        creators=creators,
        creator_included=False,
        posts=0,
        inbox=0,
    ):
        if cap.rule == "CAP-1":
            creator_cap = cap
    return per_account, creator_cap


@dataclass(frozen=True, slots=True)
class Calendar:
    """Everything the calendar template shows."""

    view: str
    zone: str
    first: date
    last: date
    days: list[CalendarDay]
    previous: date
    following: date

    @property
    def title(self) -> str:
        if self.view == "week":
            return f"{self.first.day} {self.first:%B} – {self.last.day} {self.last:%B %Y}"
        return f"{self.first:%B %Y}"

    @property
    def weeks(self) -> list[list[CalendarDay]]:
        return [self.days[i : i + 7] for i in range(0, len(self.days), 7)]


def _shown(post: store.PlacedPost, local: datetime, account_name: str) -> CalendarPost:
    """A post as its cell shows it; its JSON decoded now, for the posts shown only."""
    choices = json.loads(post.choices_json or "null") or {}
    media = json.loads(post.media_json or "null") or []
    thumb_url, thumb_is_video = cover_of(
        kind=post.kind,
        choices=choices if isinstance(choices, dict) else {},
        media=media if isinstance(media, list) else [],
        upload_id=post.upload_id,
    )
    return CalendarPost(
        id=post.id,
        title=str(choices.get("title", "")) if isinstance(choices, dict) else "",
        kind=post.kind,
        state=post.state,
        state_label=_(outcomes.STATE_LABELS.get(post.state, post.state)),
        account_name=account_name,
        local_time=local.strftime("%H:%M"),
        local_value=local.strftime("%Y-%m-%dT%H:%M"),
        movable=lifecycle.can_reschedule(post.state),
        thumb_url=thumb_url,
        thumb_is_video=thumb_is_video,
    )


def build_calendar(
    *,
    view: str,
    anchor: date,
    zone_name: str,
    posts: Sequence[store.PlacedPost],
    creators: Sequence[int],
    account_names: dict[int, str],
    account_filter: int | None,
    state_filter: str,
    audited: bool,
    configured_creator_cap: int,
    now: datetime,
) -> Calendar:
    """Place the posts (read for the whole grid) on their local days; count every post for
    the caps, whatever the filters show."""
    zone = ZoneInfo(zone_name)
    days_list, first, last = grid_days(view, anchor)
    today = now.astimezone(zone).date()
    edges = day_edges(days_list, zone)
    days = [
        CalendarDay(
            day=d,
            label=day_label(d),
            in_range=first <= d <= last,
            today=d == today,
            past=d < today,
        )
        for d in days_list
    ]
    counted: list[Counter[tuple[int, str]]] = [Counter() for _ in days]
    listed: list[list[store.PlacedPost]] = [[] for _ in days]
    shown_states = STATE_FILTERS.get(state_filter)
    for post in posts:
        # Its day by the edges (UTC instants): no zone arithmetic for the thousands of posts a
        # month may hold; only the posts shown get their local time.
        i = bisect_right(edges, post.placed_at) - 1
        if not 0 <= i < len(days):
            continue
        if post.state not in NOT_COUNTED:
            counted[i][(post.account_id, post.mode)] += 1
        if account_filter is not None and post.account_id != account_filter:
            continue
        if shown_states is not None and post.state not in shown_states:
            continue
        listed[i].append(post)
    for i, day in enumerate(days):
        shown = listed[i]
        if view == "month" and len(shown) > MONTH_CELL_POSTS:
            day.more = len(shown) - MONTH_CELL_POSTS
            shown = shown[:MONTH_CELL_POSTS]
        day.posts = [
            _shown(p, p.placed_at.astimezone(zone), account_names.get(p.account_id, ""))
            for p in shown
        ]
        accounts: dict[int, list[int]] = {}
        for (account_id, mode), n in counted[i].items():
            totals = accounts.setdefault(account_id, [0, 0])
            totals[0] += n
            if mode == "inbox":
                totals[1] += n
        if account_filter is not None:
            accounts = {k: v for k, v in accounts.items() if k == account_filter}
        day.account_caps, creator_cap = caps_of_day(
            day.label,
            accounts=[
                (account_names.get(a, ""), posts_n, inbox)
                for a, (posts_n, inbox) in sorted(accounts.items())
            ],
            creators=creators[i] if i < len(creators) else 0,
            audited=audited,
            configured_creator_cap=configured_creator_cap,
        )
        if creator_cap is not None and (accounts or creator_cap.full):
            day.creator_cap = creator_cap
    previous, following = neighbours(view, anchor)
    return Calendar(view, zone_name, first, last, days, previous, following)
