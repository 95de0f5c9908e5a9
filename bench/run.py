"""`make bench`: run every benchmark module in bench/ and collect their figures in one table.

Drop a `bench/<name>.py` with a `main()` that reports through `bench/_pairs.py` (its last JSON
line is `{"measures": [...], ...}`); this driver runs each in its own process (clean memory and
CPU figures), in name order, prints their output as it comes, then:

1. one table of every measure of every module (`module: measure`, min/median/max per cell);
2. one JSON line per measure: `{"bench": "<module>", **measure}`;
3. one JSON object `{"<module>": <its last JSON line>, ...}`, the last line of the output.

A module that exits non-zero is listed as FAILED (and the exit code is 1); one whose last JSON
line has no "measures" (the old style) is listed as "(no measures)".

    python bench/run.py [--quick] [name ...]

`--quick` sets BENCH_QUICK=1 for the modules (their short form) and leaves out the modules in
`FULL_ONLY`, so the whole quick run stays under 3 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from bench._pairs import table  # noqa: E402  (after the path fix above)

SKIP = {"__init__", "run"}
#: Too long for `--quick`: growth reruns the burst up to 5,000 posts and the Post page to 200 users.
FULL_ONLY = {"growth"}


def modules(*, quick: bool = False) -> list[str]:
    """The benchmark modules present, in name order (without the long ones when `quick`)."""
    return sorted(
        p.stem
        for p in BENCH.glob("*.py")
        if p.stem not in SKIP and not p.stem.startswith("_") and not (quick and p.stem in FULL_ONLY)
    )


@dataclass
class Outcome:
    """What one module's process left behind."""

    name: str
    status: int
    last: Any
    seconds: float


def last_json(lines: Iterable[str]) -> Any:
    """The last line that parses as a JSON object (what a module reports), or None."""
    last: Any = None
    for line in lines:
        text = line.strip()
        if text.startswith("{"):
            with contextlib.suppress(ValueError):
                last = json.loads(text)
    return last


def run_one(name: str, *, quick: bool) -> Outcome:
    """Run `bench.<name>.main()` in a fresh interpreter, echoing its output line by line."""
    code = f"import bench.{name} as m; m.main()"
    env = {**os.environ, "BENCH_QUICK": "1" if quick else os.environ.get("BENCH_QUICK", "")}
    started = time.monotonic()
    # stderr joins stdout so that tracebacks come out in order and under the module's prefix.
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None

    def echo() -> Iterable[str]:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"[{name}] {line}", end="", flush=True)
            yield line

    last = last_json(echo())
    status = proc.wait()
    return Outcome(name, status, last, time.monotonic() - started)


def collect(outcomes: Sequence[Outcome]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(table rows, one JSON record per measure) from every module's outcome.

    Table rows carry `module: measure` as their name; modules that failed or reported no
    measures get a row that says so, so a glance at the table shows every module.
    """
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for out in outcomes:
        measures = out.last.get("measures") if isinstance(out.last, dict) else None
        if isinstance(measures, list) and measures:
            for m in measures:
                if not isinstance(m, dict):
                    continue
                rows.append({**m, "name": f"{out.name}: {m.get('name', '?')}"})
                records.append({"bench": out.name, **m})
        else:
            rows.append({"name": f"{out.name}: (no measures)", "unit": "-"})
        if out.status != 0:
            rows.append({"name": f"{out.name}: FAILED (exit {out.status})", "unit": "-"})
    return rows, records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks in bench/.")
    parser.add_argument(
        "--quick", action="store_true", help="short forms (BENCH_QUICK=1), long modules left out"
    )
    parser.add_argument("names", nargs="*", help="only these modules (default: all)")
    args = parser.parse_args(argv)
    known = modules()
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(known)})")
    chosen = args.names or modules(quick=args.quick)

    outcomes: list[Outcome] = []
    for name in chosen:
        print(f"== bench/{name}.py{' (quick)' if args.quick else ''}", flush=True)
        out = run_one(name, quick=args.quick)
        print(f"== bench/{name}.py: exit {out.status} after {out.seconds:.0f} s", flush=True)
        outcomes.append(out)

    rows, records = collect(outcomes)
    total = sum(o.seconds for o in outcomes)
    print(f"\nall benchmarks ({total:.0f} s): min/median/max over each module's rounds")
    print(table(rows))
    failed = [o for o in outcomes if o.status != 0]
    if failed:
        print(
            "FAILED: " + ", ".join(f"{o.name} (exit {o.status})" for o in failed),
            file=sys.stderr,
            flush=True,
        )
    for record in records:
        print(json.dumps(record, sort_keys=True, default=str))
    print(json.dumps({o.name: o.last for o in outcomes}, sort_keys=True, default=str), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
