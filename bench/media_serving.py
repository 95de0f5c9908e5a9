"""Benchmark: serving stored media for PULL_FROM_URL (TECH-2) through a real uvicorn server.

Compares `serve_media` (LocalMediaStore, 1 MiB pieces, Range/ETag logic) with Starlette's own
`FileResponse` for the same file, in the same run, on loopback: whole-file throughput as a
ratio, random 64 KiB range requests (p50/p99), and how much the process's peak memory grew
while streaming (it should not grow with the file).
Usage: `python -m bench.media_serving [--size-mb 256]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from directpost.media.serving import serve_media
from directpost.media.storage import LocalMediaStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _download(url: str) -> tuple[float, int]:
    received = 0
    started = time.perf_counter()
    with httpx2.Client(timeout=120) as http, http.stream("GET", url) as answer:
        answer.raise_for_status()
        for piece in answer.iter_bytes():
            received += len(piece)
    return time.perf_counter() - started, received


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=256)
    args, _ = parser.parse_known_args()
    size = args.size_mb * 1024 * 1024

    with tempfile.TemporaryDirectory() as folder:
        store = LocalMediaStore(Path(folder) / "media")
        piece = os.urandom(1024 * 1024)
        offset = 0
        while offset < size:
            offset = store.append("bench/clip.mp4", offset, piece)
        store.finalize("bench/clip.mp4")
        path = Path(folder) / "media" / "objects" / "bench" / "clip.mp4"

        async def ours(request: Request) -> Response:
            return await serve_media(request, store, "bench/clip.mp4", filename="clip.mp4")

        async def baseline(request: Request) -> Response:
            return FileResponse(path, media_type="video/mp4")

        app = Starlette(
            routes=[
                Route("/m/clip.mp4", ours, methods=["GET", "HEAD"]),
                Route("/file/clip.mp4", baseline, methods=["GET", "HEAD"]),
            ]
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        try:
            rss_before = _peak_rss_mib()
            ours_s, got = _download(f"{base}/m/clip.mp4")
            assert got == size
            rss_after = _peak_rss_mib()
            file_s, got = _download(f"{base}/file/clip.mp4")
            assert got == size

            rng = random.Random(7)
            latencies: list[float] = []
            with httpx2.Client(timeout=30) as http:
                for _ in range(300):
                    start = rng.randrange(0, size - 65536)
                    t0 = time.perf_counter()
                    answer = http.get(
                        f"{base}/m/clip.mp4", headers={"Range": f"bytes={start}-{start + 65535}"}
                    )
                    latencies.append(time.perf_counter() - t0)
                    assert answer.status_code == 206 and len(answer.content) == 65536
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    mib = size / 1024 / 1024
    latencies.sort()
    figures = {
        "size_mib": round(mib),
        "serve_media_mib_s": round(mib / ours_s, 1),
        "file_response_mib_s": round(mib / file_s, 1),
        "throughput_ratio": round(file_s / ours_s, 2),
        "range_64k_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "range_64k_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "peak_rss_growth_mib": round(rss_after - rss_before, 1),
    }
    print(f"serve_media: {figures['serve_media_mib_s']} MiB/s over {mib:.0f} MiB")
    print(f"FileResponse (baseline): {figures['file_response_mib_s']} MiB/s")
    print(f"ratio serve_media / FileResponse: {figures['throughput_ratio']}")
    print(
        f"64 KiB ranges: p50 {figures['range_64k_p50_ms']} ms, p99 {figures['range_64k_p99_ms']} ms"
    )
    print(f"peak RSS growth while streaming: {figures['peak_rss_growth_mib']} MiB")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
