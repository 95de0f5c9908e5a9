"""The emulator's upload host against a bare server, in alternated rounds; status/fetch req/s.

The emulator runs as a real server in its own process (`directpost emulator`'s `serve`), and the
bare server (a socket reader that discards each PUT body and answers 201) in another, so each
one's CPU time (/proc/<pid>/stat) and peak memory (VmHWM) are its own. Each round sends the same
file, cut into 64 MiB chunks, with one `curl` process (`-X PUT --data-binary @chunk` per chunk,
with its Content-Range; `-T` would append the file name to a URL whose path ends in '/') to the
emulator (reset, then a fresh FILE_UPLOAD init, per round) and to the bare server; who goes first
alternates (`bench/_pairs.py`). The ratio is the emulator's cost (HTTP parsing, disk write,
SHA-256) over the wire; CPU-s per GiB received is printed for both servers, and the emulator's
split in two: the thread that receives (the event loop: parsing, socket reads, file writes) and
the others (the SHA-256 of what was received, read back from the page cache by the hashing
thread while the upload goes on). The SHA-256 costs ~0.6 CPU-s per GiB even with the CPU's SHA
instructions, so the emulator can match the bare server's MB/s only with a core to spare for
it: `curl` itself is one busy core (~1.2 CPU-s per GiB with --data-binary).

    python bench/emulator.py                  # 5 rounds at 1 GiB (BENCH_QUICK=1: 2 at 256 MiB)
    python bench/emulator.py --size-mb 512 --rounds 3

Goals: upload MB/s emulator/bare >= 0.8 (median); the emulator's peak RSS does not grow with the
uploads (VmHWM after the last round minus before the first <= 16 MB). status/fetch req/s over one
keep-alive connection (httpx2 and curl) is reported without a goal.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/emulator.py` puts bench/, not the root, on the path
    sys.path.insert(0, str(ROOT))

from tests.fixtures.processes import free_port  # noqa: E402

from bench._pairs import QUICK, Measure, alternate, report, spread  # noqa: E402
from directpost.emulator.server import HTTP as EMULATOR_HTTP  # noqa: E402

MIB = 1024 * 1024
GIB = 1024 * MIB
CHUNK = 64 * MIB
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def thread_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds so far of a process's main thread and of all its other threads."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended between listing and reading
            continue
        spent = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if task.name == str(pid):
            main += spent
        else:
            others += spent
    return main, others


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


def bare_server() -> None:
    """A minimal HTTP/1.1 server that reads each PUT body and answers 201: the wire baseline.

    Runs in its own process (`python -c "import bench.emulator as b; b.bare_server()"`), prints
    its port, serves one connection at a time until killed.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    print(server.getsockname()[1], flush=True)
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
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def curl_upload(url: str, chunk_file: Path, size: int) -> list[str]:
    """PUT `size` bytes as chunks of `chunk_file` with one curl process; the status codes."""
    args = ["curl"]
    for first in range(0, size, CHUNK):
        if first:
            args.append("--next")
        last = first + CHUNK - 1
        args += ["-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "--noproxy", "*"]
        # No 100-continue round trip (the bare server does not answer it).
        args += ["-X", "PUT", "--data-binary", f"@{chunk_file}", "-H", "Expect:"]
        args += [
            "-H",
            "Content-Type: video/mp4",
            "-H",
            f"Content-Range: bytes {first}-{last}/{size}",
        ]
        args.append(url)
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return out.stdout.split()


def _status_fetch(base: str, token: str, body: str, n: int) -> tuple[float, float]:
    """status/fetch req/s over one keep-alive connection: (httpx2, curl)."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=base, trust_env=False, timeout=60) as client:
        started = time.perf_counter()
        for _ in range(n):
            client.post("/v2/post/publish/status/fetch/", headers=auth, content=body)
        httpx_rps = n / (time.perf_counter() - started)
    urls = [f"{base}/v2/post/publish/status/fetch/"] * n
    started = time.perf_counter()
    headers = ["-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
    subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "--noproxy", "*", *headers, "-d", body, *urls],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return httpx_rps, n / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256 if QUICK else 1024)
    parser.add_argument("--rounds", type=int, default=2 if QUICK else 5)
    parser.add_argument("--requests", type=int, default=300 if QUICK else 1000)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    size: int = args.size_mb * MIB
    if size % CHUNK:
        raise SystemExit(f"--size-mb must be a multiple of {CHUNK // MIB}")
    chunks = size // CHUNK
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        chunk_file = Path(tmp) / "chunk.bin"
        with chunk_file.open("wb") as handle:
            block = os.urandom(MIB)
            for _ in range(CHUNK // MIB):
                handle.write(block)
        proc = start_emulator(port, str(Path(tmp) / "emulator"))
        bare = subprocess.Popen(
            [sys.executable, "-c", "import bench.emulator as b; b.bare_server()"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert bare.stdout is not None
            bare_url = f"http://127.0.0.1:{int(bare.stdout.readline())}/"
            base = f"http://127.0.0.1:{port}"
            client = httpx2.Client(base_url=base, trust_env=False, timeout=120)

            def fresh_world() -> dict[str, str]:
                """Reset (the last round's file is deleted), lift the limits; a token."""
                client.post("/_emulator/reset")
                limits = {"status_fetch": 10**9, "video_init": 10**9}
                client.post("/_emulator/config", json={"rate_limits": limits})
                token = client.post("/_emulator/tokens", json={"open_id": "demo-public"})
                return {"Authorization": f"Bearer {token.json()['access_token']}"}

            def init(auth: dict[str, str]) -> dict[str, str]:
                answer = client.post(
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
                )
                data: dict[str, str] = answer.json()["data"]
                if "upload_url" not in data:
                    raise SystemExit(f"init refused: {answer.text}")
                return data

            auth = fresh_world()
            first = init(auth)
            token = auth["Authorization"].removeprefix("Bearer ")
            body = json.dumps({"publish_id": first["publish_id"]})
            n = args.requests
            fetch = alternate(
                2 if QUICK else 3,
                baseline=lambda: _status_fetch(base, token, body, n)[1],
                project=lambda: _status_fetch(base, token, body, n)[0],
            )
            # A first upload before measuring: the emulator's own start-up memory is not the
            # upload's, and its first chunk pays for imports (the processing pipeline).
            assert curl_upload(first["upload_url"], chunk_file, size)[-1] == "201"
            rss_before = peak_rss_mb(proc.pid)
            # CPU-s/GiB per round; the emulator's receiving thread and its other threads apart.
            cpu: dict[str, list[float]] = {"emulator": [], "bare": [], "receiving": [], "rest": []}
            rss_after: list[float] = []

            def emulator() -> float:
                # Each round on a fresh world: the previous round's file is deleted, so this
                # one is written into memory the kernel has used before. On this VM, the first
                # touch of never-used memory cost 2.4-3 CPU-s per GiB written, against 0.2 once
                # warm (measured): that is the machine's start-up, not the upload host.
                url = init(fresh_world())["upload_url"]
                spent, started = cpu_s(proc.pid), time.perf_counter()
                threads = thread_cpu_s(proc.pid)
                codes = curl_upload(url, chunk_file, size)
                seconds = time.perf_counter() - started
                cpu["emulator"].append((cpu_s(proc.pid) - spent) * GIB / size)
                main, others = thread_cpu_s(proc.pid)
                cpu["receiving"].append((main - threads[0]) * GIB / size)
                cpu["rest"].append((others - threads[1]) * GIB / size)
                rss_after.append(peak_rss_mb(proc.pid))
                if codes != ["206"] * (chunks - 1) + ["201"]:
                    raise SystemExit(f"the emulator answered {codes}")
                return float(size / MIB / seconds)

            def bare_sink() -> float:
                spent, started = cpu_s(bare.pid), time.perf_counter()
                codes = curl_upload(bare_url, chunk_file, size)
                seconds = time.perf_counter() - started
                cpu["bare"].append((cpu_s(bare.pid) - spent) * GIB / size)
                if codes != ["201"] * chunks:
                    raise SystemExit(f"the bare server answered {codes}")
                return float(size / MIB / seconds)

            upload = alternate(args.rounds, baseline=bare_sink, project=emulator)
        finally:
            proc.terminate()
            proc.wait(10)
            bare.terminate()
            bare.wait(10)
    label = f"{args.size_mb} MiB" if args.size_mb < 1024 else f"{args.size_mb / 1024:g} GiB"
    report(
        "emulator",
        [
            Measure(
                f"upload host {label} ({chunks} x 64 MiB) vs bare server",
                "MB/s",
                *upload,
                goal=(">=", 0.8),
            ),
            Measure(
                "upload host CPU per GiB vs bare server",
                "CPU-s/GiB",
                cpu["emulator"],
                cpu["bare"],
                [e / b for e, b in zip(cpu["emulator"], cpu["bare"], strict=True)],
            ),
            Measure(
                "upload host receiving thread CPU per GiB vs bare server",
                "CPU-s/GiB",
                cpu["receiving"],
                cpu["bare"],
                [e / b for e, b in zip(cpu["receiving"], cpu["bare"], strict=True)],
                extra={"other_threads_cpu_s_per_gib": spread(cpu["rest"])},
            ),
            Measure(
                "emulator peak RSS growth over the uploads",
                "MB",
                [after - rss_before for after in rss_after],
                goal=("<=", 16),
                extra={"peak_rss_mb_before": round(rss_before, 1)},
            ),
            Measure(f"status/fetch httpx2 vs curl ({n} requests)", "req/s", *fetch),
        ],
        size_mb=args.size_mb,
        emulator_http_parser=EMULATOR_HTTP,
    )


if __name__ == "__main__":
    main()
