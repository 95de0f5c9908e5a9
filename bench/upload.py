"""Upload throughput and memory of `TikTokClient.upload_file` against `curl -T`.

Both upload the same file, cut by the same `chunk_plan`, to the same local upload host (a small
streaming server below that speaks the upload host's Content-Range protocol and counts and
discards the bytes). The library runs in its own process so its peak RSS (ru_maxrss) is its own.

    python bench/upload.py                 # 256 MiB and 1 GiB
    python bench/upload.py --size-mb 64    # one size

Prints figures per size; the last line is one JSON object for the largest size:
{"library_mb_s", "curl_mb_s", "ratio", "client_peak_rss_mb", "size_mb", "runs": [...]}.
Targets: ratio ≥ 0.9 and client peak RSS ≤ 64 MB.
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
MiB = 1024 * 1024
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


def _run_library(port: int, upload_id: str, path: Path) -> tuple[float, float, float]:
    url = f"http://127.0.0.1:{port}/upload/{upload_id}?upload_token=bench"
    out = subprocess.run(
        [sys.executable, "-c", f"import bench.upload as b; b.client({url!r}, {str(path)!r})"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["peak_rss_mb"]), float(result["cpu_s"])


def _run_curl(
    port: int, upload_id: str, chunk_files: list[tuple[Path, str]]
) -> tuple[float, float]:
    """Seconds and CPU seconds of one curl process sending every chunk."""
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
    return seconds, cpu


def measure(size_mb: int, repeats: int, port: int, workdir: Path) -> dict[str, float]:
    """Best-of-`repeats` throughput for the library and curl on one file size."""
    from directpost.tiktok import chunk_plan

    size = size_mb * MiB
    path = workdir / f"video-{size_mb}.mp4"
    _make_file(path, size)
    plan = chunk_plan(size)
    chunk_files: list[tuple[Path, str]] = []
    with path.open("rb") as src:
        for i, c in enumerate(plan.chunks):
            part = workdir / f"chunk-{size_mb}-{i}"
            src.seek(c.first)
            with part.open("wb") as dst:
                left = c.length
                while left:
                    data = src.read(min(left, MiB))
                    dst.write(data)
                    left -= len(data)
            chunk_files.append((part, f"bytes {c.first}-{c.last}/{size}"))
    lib_best = curl_best = lib_cpu = curl_cpu = float("inf")
    peak = 0.0
    for r in range(repeats):
        lib_id, curl_id = f"lib-{size_mb}-{r}", f"curl-{size_mb}-{r}"
        # Alternate who goes first, so neither always meets a cold or a busy machine.
        for who in ("library", "curl") if r % 2 == 0 else ("curl", "library"):
            if who == "library":
                seconds, rss, cpu = _run_library(port, lib_id, path)
                lib_best, peak = min(lib_best, seconds), max(peak, rss)
                lib_cpu = min(lib_cpu, cpu)
            else:
                seconds, cpu = _run_curl(port, curl_id, chunk_files)
                curl_best, curl_cpu = min(curl_best, seconds), min(curl_cpu, cpu)
        for upload_id in (lib_id, curl_id):
            stats = _stats(port, upload_id)
            if stats["received"] != size or not stats["complete"]:
                raise SystemExit(f"{upload_id}: the host did not receive the whole file: {stats}")
    for part, _ in chunk_files:
        part.unlink()
    path.unlink()
    lib_mb_s, curl_mb_s = size_mb / lib_best, size_mb / curl_best
    return {
        "library_mb_s": round(lib_mb_s, 1),
        "curl_mb_s": round(curl_mb_s, 1),
        "ratio": round(lib_mb_s / curl_mb_s, 3),
        "client_peak_rss_mb": round(peak, 1),
        "size_mb": size_mb,
        "chunks": plan.total_chunk_count,
        # CPU seconds each client spent on the upload: steadier than MB/s on a busy machine.
        "library_cpu_s": round(lib_cpu, 2),
        "curl_cpu_s": round(curl_cpu, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, action="append", help="file size in MiB")
    parser.add_argument("--repeats", type=int, default=5, help="best of N runs (default 5)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    sizes = sorted(args.size_mb or [256, 1024])
    server = subprocess.Popen(
        [sys.executable, "-c", "import bench.upload as b; b.serve()"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        runs = []
        with tempfile.TemporaryDirectory(prefix="directpost-bench-") as tmp:
            for size_mb in sizes:
                result = measure(size_mb, args.repeats, port, Path(tmp))
                runs.append(result)
                print(
                    f"{size_mb} MiB in {result['chunks']} chunks: library "
                    f"{result['library_mb_s']} MB/s, curl {result['curl_mb_s']} MB/s, ratio "
                    f"{result['ratio']} (target ≥ 0.9), client peak RSS "
                    f"{result['client_peak_rss_mb']} MB (target ≤ 64); CPU s library "
                    f"{result['library_cpu_s']}, curl {result['curl_cpu_s']}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps({**runs[-1], "runs": runs}))


if __name__ == "__main__":
    main()
