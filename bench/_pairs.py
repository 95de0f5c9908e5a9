"""What every benchmark shares: alternated rounds against a baseline, and one way to report.

A sceptic believes a figure when the project and its baseline ran in the same run, alternated
(so a machine that slows down mid-run slows both), several rounds, and every round is shown as
min/median/max rather than the best one. `alternate` runs that loop; `Measure` is one reported
figure with its goal; `report` prints the table rows and ends with the one JSON line that
`bench/run.py` collects (`{"measures": [...], ...extra}`); `cpu_seconds(pid)` reads a process's
CPU time, the figure that a busy shared machine disturbs least.

    ratio = alternate(rounds, baseline=run_curl, project=run_library, ratio="project/baseline")
    report("upload", [Measure("FILE_UPLOAD 1 GiB", "MB/s", *ratio, goal=(">=", 0.9))])
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: `make bench QUICK=1` (`bench/run.py --quick`, BENCH_QUICK=1) asks for each short form.
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def spread(values: Sequence[float]) -> dict[str, float]:
    """min/median/max of a list of figures (all of them: no best-of)."""
    if not values:
        return {"min": float("nan"), "median": float("nan"), "max": float("nan")}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
    }


def alternate(
    rounds: int,
    *,
    baseline: Callable[[], float],
    project: Callable[[], float],
    ratio: Literal["project/baseline", "baseline/project"] = "project/baseline",
) -> tuple[list[float], list[float], list[float]]:
    """Run baseline and project in turn, `rounds` times; return (project, baseline, ratios).

    The order flips every round (B P, P B, B P, ...) so neither always runs on a warm or a cold
    machine. Each ratio is taken within its own round, never across rounds.
    """
    projects: list[float] = []
    baselines: list[float] = []
    ratios: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            b = baseline()
            p = project()
        else:
            p = project()
            b = baseline()
        projects.append(p)
        baselines.append(b)
        ratios.append(p / b if ratio == "project/baseline" else b / p)
    return projects, baselines, ratios


@dataclass
class Measure:
    """One reported figure: the project's values, its baseline's and their ratio, per round."""

    name: str
    unit: str
    project: Sequence[float]
    baseline: Sequence[float] = ()
    ratios: Sequence[float] = ()
    #: ("<=", 1.15) means "the ratio (or, with no baseline, the project's figure) must be <= 1.15".
    goal: tuple[str, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def judged(self) -> list[float]:
        return list(self.ratios) if self.ratios else list(self.project)

    def met(self) -> bool | None:
        """Is the goal met by the median (the typical run), or None without a goal."""
        if self.goal is None or not self.judged():
            return None
        op, bound = self.goal
        median = statistics.median(self.judged())
        return median <= bound if op == "<=" else median >= bound

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "rounds": len(self.project),
            "project": spread(self.project),
            "baseline": spread(self.baseline) if self.baseline else None,
            "ratio": spread(self.ratios) if self.ratios else None,
            "goal": f"{'ratio' if self.ratios else 'value'} {self.goal[0]} {self.goal[1]}"
            if self.goal
            else None,
            "met": self.met(),
            **self.extra,
        }


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) a process has used so far: this one, or `pid` (Linux /proc).

    On a shared machine wall-clock figures move with the neighbours' load; CPU per operation of
    the process being measured moves much less, so benchmarks report it beside the wall clock.
    """
    if pid is None:
        t = os.times()
        return t.user + t.system
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def number(x: float) -> str:
    """A figure as the table prints it: three significant digits, 1540 rather than 1.54e+03."""
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _fmt(s: dict[str, float] | None) -> str:
    if not isinstance(s, dict):
        return "-"
    return "/".join(number(s[k]) for k in ("min", "median", "max"))


def table(measures: Sequence[dict[str, Any]]) -> str:
    """Rows of `Measure.as_json()` dicts as a plain-text table (min/median/max in each cell)."""
    # n: how many rounds each cell's min/median/max is taken over.
    head = ("measure", "unit", "n", "project", "baseline", "ratio", "goal", "met")
    rows = [head]
    for m in measures:
        met = {True: "yes", False: "NO"}.get(m["met"], "-") if "met" in m else "-"
        rows.append(
            (
                str(m.get("name", "?")),
                str(m.get("unit", "-")),
                str(m.get("rounds", "-")),
                _fmt(m.get("project")),
                _fmt(m.get("baseline")),
                _fmt(m.get("ratio")),
                str(m.get("goal") or "-"),
                met,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(name: str, measures: Sequence[Measure], **extra: Any) -> None:
    """Print the table of `measures`, then the one JSON line `bench/run.py` collects."""
    rows = [m.as_json() for m in measures]
    print(f"{name}: min/median/max over the rounds")
    print(table(rows))
    print(json.dumps({"measures": rows, **extra}, sort_keys=True, default=str), flush=True)
