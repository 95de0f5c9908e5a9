"""How the costs grow: the burst at 100, 1,000 and 5,000 posts, the Post page at 1, 50, 200 users.

Runs `bench/publish_scale.py` once per size (10 posts per creator, so 10, 100 and 500 creators;
each in its own process; one pulled round per backend) and `bench/post_page.py` once (its
`growth` extra holds the page alone at 1, 50 and 200 users), then writes

- docs/performance-growth.json: every figure, each run's own last JSON line, the machine;
- docs/performance-growth.png: burst time ÷ minimum and CPU ms per post against posts; the
  Post page's p50/p99 against users;

and prints them as one table (`_pairs.report`, so `bench/run.py` collects it too). It takes
well over half an hour, so `bench/run.py --quick` leaves it out.

    python bench/growth.py [--posts 100,1000,5000] [--size both|scale|embedded] [--only burst|page]
    python bench/growth.py --from-json [docs/performance-growth.json]   # redraw, no runs

`--only` reruns one half and keeps the other from the existing JSON. BENCH_QUICK=1: the burst
at 100 posts only (post_page's quick form has 1 and 50 users).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from bench._pairs import QUICK, Measure, number, report  # noqa: E402
from bench.run import last_json  # noqa: E402

JSON_PATH = ROOT / "docs" / "performance-growth.json"
PNG_PATH = ROOT / "docs" / "performance-growth.png"
POSTS_PER_CREATOR = 10


# -- running the two benchmarks --------------------------------------------------------------


def run_script(script: str, args: Sequence[str]) -> tuple[int, Any, float]:
    """Run `bench/<script>` with `args`, echoing its output; (exit code, last JSON, seconds)."""
    command = [sys.executable, str(BENCH / script), *args]
    print(f"-- {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None

    def echo() -> Any:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"   {line}", end="", flush=True)
            yield line

    last = last_json(echo())
    return proc.wait(), last, time.monotonic() - started


def _value(v: Any) -> float | None:
    """A figure from a number or a min/median/max spread (its median)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, dict):
        return _value(v.get("median"))
    return None


def _series(name: str) -> str:
    """The series a measure belongs to: "embedded pull: CPU per post, total" -> "embedded pull".

    Names may carry their size ("1,000 posts / 100 creators"); series must line up across
    sizes, so the numbers go.
    """
    name = re.sub(r"\b\d[\d,]*\s+(posts|creators)\b", r"N \1", name)
    return name.split(": ", 1)[0] if ": " in name else name


def pick(result: Any, key: str) -> dict[str, float]:
    """`key` ("ratio" or "cpu_ms_per_post") from a publish_scale result, by series.

    Read defensively, by name: from `{"measures": [...]}` (a measure carrying `key` among its
    extras, or one whose name says what it is: "... vs minimum", "CPU per post, total") or, in
    the older style, from a top-level `key`. Medians over the rounds.
    """
    if not isinstance(result, dict):
        return {}
    found: dict[str, float] = {}
    candidates: list[tuple[str, float]] = []
    for m in result.get("measures") or []:
        if not isinstance(m, dict):
            continue
        name = str(m.get("name", "?"))
        low = name.lower()
        v: float | None = None
        if key == "ratio":
            # Every measure has a "ratio" (project ÷ baseline): only the burst's ÷ minimum counts.
            if "minimum" in low or m.get("unit") in ("ratio", "×"):
                v = _value(m.get("ratio")) or _value(m.get("project"))
        elif key in m:
            v = _value(m[key])
        elif "cpu" in low and "post" in low:
            v = _value(m.get("project"))
        if v is not None:
            candidates.append((name, v))
    if key == "cpu_ms_per_post" and any("total" in n.lower() for n, _ in candidates):
        # CPU per post may come per process and in total: the chart wants the total.
        candidates = [(n, v) for n, v in candidates if "total" in n.lower()]
    for name, v in candidates:
        found[_series(name)] = v
    top = _value(result.get(key))
    if not found and top is not None:
        found["burst"] = top
    return found


