"""Benchmark: serving stored media for PULL_FROM_URL (TECH-2), against Starlette's FileResponse.

One uvicorn server in its own process serves the same file two ways: `serve_media`
(LocalMediaStore, 1 MiB pieces, Range/ETag logic: the project) and Starlette's `FileResponse`
(the baseline). This process is the client, on loopback. In alternated rounds (`_pairs`) it
measures, for each way:

- a whole-file GET: MiB/s seen by the client, the server process's CPU seconds per GiB, and
  how much the server's peak RSS grew while streaming (it must not grow with the file);
- random 64 KiB Range GETs: p50 and p99 latency and the server's CPU ms per request.

CPU is read from /proc for the server process alone, so the client's own cost and the other
load on a shared machine do not enter the CPU figures (they do enter MiB/s and latency).

    python bench/media_serving.py [--size-mb 512] [--rounds 7] [--ranges 300]

BENCH_QUICK=1: 128 MiB, 3 rounds, 100 ranges per round. The server's CPU is read from
/proc/<pid>/stat in clock ticks (10 ms), so the sizes keep each round's CPU well above a tick.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from tests.fixtures.processes import free_port, wait_until_answers  # noqa: E402

from bench._pairs import QUICK, Measure, alternate, cpu_seconds, report  # noqa: E402

KEY = "bench/clip.mp4"
RANGE = 64 * 1024


def serve(port: int, folder: str) -> None:
    """Subprocess entry: both routes over the same stored file, served by uvicorn."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    from directpost.media.serving import serve_media
    from directpost.media.storage import LocalMediaStore

    store = LocalMediaStore(Path(folder) / "media")
    path = Path(folder) / "media" / "objects" / KEY

    async def ours(request: Request) -> Response:
        return await serve_media(request, store, KEY, filename="clip.mp4")

    async def baseline(request: Request) -> Response:
        return FileResponse(path, media_type="video/mp4")

    app = Starlette(
        routes=[
            Route("/m/clip.mp4", ours, methods=["GET", "HEAD"]),
            Route("/file/clip.mp4", baseline, methods=["GET", "HEAD"]),
        ]
    )
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _reset_peak_rss(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) so each round's peak is its own; False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _make_file(folder: Path, size: int) -> None:
    from directpost.media.storage import LocalMediaStore

    store = LocalMediaStore(folder / "media")
    piece = os.urandom(1024 * 1024)
    offset = 0
    while offset < size:
        offset = store.append(KEY, offset, piece[: min(len(piece), size - offset)])
    store.finalize(KEY)


