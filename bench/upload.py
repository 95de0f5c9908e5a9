"""Upload throughput, CPU and memory of `TikTokClient.upload_file` against `curl -T`.

Both upload the same file, cut by the same `chunk_plan`, to the same local upload host (a small
streaming server below that speaks the upload host's Content-Range protocol and counts and
discards the bytes). The library runs in its own process so its peak RSS (ru_maxrss) and CPU
time are its own; curl's CPU time is its process's (RUSAGE_CHILDREN). Library and curl take
turns (`bench/_pairs.py`): N rounds, each round's ratio taken within the round.

    python bench/upload.py                       # 5 rounds at 1 GiB (BENCH_QUICK=1: 2 at 256 MiB)
    python bench/upload.py --size-mb 64 --rounds 3

Goals: throughput ratio library/curl >= 0.9 (median), CPU-s per GiB library/curl <= 1.2, client
peak RSS <= 64 MB. Ends with the one JSON line of `_pairs.report`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/upload.py` puts bench/, not the root, on the path
    sys.path.insert(0, str(ROOT))

from bench._pairs import QUICK, Measure, alternate, report  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


# --------------------------------------------------------------------------- the upload host


class _Task:
    def __init__(self) -> None:
        self.committed = 0
        self.total = 0
        self.complete = False
        self.puts = 0


def _serve_connection(conn: socket.socket, tasks: dict[str, _Task], lock: threading.Lock) -> None:
    rfile = conn.makefile("rb", buffering=256 * 1024)
    sink = bytearray(MiB)
    view = memoryview(sink)
    try:
        while True:
            line = rfile.readline(65536)
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (h := rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
                name, _, value = h.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            path = target.split("?", 1)[0]
            if method == "GET" and path.startswith("/stats/"):
                with lock:
                    t = tasks.get(path.removeprefix("/stats/"), _Task())
                    body = json.dumps(
                        {"received": t.committed, "complete": t.complete, "puts": t.puts}
                    ).encode()
                _reply(conn, 200, body=body)
                continue
            length = int(headers.get("content-length", "0"))
            remaining = length
            while remaining:  # stream the body through a fixed 1 MiB buffer, counting it
                n = rfile.readinto(view[: min(remaining, MiB)])
                if not n:
                    return
                remaining -= n
            m = _RANGE.fullmatch(headers.get("content-range", ""))
            if method != "PUT" or not path.startswith("/upload/") or m is None:
                _reply(conn, 400)
                continue
            first, last, total = (int(g) for g in m.groups())
            with lock:
                task = tasks.setdefault(path.removeprefix("/upload/"), _Task())
                task.total, task.puts = total, task.puts + 1
                if first != task.committed or last - first + 1 != length:
                    status = 416
                else:
                    task.committed = last + 1
                    task.complete = task.committed == total
                    status = 201 if task.complete else 206
                progress = f"bytes 0-{task.committed - 1}/{total}"
            _reply(conn, status, {"Content-Range": progress})
    except (ConnectionError, ValueError):
        return
    finally:
        conn.close()


def _reply(
    conn: socket.socket, status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> None:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def serve() -> None:
    """Run the upload host on a free loopback port; print the port; serve until killed."""
    tasks: dict[str, _Task] = {}
    lock = threading.Lock()
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(conn, tasks, lock), daemon=True).start()


# --------------------------------------------------------------------------- the library client


def client(url: str, path: str) -> None:
    """Upload `path` to `url` with the library; print seconds and this process's peak RSS."""
    from directpost.tiktok import TikTokClient

    with TikTokClient(client_key="bench", client_secret="bench") as tk:
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        tk.upload_file(upload_url=url, file=path)
        seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": usage.ru_maxrss / 1024,  # ru_maxrss is KiB on Linux
                # the upload's own CPU time, not the interpreter's start-up and imports
                "cpu_s": (usage.ru_utime - before.ru_utime) + (usage.ru_stime - before.ru_stime),
            }
        ),
        flush=True,
    )


# --------------------------------------------------------------------------- the comparison


