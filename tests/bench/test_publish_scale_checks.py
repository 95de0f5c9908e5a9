"""The burst benchmark's own checks: exactly-once at the emulator, the order of its rounds and
the JSON that `bench/growth.py` reads. (The benchmark itself is never run by the suite.)"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from bench._burst_world import CpuReading, duplicates_and_missing
from bench.publish_scale import Round, plan, summary

from bench import publish_scale


def _state(publish_titles: list[str], post_titles: list[str]) -> dict[str, Any]:
    return {
        "publishes": [{"request": {"post_info": {"title": t}}} for t in publish_titles],
        "posts": {"creator": [{"title": t} for t in post_titles]},
    }


def test_every_post_published_once_passes() -> None:
    titles = {"bench a #0", "bench a #1"}
    assert duplicates_and_missing(_state(sorted(titles), sorted(titles)), titles) == ([], 0)


def test_a_second_publish_of_one_post_is_a_duplicate_even_without_a_second_post() -> None:
    titles = {"bench a #0", "bench a #1"}
    state = _state(["bench a #0", "bench a #1", "bench a #1"], sorted(titles))
    assert duplicates_and_missing(state, titles) == (["bench a #1"], 0)


def test_a_post_twice_on_the_profile_is_a_duplicate_and_one_never_posted_is_missing() -> None:
    titles = {"bench a #0", "bench a #1", "bench a #2"}
    state = _state(sorted(titles), ["bench a #0", "bench a #0", "bench a #1"])
    assert duplicates_and_missing(state, titles) == (["bench a #0"], 1)


def test_sizes_alternate_round_by_round_and_file_upload_rounds_come_once_per_size() -> None:
    assert plan(["scale", "embedded"], "both", 3) == [
        ("scale", "pull"),
        ("embedded", "pull"),
        ("embedded", "pull"),
        ("scale", "pull"),
        ("scale", "pull"),
        ("embedded", "pull"),
        ("embedded", "file_upload"),
        ("scale", "file_upload"),
    ]
    assert plan(["embedded"], "file_upload", 1) == [("embedded", "file_upload")]


def test_cpu_of_a_process_born_after_the_first_reading_counts_from_zero() -> None:
    before = CpuReading({"workers": {1: 1.0}, "app": {2: 5.0}})
    after = CpuReading({"workers": {1: 1.5, 3: 0.25}, "app": {2: 6.0}})
    assert after.minus(before) == {"workers": 0.75, "app": 1.0}


def _round(size: str, ratio: float, total: float, source: str = "pull") -> Round:
    cpu = {"workers": total / 2, "app": total / 4, "emulator": total / 4, "total": total}
    return Round(size, source, 60 * ratio, 60.0, ratio, cpu, 0)


def test_the_json_keeps_the_first_sizes_medians_on_top_and_every_round_per_size() -> None:
    rounds = [
        _round("scale", 1.1, 40),
        _round("embedded", 1.3, 50),
        _round("scale", 1.2, 30),
        _round("scale", 1.0, 20),
        _round("embedded", 1.5, 90, source="file_upload"),
    ]
    extra = summary(rounds, ["scale", "embedded"], "both")
    assert (extra["ratio"], extra["cpu_ms_per_post"]) == (1.1, 30)
    assert extra["per_size"]["scale"]["ratio"] == [1.1, 1.2, 1.0]
    assert extra["per_size"]["embedded"]["cpu_ms_per_post"]["total"] == [50]
    assert extra["file_upload"]["embedded"]["ratio"] == [1.5]


def test_a_duplicate_at_tiktok_stops_the_rounds_and_exits_1_after_the_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = _round("embedded", 1.0, 30)
    broken.duplicates = ["bench bench-3 #7"]
    with (
        mock.patch("bench.publish_scale.burst", autospec=True, return_value=broken) as burst,
        pytest.raises(SystemExit) as exited,
    ):
        publish_scale.main(["--size", "embedded", "--source", "pull", "--rounds", "3"])
    assert exited.value.code == 1
    assert burst.call_count == 1
    out, err = capsys.readouterr()
    assert '"duplicates": 1' in out.splitlines()[-1]
    assert "EXACTLY-ONCE BROKEN" in err