def run_burst(posts: Sequence[int], burst_args: Sequence[str]) -> list[dict[str, Any]]:
    points = []
    for n in posts:
        creators = max(1, n // POSTS_PER_CREATOR)
        args = ["--creators", str(creators), "--posts-per-creator", str(POSTS_PER_CREATOR)]
        status, last, seconds = run_script("publish_scale.py", [*args, *burst_args])
        points.append(
            {
                "posts": creators * POSTS_PER_CREATOR,
                "creators": creators,
                "exit": status,
                "seconds": round(seconds, 1),
                "ratio": pick(last, "ratio"),
                "cpu_ms_per_post": pick(last, "cpu_ms_per_post"),
                "result": last,
            }
        )
    return points


def run_page(page_args: Sequence[str]) -> dict[str, Any]:
    status, last, seconds = run_script("post_page.py", page_args)
    rows = last.get("growth") if isinstance(last, dict) else None
    points = [
        {k: r.get(k) for k in ("users", "rps", "p50_ms", "p99_ms", "cpu_ms_per_render")}
        for r in rows or []
        if isinstance(r, dict) and "users" in r
    ]
    return {"exit": status, "seconds": round(seconds, 1), "points": points, "result": last}


# -- the table and the chart -------------------------------------------------------------------


def measures(data: dict[str, Any]) -> list[Measure]:
    """One row per figure: each is a single run, so min = median = max."""
    rows: list[Measure] = []
    for p in data.get("burst", []):
        size = f"{p['posts']:,} posts"
        for key, what, unit in (
            ("ratio", "time ÷ minimum", "ratio"),
            ("cpu_ms_per_post", "CPU per post", "ms"),
        ):
            for series, v in (p.get(key) or {}).items():
                label = "" if series == "burst" else f" [{series}]"
                rows.append(Measure(f"burst {size}: {what}{label}", unit, [v]))
    page = data.get("post_page") or {}
    for r in page.get("points", []):
        users = f"Post page {r['users']} users"
        for key, unit in (("p50_ms", "ms"), ("p99_ms", "ms"), ("rps", "req/s")):
            if _value(r.get(key)) is not None:
                rows.append(Measure(f"{users}: {key.split('_')[0]}", unit, [float(r[key])]))
        if _value(r.get("cpu_ms_per_render")) is not None:
            rows.append(Measure(f"{users}: CPU/render", "ms", [float(r["cpu_ms_per_render"])]))
    return rows


def draw(data: dict[str, Any], png: Path) -> None:
    """The two-panel chart, drawn without a display (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (burst_ax, page_ax) = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    cpu_ax = burst_ax.twinx()
    burst = data.get("burst", [])
    for key, ax, style, colours in (
        ("ratio", burst_ax, "o-", ("C0", "C2", "C4")),
        ("cpu_ms_per_post", cpu_ax, "s--", ("C1", "C3", "C5")),
    ):
        names = sorted({s for p in burst for s in (p.get(key) or {})})
        what = "time ÷ minimum" if key == "ratio" else "CPU ms/post"
        for i, series in enumerate(names):
            got = [p for p in burst if series in (p.get(key) or {})]
            xs, ys = [p["posts"] for p in got], [p[key][series] for p in got]
            label = what if series == "burst" else f"{what} ({series})"
            ax.plot(xs, ys, style, label=label, color=colours[i % len(colours)])
            below = (4, -11) if key == "ratio" else (4, 4)  # the two lines often meet
            for x, y in zip(xs, ys, strict=True):
                ax.annotate(number(y), (x, y), textcoords="offset points", xytext=below, fontsize=7)
    burst_ax.axhline(1.15, color="C0", linestyle=":", linewidth=1, label="goal ≤ 1.15 (1,000)")
    cpu_ax.axhline(30, color="C1", linestyle=":", linewidth=1, label="goal ≤ 30 ms (1,000)")
    if burst:
        _log_x(burst_ax, [p["posts"] for p in burst])
    else:
        burst_ax.text(0.5, 0.5, "not measured", ha="center", transform=burst_ax.transAxes)
    burst_ax.set_xlabel("posts due at once (10 per creator)")
    burst_ax.set_ylabel("burst time ÷ minimum", color="C0")
    cpu_ax.set_ylabel("CPU ms per post (all processes)", color="C1")
    burst_ax.set_ylim(bottom=min(1.0, burst_ax.get_ylim()[0]))
    cpu_ax.set_ylim(bottom=0, top=cpu_ax.get_ylim()[1] * 1.1)  # room for the labels
    handles = burst_ax.get_legend_handles_labels()
    more = cpu_ax.get_legend_handles_labels()
    # Below the panel: inside it, the legend would hide points wherever they fall.
    burst_ax.legend(
        handles[0] + more[0],
        handles[1] + more[1],
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=2,
    )
    burst_ax.set_title("Burst: all posts due at one moment")

    points = sorted((data.get("post_page") or {}).get("points", []), key=lambda r: r["users"])
    for key, style in (("p50_ms", "o-"), ("p99_ms", "s--")):
        got = [r for r in points if _value(r.get(key)) is not None]
        xs, ys = [r["users"] for r in got], [r[key] for r in got]
        page_ax.plot(xs, ys, style, label=key[:3])
        for x, y in zip(xs, ys, strict=True):
            page_ax.annotate(
                number(y), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7
            )
    if points:
        _log_x(page_ax, [r["users"] for r in points])
        page_ax.set_yscale("log")  # one user's ~10 ms and 200 users' seconds on one chart
    else:
        page_ax.text(0.5, 0.5, "not measured", ha="center", transform=page_ax.transAxes)
        page_ax.set_xticks([])
        page_ax.set_yticks([])
    page_ax.set_xlabel("concurrent users (closed loop)")
    page_ax.set_ylabel("GET /compose latency, ms (log)")
    page_ax.legend(fontsize=8, loc="upper left")
    page_ax.set_title("Post page alone")

    machine = data.get("machine", {})
    fig.suptitle(
        f"directpost growth, {str(data.get('generated', '?'))[:16].replace('T', ' ')} UTC, "
        f"{machine.get('cpus', '?')} CPUs{' (quick)' if data.get('quick') else ''}",
        fontsize=10,
    )
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _log_x(ax: Any, ticks: Sequence[int]) -> None:
    """A log x axis labelled with the sizes that were run (100, 1,000, 5,000), not 10^k."""
    ax.set_xscale("log")
    ax.set_xticks(sorted(set(ticks)), [f"{t:,}" for t in sorted(set(ticks))])
    ax.minorticks_off()


# -- entry -----------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=_ints, default=[100] if QUICK else [100, 1000, 5000])
    parser.add_argument(
        "--size",
        choices=["both", "scale", "embedded"],
        help="publish_scale's --size (default: its own, both backends in the full run)",
    )
    parser.add_argument(
        "--burst-args",
        default="--rounds 1 --source pull",
        help="more publish_scale.py arguments (one string); one pulled round per size by default",
    )
    parser.add_argument("--only", choices=["burst", "page"], help="rerun one half only")
    parser.add_argument(
        "--page-args", default="--rounds 1", help="post_page.py's arguments (one string)"
    )
    parser.add_argument("--json", type=Path, default=JSON_PATH, help="where the figures go")
    parser.add_argument("--png", type=Path, default=PNG_PATH, help="where the chart goes")
    parser.add_argument(
        "--from-json",
        nargs="?",
        type=Path,
        const=JSON_PATH,
        help="redraw the chart and the table from this JSON; run nothing",
    )
    if argv is None:
        argv = sys.argv[1:] if __name__ == "__main__" else []
    args = parser.parse_args(argv)

    if args.from_json:
        data = json.loads(args.from_json.read_text())
        args.json = args.from_json
    else:
        old = json.loads(args.json.read_text()) if args.only and args.json.exists() else {}
        data = {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "quick": QUICK,
            "size": args.size,
            "burst": old.get("burst", []),
            "post_page": old.get("post_page", {}),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)

        def save() -> None:  # after each half: half an hour of burst is not lost to a page crash
            args.json.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
            print(f"wrote {args.json}", flush=True)

        if args.only != "page":
            extra = args.burst_args.split() + (["--size", args.size] if args.size else [])
            data["burst"] = run_burst(args.posts, extra)
            save()
        if args.only != "burst":
            data["post_page"] = run_page(args.page_args.split())
            save()

    try:
        draw(data, args.png)
        print(f"wrote {args.png}")
    except ImportError:
        print("matplotlib is missing: pip install -e '.[bench]' (the JSON is written)")
        failed_chart = True
    else:
        failed_chart = False
    failed = [f"burst at {p['posts']:,} posts" for p in data.get("burst", []) if p.get("exit")]
    if (data.get("post_page") or {}).get("exit"):
        failed.append("post_page")
    if failed:
        print("FAILED: " + ", ".join(failed))
    report("growth", measures(data), json=str(args.json), png=str(args.png), failed=failed)
    if failed or failed_chart:
        sys.exit(1)


if __name__ == "__main__":
    main()