def _stats(port: int, upload_id: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats/{upload_id}") as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with path.open("wb") as f:
        left = size
        while left:
            f.write(block[: min(left, MiB)])
            left -= min(left, MiB)


def _chunk_files(path: Path, size: int, workdir: Path) -> list[tuple[Path, str]]:
    """The file cut by `chunk_plan` into one file per chunk, for `curl -T` (and its range)."""
    from directpost.tiktok import chunk_plan

    chunks: list[tuple[Path, str]] = []
    with path.open("rb") as src:
        for i, c in enumerate(chunk_plan(size).chunks):
            part = workdir / f"chunk-{i}"
            src.seek(c.first)
            with part.open("wb") as dst:
                left = c.length
                while left:
                    data = src.read(min(left, MiB))
                    dst.write(data)
                    left -= len(data)
            chunks.append((part, f"bytes {c.first}-{c.last}/{size}"))
    return chunks


def _run_library(port: int, upload_id: str, path: Path) -> dict[str, float]:
    """Seconds, CPU seconds and peak RSS of the library uploading `path` in its own process."""
    url = f"http://127.0.0.1:{port}/upload/{upload_id}?upload_token=bench"
    out = subprocess.run(
        [sys.executable, "-c", f"import bench.upload as b; b.client({url!r}, {str(path)!r})"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _run_curl(port: int, upload_id: str, chunk_files: list[tuple[Path, str]]) -> dict[str, float]:
    """Seconds and CPU seconds of one curl process sending every chunk (one connection)."""
    url = f"http://127.0.0.1:{port}/upload/{upload_id}?upload_token=bench"
    args = ["curl"]
    for i, (chunk, content_range) in enumerate(chunk_files):
        if i:
            args.append("--next")
        args += ["-sS", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Type: video/mp4"]
        args += ["-H", f"Content-Range: {content_range}", "-T", str(chunk), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": seconds, "cpu_s": cpu}


def measure(size_mb: int, rounds: int, port: int, workdir: Path) -> list[Measure]:
    """Alternated rounds of library and curl on one file; the three measures with their goals."""
    size = size_mb * MiB
    path = workdir / f"video-{size_mb}.mp4"
    _make_file(path, size)
    chunk_files = _chunk_files(path, size, workdir)
    runs: dict[str, list[dict[str, float]]] = {"library": [], "curl": []}

    def checked(who: str, run: dict[str, float], upload_id: str) -> float:
        stats = _stats(port, upload_id)
        if stats["received"] != size or not stats["complete"]:
            raise SystemExit(f"{upload_id}: the host did not receive the whole file: {stats}")
        runs[who].append(run)
        return size_mb / run["seconds"]

    def library() -> float:
        upload_id = f"lib-{len(runs['library'])}"
        return checked("library", _run_library(port, upload_id, path), upload_id)

    def curl() -> float:
        upload_id = f"curl-{len(runs['curl'])}"
        return checked("curl", _run_curl(port, upload_id, chunk_files), upload_id)

    lib_mb_s, curl_mb_s, ratios = alternate(rounds, baseline=curl, project=library)
    lib_cpu = [r["cpu_s"] * GiB / size for r in runs["library"]]
    curl_cpu = [r["cpu_s"] * GiB / size for r in runs["curl"]]
    label = f"{size_mb} MiB" if size_mb < 1024 else f"{size_mb / 1024:g} GiB"
    chunks = len(chunk_files)
    return [
        Measure(
            f"FILE_UPLOAD {label} ({chunks} chunks) vs curl -T",
            "MB/s",
            lib_mb_s,
            curl_mb_s,
            ratios,
            goal=(">=", 0.9),
        ),
        Measure(
            "upload CPU per GiB vs curl",
            "CPU-s/GiB",
            lib_cpu,
            curl_cpu,
            [lib / curl for lib, curl in zip(lib_cpu, curl_cpu, strict=True)],
            goal=("<=", 1.2),
        ),
        Measure(
            "upload client peak RSS",
            "MB",
            [r["peak_rss_mb"] for r in runs["library"]],
            goal=("<=", 64),
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256 if QUICK else 1024)
    parser.add_argument("--rounds", type=int, default=2 if QUICK else 5)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    server = subprocess.Popen(
        [sys.executable, "-c", "import bench.upload as b; b.serve()"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="directpost-bench-") as tmp:
            measures = measure(args.size_mb, args.rounds, port, Path(tmp))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report("upload", measures, size_mb=args.size_mb)


if __name__ == "__main__":
    main()
