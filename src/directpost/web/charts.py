"""Small server-rendered SVG charts (DG-3's operator page): lines over time and labelled bars.

Our own few lines instead of a charting library: the page needs two kinds of chart, no
JavaScript and no CDN (the page's Content-Security-Policy allows neither), and an SVG built
here can be tested like any other HTML. Each chart is an `<svg role="img">` named by its
`<title>` and summarised by its `<desc>` (what a screen reader says); the page puts the same
numbers in a table beside it. The drawing scales with its box (`viewBox`, width 100 %): its
coordinates are sized so that its text stays readable from a 390 px phone to a desktop column.
Colours come from the stylesheet (`.chart-s0` …), so the SVG carries no style of its own.

Every value is escaped: labels may come from TikTok's answers (error codes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: The drawing's own coordinates (it scales to the width it is given).
WIDTH = 420
HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 28
#: Series colours the stylesheet defines (`.chart-s0` … `.chart-s5`), reused in turn.
PALETTE_SIZE = 6

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a name for the legend and a value per slot (None: nothing measured then)."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Bar:
    """One labelled bar: its length is `value` out of the chart's maximum, `text` is shown."""

    label: str
    value: float
    text: str


def _fmt_coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open_svg(chart_id: str, title: str, description: str, height: float) -> str:
    cid = escape(chart_id)
    return (
        f'<svg class="chart" id="{cid}" role="img" viewBox="0 0 {WIDTH} {_fmt_coord(height)}" '
        f'aria-labelledby="{cid}-title {cid}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(description)}</desc>'
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × a power of ten that is at least `value` (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 < value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value:
            return step * power
    return 10 * power


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_format: Format,
    y_max: float | None = None,
) -> Markup:
    """Lines over time slots, with a dot on each measured slot (a slot alone still shows) and
    gaps where nothing was measured. `y_max` fixes the axis' top (100 for a percentage)."""
    slots = len(x_labels)
    measured = [v for s in series for v in s.values if v is not None]
    top = y_max if y_max is not None else nice_ceiling(max(measured, default=0.0))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM

    def x_of(index: int) -> float:
        return _LEFT + (plot_w * (index + 0.5) / slots if slots else 0.0)

    def y_of(value: float) -> float:
        return _TOP + plot_h * (1 - min(max(value / top, 0.0), 1.0))

    parts = [_open_svg(chart_id, title, description, HEIGHT)]
    for fraction in (0.0, 0.5, 1.0):  # grid lines with their values
        y = _fmt_coord(y_of(top * fraction))
        parts.append(
            f'<line class="chart-grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-tick" x="{_LEFT - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(y_format(top * fraction))}</text>'
        )
    for index in sorted({0, slots // 2, slots - 1}) if slots else ():
        anchor = "start" if index == 0 else "end" if index == slots - 1 else "middle"
        x = _LEFT if index == 0 else WIDTH - _RIGHT if index == slots - 1 else x_of(index)
        parts.append(
            f'<text class="chart-tick" x="{_fmt_coord(x)}" y="{HEIGHT - 8}" '
            f'text-anchor="{anchor}">{escape(x_labels[index])}</text>'
        )
    for number, line in enumerate(series):
        colour = f"chart-s{number % PALETTE_SIZE}"
        parts.append(f'<g class="{colour}" data-series="{escape(line.name)}">')
        lines: list[str] = []
        dots: list[str] = []
        run: list[str] = []
        for index, value in enumerate([*line.values, None]):
            if value is None:
                if len(run) > 1:
                    lines.append(f'<polyline class="chart-line" points="{" ".join(run)}"/>')
                run = []
                continue
            cx, cy = _fmt_coord(x_of(index)), _fmt_coord(y_of(value))
            run.append(f"{cx},{cy}")
            dots.append(
                f'<circle class="chart-dot" cx="{cx}" cy="{cy}" r="3" '
                f'data-slot="{index}" data-value="{value:g}"/>'
            )
        parts.extend(lines + dots)  # dots over the lines
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    maximum: float,
    colour: int = 0,
) -> Markup:
    """Horizontal bars, one per row: the label above its bar and a short text after it, so
    long labels (TikTok's error codes, API paths) fit a phone's width. One colour: the bars
    are one quantity, only their lengths differ."""
    row_h = 40
    height = _TOP + row_h * len(bars) + 4
    text_room = 76
    plot_w = WIDTH - 8 - text_room
    parts = [_open_svg(chart_id, title, description, height)]
    for number, bar in enumerate(bars):
        top = _TOP + number * row_h
        length = plot_w * (bar.value / maximum) if maximum > 0 else 0.0
        length = max(length, 2.0) if bar.value > 0 else 0.0
        parts.append(
            f'<g class="chart-s{colour % PALETTE_SIZE}" data-label="{escape(bar.label)}" '
            f'data-value="{bar.value:g}">'
            f'<text class="chart-label" x="8" y="{top + 12}">{escape(bar.label)}</text>'
            f'<rect class="chart-track" x="8" y="{top + 18}" width="{_fmt_coord(plot_w)}" '
            f'height="14" rx="2"/>'
            f'<rect class="chart-bar" x="8" y="{top + 18}" width="{_fmt_coord(length)}" '
            f'height="14" rx="2"/>'
            f'<text class="chart-value" x="{WIDTH - 4}" y="{top + 30}" text-anchor="end">'
            f"{escape(bar.text)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()


def nice_seconds(value: float) -> float:
    """An axis' top for durations: round seconds, or round minutes past a minute."""
    if value > 60:
        return nice_ceiling(value / 60) * 60
    return nice_ceiling(value)


def seconds_text(value: float) -> str:
    """A latency for an axis or a table: ms under a second, s under a minute, else min."""
    if value == 0:
        return "0"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s".replace(".0 s", " s")
    return f"{value / 60:.1f} min".replace(".0 min", " min")


def percent_text(value: float) -> str:
    """A share for an axis or a table, as a percentage with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".") + " %"
