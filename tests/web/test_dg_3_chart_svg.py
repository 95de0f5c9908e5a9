"""DG-3: the operator page's charts are our own small SVG: named for screen readers, drawn to
scale, with gaps where nothing was measured, and escaping what TikTok's answers put in them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from directpost.store.measures import LATENCY_BOUNDS_S
from directpost.web.charts import (
    HEIGHT,
    Bar,
    Series,
    bar_chart,
    line_chart,
    nice_ceiling,
    percent_text,
    seconds_text,
)
from directpost.web.operator_charts import estimate_quantile

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    # The page's inline SVG has no xmlns (HTML gives it one); add it to parse as XML.
    return ET.fromstring(markup.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def _line() -> ET.Element:
    svg = line_chart(
        chart_id="c1",
        title="Post page latency",
        description="Median and p95 of 7 renders.",
        x_labels=["10:00", "10:02", "10:04", "10:06"],
        series=[Series("p50", (0.1, None, 0.2, 0.4)), Series("p95", (0.5, None, None, 0.8))],
        y_format=seconds_text,
    )
    return _parse(str(svg))


def test_a_line_chart_is_an_image_named_by_its_title_and_description_DG_3() -> None:
    svg = _line()
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.findtext(f"{SVG}title") == "Post page latency"
    assert svg.findtext(f"{SVG}desc") == "Median and p95 of 7 renders."
    assert svg.get("viewBox") == f"0 0 420 {HEIGHT}"


def test_a_line_breaks_where_a_slot_has_no_value_and_dots_show_every_value_DG_3() -> None:
    svg = _line()
    p50, p95 = svg.findall(f"{SVG}g")
    assert p50.get("data-series") == "p50"
    # p50: a lone first point, then a two-point run (slots 2 and 3): one polyline.
    assert len(p50.findall(f"{SVG}polyline")) == 1
    assert [c.get("data-value") for c in p50.findall(f"{SVG}circle")] == ["0.1", "0.2", "0.4"]
    assert len(p95.findall(f"{SVG}polyline")) == 0  # its two points are not adjacent
    assert [c.get("data-slot") for c in p95.findall(f"{SVG}circle")] == ["0", "3"]


def test_values_are_drawn_to_scale_against_the_axis_DG_3() -> None:
    svg = _line()
    ticks = [t.text for t in svg.iter(f"{SVG}text")]
    assert "1 s" in ticks  # nice_ceiling(0.8) is the axis' top
    dots = {c.get("data-value"): float(c.get("cy", "0")) for c in svg.iter(f"{SVG}circle")}
    bottom, top = HEIGHT - 28, 12
    assert dots["0.4"] == pytest.approx(bottom - (bottom - top) * 0.4, abs=0.1)
    assert dots["0.8"] < dots["0.5"] < dots["0.2"]


def test_bars_are_proportional_and_labels_from_tiktok_are_escaped_DG_3() -> None:
    svg = bar_chart(
        chart_id="errors",
        title="Errors by TikTok code",
        description="Counts.",
        bars=[Bar("rate_limit_exceeded", 4, "4"), Bar('<script>alert("x")</script>', 1, "1")],
        maximum=4,
    )
    assert "<script>" not in str(svg)
    parsed = _parse(str(svg))
    groups = parsed.findall(f"{SVG}g")
    assert [g.get("data-label") for g in groups] == [
        "rate_limit_exceeded",
        '<script>alert("x")</script>',
    ]
    widths = [float(g.findall(f"{SVG}rect")[1].get("width", "0")) for g in groups]
    assert widths[0] == pytest.approx(4 * widths[1])


def test_axis_tops_and_texts_are_round_numbers_DG_3() -> None:
    assert [nice_ceiling(v) for v in (0, 0.8, 3, 7, 12, 240)] == [1, 1, 5, 10, 20, 250]
    assert seconds_text(0.042) == "42 ms"
    assert seconds_text(2) == "2 s"
    assert seconds_text(300) == "5 min"
    assert percent_text(66.6667) == "66.7 %"
    assert percent_text(100) == "100 %"


def test_quantiles_are_estimated_within_the_histogram_buckets_DG_3() -> None:
    buckets = [0] * (len(LATENCY_BOUNDS_S) + 1)
    assert estimate_quantile(buckets, 0.5) is None
    buckets[2] = 10  # ten renders between 100 ms and 250 ms
    assert estimate_quantile(buckets, 0.5) == pytest.approx(0.175)
    buckets[-1] = 90  # ninety above the last bound
    assert estimate_quantile(buckets, 0.95) == LATENCY_BOUNDS_S[-1]
    assert estimate_quantile(buckets, 0.05) == pytest.approx(0.175)


def test_the_chart_markup_holds_no_style_or_script_of_its_own_DG_3() -> None:
    markup = str(
        line_chart(
            chart_id="a",
            title="t",
            description="d",
            x_labels=["x"],
            series=[Series("s", (1.0,))],
            y_format=str,
        )
    )
    assert not re.search(r"style=|<script|on[a-z]+=", markup)
