"""Emulator throughput: status-fetch requests per second and upload-host MB/s, with curl.

The emulator runs as a real server in its own process (`directpost emulator`), so its peak
memory (VmHWM from /proc) is its own. Figures:

- status/fetch requests per second from one keep-alive connection, driven by `curl` (many URLs
  in one invocation) and by an httpx2 client; the emulator's rate limit is raised for the run.
- upload-host MB/s for a 1 GiB FILE_UPLOAD (16 chunks of 64 MiB, each `curl -X PUT --data-binary`
  with its Content-Range; `-T` would append the file name to a URL whose path ends in '/'), against the same `curl` uploading the same bytes to a discard sink (a bare
  socket reader) — the ratio is the emulator's cost (disk write + SHA-256) over the wire speed.
- the emulator's peak RSS before and after the 1 GiB upload: it must not grow with the upload.

    python bench/emulator.py [--size-mb 1024] [--requests 2000]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2

MIB = 1024 * 1024
CHUNK = 64 * MIB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_emulator(port: int, data_dir: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    code = (
        "from pathlib import Path; from directpost.emulator.server import serve; "
        "from directpost.emulator.config import EmulatorConfig; "
        f"serve('127.0.0.1', {port}, EmulatorConfig(data_dir=Path({data_dir!r})))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/_emulator/config", trust_env=False)
            return proc
        except httpx2.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the emulator did not start")


def discard_sink() -> tuple[int, threading.Thread]:
    """A minimal HTTP/1.1 server that reads each PUT body and answers 201: the wire baseline."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]

    def run() -> None:
        while True:
            conn, _ = server.accept()
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    buf += conn.recv(65536)
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                got = len(rest)
                while got < length:
                    piece = conn.recv(4 * MIB)
                    if not piece:
                        break
                    got += len(piece)
                conn.sendall(
                    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def curl_put(url: str, chunk_file: Path, first: int, total: int) -> str:
    last = first + chunk_file.stat().st_size - 1
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            "--data-binary",
            f"@{chunk_file}",
            "-H",
            "Expect:",  # no 100-continue round trip (the bare sink does not answer it)
            "-H",
            "Content-Type: video/mp4",
            "-H",
            f"Content-Range: bytes {first}-{last}/{total}",
            "--noproxy",
            "*",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    size = args.size_mb * MIB
    chunks = size // CHUNK
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        proc = start_emulator(port, tmp)
        try:
            base = f"http://127.0.0.1:{port}"
            client = httpx2.Client(base_url=base, trust_env=False, timeout=120)
            client.post("/_emulator/config", json={"rate_limits": {"status_fetch": 10**9}})
            token = client.post("/_emulator/tokens", json={"open_id": "demo-public"}).json()[
                "access_token"
            ]
            auth = {"Authorization": f"Bearer {token}"}
            init = client.post(
                "/v2/post/publish/video/init/",
                headers=auth,
                json={
                    "post_info": {"privacy_level": "SELF_ONLY"},
                    "source_info": {
                        "source": "FILE_UPLOAD",
                        "video_size": size,
                        "chunk_size": CHUNK,
                        "total_chunk_count": chunks,
                    },
                },
            ).json()["data"]
            publish_id = init["publish_id"]
            body = json.dumps({"publish_id": publish_id})

            # status/fetch: httpx2, one keep-alive connection
            n = args.requests
            started = time.perf_counter()
            for _ in range(n):
                client.post("/v2/post/publish/status/fetch/", headers=auth, content=body)
            httpx_rps = n / (time.perf_counter() - started)
            # status/fetch: curl, many URLs in one process (connection reused)
            urls = [f"{base}/v2/post/publish/status/fetch/"] * n
            started = time.perf_counter()
            subprocess.run(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "--noproxy",
                    "*",
                    "-H",
                    f"Authorization: Bearer {token}",
                    "-H",
                    "Content-Type: application/json",
                    "-d",
                    body,
                    *urls,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            curl_rps = n / (time.perf_counter() - started)
            print(f"status/fetch: {curl_rps:,.0f} req/s (curl), {httpx_rps:,.0f} req/s (httpx2)")

            rss_before = peak_rss_mb(proc.pid)
            chunk_file = Path(tmp) / "chunk.bin"
            with chunk_file.open("wb") as handle:
                block = os.urandom(MIB)
                for _ in range(CHUNK // MIB):
                    handle.write(block)
            started = time.perf_counter()
            codes = [
                curl_put(init["upload_url"], chunk_file, i * CHUNK, size) for i in range(chunks)
            ]
            emulator_s = time.perf_counter() - started
            assert codes == ["206"] * (chunks - 1) + ["201"], codes
            rss_after = peak_rss_mb(proc.pid)

            sink_port, _ = discard_sink()
            started = time.perf_counter()
            for i in range(chunks):
                curl_put(f"http://127.0.0.1:{sink_port}/", chunk_file, i * CHUNK, size)
            sink_s = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(10)
    emu_mb_s = size / MIB / emulator_s
    sink_mb_s = size / MIB / sink_s
    print(
        f"upload host: {emu_mb_s:,.0f} MB/s into the emulator, {sink_mb_s:,.0f} MB/s into a "
        f"discard sink (ratio {emu_mb_s / sink_mb_s:.2f}), {args.size_mb} MiB in {chunks} chunks"
    )
    print(f"emulator peak RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after the upload")
    print(
        json.dumps(
            {
                "status_fetch_rps_curl": round(curl_rps),
                "status_fetch_rps_httpx2": round(httpx_rps),
                "upload_mb_s": round(emu_mb_s),
                "upload_sink_mb_s": round(sink_mb_s),
                "upload_ratio": round(emu_mb_s / sink_mb_s, 2),
                "peak_rss_mb_before": round(rss_before),
                "peak_rss_mb_after": round(rss_after),
                "size_mb": args.size_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