class Rig:
    """The server process, a client, and the per-round side figures of each way of serving."""

    def __init__(self, base: str, pid: int, size: int, ranges: int) -> None:
        self.base, self.pid, self.size, self.ranges = base, pid, size, ranges
        self.http = httpx2.Client(timeout=120)
        self.rng = random.Random(7)
        self.cpu_s_per_gib: dict[str, list[float]] = {"m": [], "file": []}
        self.rss_growth_mib: dict[str, list[float]] = {"m": [], "file": []}
        self.range_p99_ms: dict[str, list[float]] = {"m": [], "file": []}
        self.range_cpu_ms: dict[str, list[float]] = {"m": [], "file": []}

    def whole(self, way: str) -> Callable[[], float]:
        """One whole-file GET via `way` ("m" or "file"); returns the client's MiB/s."""

        def run() -> float:
            reset = _reset_peak_rss(self.pid)
            rss_before = _status_kib(self.pid, "VmRSS")
            cpu_before = cpu_seconds(self.pid)
            received = 0
            started = time.perf_counter()
            with self.http.stream("GET", f"{self.base}/{way}/clip.mp4") as answer:
                answer.raise_for_status()
                for piece in answer.iter_bytes():
                    received += len(piece)
            took = time.perf_counter() - started
            assert received == self.size, (received, self.size)
            gib = self.size / 2**30
            self.cpu_s_per_gib[way].append((cpu_seconds(self.pid) - cpu_before) / gib)
            if reset:
                growth = _status_kib(self.pid, "VmHWM") - rss_before
                self.rss_growth_mib[way].append(max(0, growth) / 1024)
            return self.size / 2**20 / took

        return run

    def ranges_p50(self, way: str) -> Callable[[], float]:
        """`ranges` random 64 KiB Range GETs via `way`; returns their p50 in ms."""

        def run() -> float:
            latencies: list[float] = []
            cpu_before = cpu_seconds(self.pid)
            for _ in range(self.ranges):
                start = self.rng.randrange(0, self.size - RANGE)
                t0 = time.perf_counter()
                answer = self.http.get(
                    f"{self.base}/{way}/clip.mp4",
                    headers={"Range": f"bytes={start}-{start + RANGE - 1}"},
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                # Both ways must answer the range itself, or the comparison means nothing.
                assert answer.status_code == 206 and len(answer.content) == RANGE, way
            self.range_cpu_ms[way].append((cpu_seconds(self.pid) - cpu_before) * 1000 / self.ranges)
            latencies.sort()
            self.range_p99_ms[way].append(latencies[int(0.99 * (len(latencies) - 1))])
            return statistics.median(latencies)

        return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=int, default=128 if QUICK else 512)
    parser.add_argument("--rounds", type=int, default=3 if QUICK else 7)
    parser.add_argument("--ranges", type=int, default=100 if QUICK else 300)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    size = args.size_mb * 2**20

    with tempfile.TemporaryDirectory(prefix="bench-media-") as folder:
        _make_file(Path(folder), size)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", f"import bench.media_serving as b; b.serve({port}, {folder!r})"],
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answers(f"{base}/file/clip.mp4", process=server)
            rig = Rig(base, server.pid, size, args.ranges)
            # Warm up both ways (imports, first-use paths, page cache) before anything counts.
            for way in ("m", "file"):
                rig.whole(way)()
                rig.ranges_p50(way)()
            for side in (rig.cpu_s_per_gib, rig.rss_growth_mib, rig.range_p99_ms, rig.range_cpu_ms):
                side["m"].clear()
                side["file"].clear()
            whole = alternate(
                args.rounds,
                baseline=rig.whole("file"),
                project=rig.whole("m"),
                ratio="project/baseline",
            )
            ranges = alternate(
                args.rounds,
                baseline=rig.ranges_p50("file"),
                project=rig.ranges_p50("m"),
                ratio="project/baseline",
            )
            rig.http.close()
        finally:
            server.terminate()
            server.wait(10)

    def paired(name: str, unit: str, side: dict[str, list[float]]) -> Measure:
        ratios = [p / b for p, b in zip(side["m"], side["file"], strict=True) if b]
        return Measure(name, unit, side["m"], side["file"], ratios)

    mib = args.size_mb
    measures = [
        Measure(f"serve_media GET {mib} MiB vs FileResponse", "MiB/s", *whole),
        paired(f"server CPU, GET {mib} MiB", "CPU-s/GiB", rig.cpu_s_per_gib),
        Measure(f"64 KiB Range GET p50 (x{args.ranges})", "ms", *ranges),
        paired(f"64 KiB Range GET p99 (x{args.ranges})", "ms", rig.range_p99_ms),
        paired("server CPU per 64 KiB Range GET", "CPU-ms", rig.range_cpu_ms),
    ]
    if rig.rss_growth_mib["m"]:
        # A ratio of two near-zero growths says nothing: both are shown, without a ratio.
        measures.append(
            Measure(
                f"server peak RSS growth, GET {mib} MiB",
                "MiB",
                rig.rss_growth_mib["m"],
                rig.rss_growth_mib["file"],
                goal=("<=", 16.0),  # flat: a few MiB of buffers, whatever the file's size
            )
        )
    report("media_serving", measures, size_mib=mib, rounds=args.rounds, quick=QUICK)


if __name__ == "__main__":
    main()
