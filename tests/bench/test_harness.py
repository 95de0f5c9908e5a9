"""The benchmark harness itself: how figures are paired, tabled, collected and charted.

These check the plumbing only (no benchmark runs here: figures are never assertions).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
from bench._pairs import Measure, alternate, report, spread, table
from bench.run import FULL_ONLY, Outcome, collect, last_json, modules

from bench import growth


def test_alternate_flips_the_order_every_round_and_takes_each_ratio_within_its_round() -> None:
    calls: list[str] = []
    times = iter([2.0, 1.0, 1.0, 4.0, 3.0, 3.0])

    def run(name: str) -> float:
        calls.append(name)
        return next(times)

    project, baseline, ratios = alternate(
        3, baseline=lambda: run("b"), project=lambda: run("p"), ratio="project/baseline"
    )
    assert calls == ["b", "p", "p", "b", "b", "p"]
    assert baseline == [2.0, 4.0, 3.0] and project == [1.0, 1.0, 3.0]
    assert ratios == [0.5, 0.25, 1.0]


def test_spread_shows_every_round_not_the_best_one() -> None:
    assert spread([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}
    assert all(math.isnan(v) for v in spread([]).values())


def test_a_goal_is_judged_on_the_median_of_the_ratios() -> None:
    m = Measure("x", "MB/s", [1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [0.5, 1.0, 1.0], goal=(">=", 0.9))
    row = m.as_json()
    assert row["met"] is True and row["goal"] == "ratio >= 0.9" and row["rounds"] == 3


def test_report_prints_a_table_and_ends_with_one_json_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report("demo", [Measure("upload", "MiB/s", [1540.0, 1600.0], goal=("<=", 2000.0))], size=3)
    lines = capsys.readouterr().out.strip().splitlines()
    last = json.loads(lines[-1])
    assert last["size"] == 3 and last["measures"][0]["name"] == "upload"
    assert "1540/1570/1600" in "\n".join(lines[:-1])  # no 1.54e+03 in the table


def test_the_table_copes_with_rows_missing_figures() -> None:
    text = table([{"name": "emulator: (no measures)", "unit": "-"}])
    assert "emulator: (no measures)" in text


def test_run_collects_every_measure_under_its_module_and_lists_failures_and_old_style() -> None:
    measure = Measure("ratio", "x", [1.0]).as_json()
    outcomes = [
        Outcome("upload", 0, {"measures": [measure], "size": 1}, 1.0),
        Outcome("emulator", 0, {"rps": 5}, 1.0),  # an old-style last line
        Outcome("post_page", 2, None, 1.0),
    ]
    rows, records = collect(outcomes)
    names = [r["name"] for r in rows]
    assert names == [
        "upload: ratio",
        "emulator: (no measures)",
        "post_page: (no measures)",
        "post_page: FAILED (exit 2)",
    ]
    assert records == [{"bench": "upload", **measure}]
    table(rows)  # renders without a KeyError


def test_last_json_takes_the_last_object_line_and_skips_noise() -> None:
    lines = ['{"a": 1}\n', "not json {\n", '{"b": 2}\n', "{broken\n", "done\n"]
    assert last_json(lines) == {"b": 2}


def test_the_quick_run_leaves_out_the_long_modules() -> None:
    assert set(modules()) >= FULL_ONLY
    assert not FULL_ONLY & set(modules(quick=True))


def test_growth_reads_the_burst_figures_old_style_and_as_measures() -> None:
    assert growth.pick({"ratio": 1.3, "cpu_ms_per_post": 80}, "ratio") == {"burst": 1.3}
    spread3 = {"min": 1.0, "median": 2.0, "max": 3.0}
    new = {
        "measures": [
            {
                "name": "embedded pull: all final (s) vs minimum",
                "unit": "s",
                "project": {"min": 90, "median": 95, "max": 99},
                "ratio": {"min": 1.2, "median": 1.25, "max": 1.3},
            },
            {"name": "embedded pull: CPU per post, workers", "unit": "ms", "project": spread3},
            {"name": "embedded pull: CPU per post, total", "unit": "ms", "project": spread3},
            {"name": "scale pull: CPU per post, total", "unit": "ms", "project": {"median": 5}},
            {"name": "embedded pull: HTTP 429", "unit": "count", "project": spread3},
        ],
        "ratio": 9.9,  # the first size's median: ignored once the measures say it by series
    }
    assert growth.pick(new, "ratio") == {"embedded pull": 1.25}
    assert growth.pick(new, "cpu_ms_per_post") == {"embedded pull": 2.0, "scale pull": 5.0}
    extra = {"measures": [{"name": "1,000 posts: burst", "unit": "s", "cpu_ms_per_post": 33.0}]}
    assert growth.pick(extra, "cpu_ms_per_post") == {"N posts": 33.0}
    assert growth.pick(None, "ratio") == {}


def test_growth_redraws_its_chart_and_table_from_json_without_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {
        "generated": "2026-01-01T00:00:00+00:00",
        "machine": {"cpus": 2},
        "burst": [
            {"posts": 100, "exit": 0, "ratio": {"burst": 1.05}, "cpu_ms_per_post": {"burst": 40}},
            {"posts": 1000, "exit": 0, "ratio": {"burst": 1.3}, "cpu_ms_per_post": {}},
        ],
        "post_page": {
            "exit": 0,
            "points": [{"users": 1, "p50_ms": 9, "p99_ms": 14}, {"users": 50, "p50_ms": 90}],
        },
    }
    source, png = tmp_path / "g.json", tmp_path / "g.png"
    source.write_text(json.dumps(data))
    redraw = ["--from-json", str(source), "--png", str(png)]
    if importlib.util.find_spec("matplotlib") is not None:  # the `bench` extra draws the PNG
        growth.main(redraw)
        assert png.read_bytes()[:4] == b"\x89PNG"
    else:  # without it: the table and the JSON line all the same, and a failure for the chart
        with pytest.raises(SystemExit):
            growth.main(redraw)
        assert not png.exists()
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    names = [m["name"] for m in last["measures"]]
    assert "burst 1,000 posts: time ÷ minimum" in names and "Post page 50 users: p50" in names
