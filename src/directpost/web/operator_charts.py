"""The operator page's charts (DG-3): the app's own figures over the last hour, day or week.

Built from two sources, in one worker-thread trip: the measures every process adds up per
minute (`store.measures`: TikTok's answers by endpoint and outcome, Post page render times) and
the posts that ended (`store.measures.finished_posts`: time from queued to final, success).
Each chart is a view model the template shows as an SVG (`web.charts`), a table of the same
numbers, or a sentence saying there is nothing to show yet. Aggregates only: nothing about
any one person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from sqlalchemy.orm import Session

from directpost.store.measures import (
    LATENCY_BOUNDS_S,
    FinishedPost,
    SlotTotal,
    finished_posts,
    slot_totals,
)
from directpost.web.charts import (
    Bar,
    Format,
    Series,
    bar_chart,
    line_chart,
    nice_seconds,
    percent_text,
    seconds_text,
)
from directpost.web.i18n import _

#: The windows the page offers: slots and minutes per slot, and how a slot's time is written.
WINDOWS: dict[str, tuple[int, int, str]] = {
    "hour": (30, 2, "%H:%M"),
    "day": (24, 60, "%H:%M"),
    "week": (28, 360, "%a %H:%M"),
}
DEFAULT_WINDOW = "day"
#: Outcomes in which TikTok did not answer usably: they count against availability.
UNANSWERED = ("no_answer", "http_5xx")


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its heading, the SVG (None: nothing measured), and the same data as rows."""

    chart_id: str
    title: str
    empty: str
    svg: Markup | None
    legend: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class OperatorCharts:
    """The charts for one window, in the order the page shows them."""

    window: str
    charts: tuple[Chart, ...]


def window_links() -> tuple[tuple[str, str], ...]:
    """The window switch's links: (window, its name on the page)."""
    return (("hour", _("Last hour")), ("day", _("Last day")), ("week", _("Last week")))


def window_name(raw: str | None) -> str:
    """The window asked for, or the default for anything else (a link the page did not make)."""
    return raw if raw in WINDOWS else DEFAULT_WINDOW


def estimate_quantile(buckets: Sequence[int], q: float) -> float | None:
    """The q-quantile of a latency histogram over `LATENCY_BOUNDS_S`, interpolated within its
    bucket (the last, open bucket answers its lower bound). None for an empty histogram."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            if index >= len(LATENCY_BOUNDS_S):
                return LATENCY_BOUNDS_S[-1]
            low = LATENCY_BOUNDS_S[index - 1] if index else 0.0
            high = LATENCY_BOUNDS_S[index]
            return low + (high - low) * max(0.0, rank - seen) / count
        seen += count
    return LATENCY_BOUNDS_S[-1]


def _exact_quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def _add(into: list[int], buckets: Sequence[int]) -> None:
    for index, value in enumerate(buckets):
        into[index] += value


def _rows(
    x_labels: Sequence[str], series: Sequence[Series], fmt: Format
) -> tuple[tuple[str, ...], ...]:
    """The table beside a line chart: one row per slot that has a value."""
    rows = []
    for index, label in enumerate(x_labels):
        values = [s.values[index] for s in series]
        if all(v is None for v in values):
            continue
        rows.append((label, *("—" if v is None else fmt(v) for v in values)))
    return tuple(rows)


def _line(
    chart_id: str,
    title: str,
    empty: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Format,
    y_max: float | None = None,
    summary: str,
) -> Chart:
    if all(v is None for s in series for v in s.values):
        return Chart(chart_id, title, empty, None)
    svg = line_chart(
        chart_id=chart_id,
        title=title,
        description=summary,
        x_labels=x_labels,
        series=series,
        y_format=fmt,
        y_max=y_max,
    )
    return Chart(
        chart_id,
        title,
        empty,
        svg,
        legend=tuple(s.name for s in series),
        columns=(_("Time (UTC)"), *(s.name for s in series)),
        rows=_rows(x_labels, series, fmt),
    )


def _seconds_top(*values: Sequence[float | None]) -> float:
    """A latency axis' top: round seconds, or round minutes past a minute."""
    return nice_seconds(max((v for vs in values for v in vs if v is not None), default=0.0))


def _latency_chart(totals: list[SlotTotal], slots: int, x_labels: list[str]) -> Chart:
    per_slot = [[0] * (len(LATENCY_BOUNDS_S) + 1) for _slot in range(slots)]
    for total in totals:
        if total.label == "compose" and total.outcome == "ok":
            _add(per_slot[total.slot], total.buckets)
    p50 = tuple(estimate_quantile(b, 0.5) for b in per_slot)
    p95 = tuple(estimate_quantile(b, 0.95) for b in per_slot)
    renders = sum(sum(b) for b in per_slot)
    return _line(
        "chart-page-latency",
        _("Post page latency"),
        _("No Post page was shown in this window."),
        x_labels,
        [Series("p50", p50), Series("p95", p95)],
        fmt=seconds_text,
        y_max=_seconds_top(p50, p95),
        summary=_("Time to render the Post page, median and 95th percentile, %(n)d renders.")
        % {"n": renders},
    )


