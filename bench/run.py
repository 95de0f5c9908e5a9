"""`make bench`: run every benchmark module in bench/ and collect their figures.

Drop a `bench/<name>.py` with a `main()` that prints its figures and ends with one JSON line;
this driver runs each in its own process (clean memory figures), in name order, prints their
output as it comes, and ends with one JSON line `{"<name>": <its last JSON line>, ...}`.
Usage: `python bench/run.py [name ...]` to run only some.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SKIP = {"__init__", "run"}


def modules() -> list[str]:
    """The benchmark modules present, in name order."""
    return sorted(
        p.stem for p in BENCH.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_")
    )


def run_one(name: str) -> tuple[int, object]:
    """Run `bench.<name>.main()` in a fresh interpreter; return (exit code, last JSON line)."""
    code = f"import bench.{name} as m; m.main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    last: object = None
    assert proc.stdout is not None
    for line in proc.stdout:
        print(f"[{name}] {line}", end="", flush=True)
        if line.strip().startswith("{"):
            with contextlib.suppress(ValueError):
                last = json.loads(line)
    return proc.wait(), last


def main() -> None:
    chosen = sys.argv[1:] or modules()
    unknown = sorted(set(chosen) - set(modules()))
    if unknown:
        sys.exit(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(modules())})")
    results: dict[str, object] = {}
    failed: list[str] = []
    for name in chosen:
        print(f"== bench/{name}.py", flush=True)
        status, last = run_one(name)
        results[name] = last
        if status != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    print(json.dumps(results, sort_keys=True))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