def _post_charts(
    posts: list[FinishedPost], start: datetime, step: int, x_labels: list[str]
) -> list[Chart]:
    slots = len(x_labels)
    spans: list[list[float]] = [[] for _slot in range(slots)]
    wins = [0] * slots
    for post in posts:
        index = int((post.finished_at - start).total_seconds() // (step * 60))
        if 0 <= index < slots:
            spans[index].append(post.seconds_to_final)
            wins[index] += post.succeeded
    p50 = tuple(_exact_quantile(s, 0.5) for s in spans)
    p95 = tuple(_exact_quantile(s, 0.95) for s in spans)
    rate = tuple(100.0 * w / len(s) if s else None for w, s in zip(wins, spans, strict=True))
    ended = sum(len(s) for s in spans)
    succeeded = sum(wins)
    no_posts = _("No post reached a final state in this window.")
    return [
        _line(
            "chart-publish-latency",
            _("Publish to final"),
            no_posts,
            x_labels,
            [Series("p50", p50), Series("p95", p95)],
            fmt=seconds_text,
            y_max=_seconds_top(p50, p95),
            summary=_("Time from a post being queued to its final state, %(n)d posts.")
            % {"n": ended},
        ),
        _line(
            "chart-success-rate",
            _("Success rate"),
            no_posts,
            x_labels,
            [Series(_("published or in the inbox"), rate)],
            fmt=percent_text,
            y_max=100.0,
            summary=_("%(ok)d of %(n)d posts that ended succeeded.")
            % {"ok": succeeded, "n": ended},
        ),
    ]


def _tiktok_charts(totals: list[SlotTotal], slots: int, x_labels: list[str]) -> list[Chart]:
    sent = [0] * slots
    answered = [0] * slots
    by_endpoint: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors: dict[str, int] = defaultdict(int)
    for total in totals:
        ok = total.outcome not in UNANSWERED
        sent[total.slot] += total.count
        answered[total.slot] += total.count if ok else 0
        by_endpoint[total.label][0] += total.count
        by_endpoint[total.label][1] += total.count if ok else 0
        if total.outcome != "ok":
            errors[_outcome_label(total.outcome)] += total.count
    share = tuple(100.0 * a / s if s else None for a, s in zip(answered, sent, strict=True))
    requests, replies = sum(sent), sum(answered)
    no_requests = _("No request was sent to TikTok in this window.")
    over_time = _line(
        "chart-availability",
        _("TikTok availability"),
        no_requests,
        x_labels,
        [Series(_("share of requests answered"), share)],
        fmt=percent_text,
        y_max=100.0,
        summary=_("%(a)d of %(n)d requests to TikTok were answered.")
        % {"a": replies, "n": requests},
    )
    endpoints = sorted(by_endpoint.items())
    endpoint_bars = [
        Bar(label, 100.0 * ok / n, percent_text(100.0 * ok / n)) for label, (n, ok) in endpoints
    ]
    by_endpoint_chart = Chart(
        "chart-availability-endpoints",
        _("TikTok availability by endpoint"),
        no_requests,
        bar_chart(
            chart_id="chart-availability-endpoints",
            title=_("TikTok availability by endpoint"),
            description=_("Share of requests answered, per endpoint, over the window."),
            bars=endpoint_bars,
            maximum=100.0,
        )
        if endpoint_bars
        else None,
        columns=(_("Endpoint"), _("Answered"), _("Sent")),
        rows=tuple((label, str(ok), str(n)) for label, (n, ok) in endpoints),
    )
    ranked = sorted(errors.items(), key=lambda item: (-item[1], item[0]))
    error_chart = Chart(
        "chart-errors",
        _("Errors by TikTok code"),
        _("TikTok answered every request without an error in this window."),
        bar_chart(
            chart_id="chart-errors",
            title=_("Errors by TikTok code"),
            description=_("How many requests ended in each error, over the window."),
            bars=[Bar(code, count, str(count)) for code, count in ranked],
            maximum=float(max((c for _code, c in ranked), default=0)),
            colour=1,
        )
        if ranked
        else None,
        columns=(_("Error"), _("Requests")),
        rows=tuple((code, str(count)) for code, count in ranked),
    )
    return [over_time, by_endpoint_chart, error_chart]


def _outcome_label(outcome: str) -> str:
    """An outcome as the error chart names it: TikTok's own code, or what happened."""
    if outcome.startswith("error:"):
        return outcome.removeprefix("error:")
    return {"http_5xx": "HTTP 5xx", "no_answer": _("no answer")}.get(
        outcome, outcome.replace("http_", "HTTP ")
    )


def operator_charts(session: Session, *, window: str, now: datetime) -> OperatorCharts:
    """The charts for `window` ("hour", "day", "week") ending at `now`: three statements."""
    slots, step, time_format = WINDOWS[window]
    end_minute = int(now.timestamp() // 60) + 1
    start_minute = end_minute - slots * step
    start = datetime.fromtimestamp(start_minute * 60, tz=UTC)
    x_labels = [(start + timedelta(minutes=step * i)).strftime(time_format) for i in range(slots)]
    pages = slot_totals(
        session, name="page", start_minute=start_minute, slots=slots, step_minutes=step
    )
    requests = slot_totals(
        session, name="tiktok", start_minute=start_minute, slots=slots, step_minutes=step
    )
    posts = finished_posts(session, since=start, until=start + timedelta(minutes=slots * step))
    charts = [
        _latency_chart(pages, slots, x_labels),
        *_post_charts(posts, start, step, x_labels),
        *_tiktok_charts(requests, slots, x_labels),
    ]
    return OperatorCharts(window=window, charts=tuple(charts))
