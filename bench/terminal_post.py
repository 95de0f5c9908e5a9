"""`directpost post` of a large file against `curl -T` of the same chunks, into the same upload host.

The host is the local emulator (`directpost emulator`, its own process). Each round, the
terminal posts the file (`directpost post FILE --privacy Everyone --yes --json`, its own
process: creator_info, the media pre-flight, init, the chunked upload, the status followed) and
reports its own upload time in the JSON result (`upload_seconds`); curl PUTs the same chunks,
cut by the same `chunk_plan`, to an upload URL from an init of another demo creator, over one
connection. Each round also posts a file a quarter of the size, to show that peak RSS does not
grow with the file (the chunks are streamed from disk, never read whole).

Peak RSS is the command's own: the posting process and its short pre-flight child (PyAV runs
there), whichever is higher, read by a small launcher (see `_LAUNCHER`), whatever the file size.

    python bench/terminal_post.py                  # 5 rounds at 1 GiB (BENCH_QUICK=1: 2 at 256 MiB)
    python bench/terminal_post.py --size-mb 512 --rounds 3

Goals (issue 16): upload throughput ratio directpost/curl >= 0.9 (median), peak RSS <= 64 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fixtures.processes import free_port, wait_until_answers  # noqa: E402

from bench._pairs import QUICK, Measure, alternate, report  # noqa: E402
from bench.upload import _chunk_files  # noqa: E402

MiB = 1024 * 1024


def _make_video(path: Path, size: int) -> None:
    """A real MP4 (the terminal checks media before sending: TECH-3) padded to `size` bytes
    with zeros after its last box, which players and the probe ignore."""
    from tests.fixtures.media_files import make_video

    make_video(path, seconds=1.0)
    block = bytes(MiB)
    with path.open("r+b") as handle:
        handle.seek(0, os.SEEK_END)
        left = size - handle.tell()
        while left > 0:
            left -= handle.write(block[: min(left, MiB)])


def _sign_in(api: str, env: dict[str, str]) -> None:
    """The terminal's default account as demo-public (the login flow has its own tests)."""
    os.environ.update(env)
    from directpost.config import Settings
    from directpost.terminal.accounts import Account, AccountStore
    from directpost.terminal.home import Vault
    from directpost.terminal.target import register_demo_app, target_from_settings
    from directpost.tiktok import Token

    target = target_from_settings(Settings())
    register_demo_app(target)
    payload = httpx2.post(
        f"{api}/_emulator/tokens",
        json={"client_key": target.client_key, "open_id": "demo-public"},
        trust_env=False,
    ).json()
    token = Token.from_response(payload, datetime.now(UTC))
    AccountStore(Vault()).save(Account.from_token("default", token, nickname="", target=target))


#: `python -I -S -c _LAUNCHER OUT COMMAND...` forks COMMAND from a small interpreter, waits for
#: it and writes its peak RSS (KiB, Linux) to OUT. Linux keeps a process's peak RSS across exec,
#: so a child forked straight from this bench (some 80 MB of imports) would report the bench's
#: peak, not its own. wait4 also counts the command's children: the pre-flight's probe process.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _post(path: Path, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """One `directpost post` in its own process: its JSON result and its own peak RSS."""
    peak = workdir / "peak-rss-kib"
    command = [sys.executable, "-m", "directpost.cli", "post", str(path)]
    command += ["--privacy", "Everyone", "--yes", "--json"]
    process = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(peak), *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"directpost post exited {process.returncode}: {process.stdout[-500:]!r}")
    result: dict[str, Any] = json.loads(process.stdout)
    result["peak_rss_mb"] = int(peak.read_text()) / 1024  # KiB
    return result


def _curl(api: str, size: int, chunks: list[tuple[Path, str]]) -> float:
    """Seconds for curl to PUT every chunk to a fresh upload URL of the same host."""
    token = httpx2.post(
        f"{api}/_emulator/tokens",
        json={"client_key": "dpdemoclientkey0", "open_id": "demo-no-comments"},
        trust_env=False,
    ).json()["access_token"]
    chunk_size = chunks[0][0].stat().st_size
    init = httpx2.post(
        f"{api}/v2/post/publish/video/init/",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "bench"},
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": size,
                "chunk_size": chunk_size if len(chunks) > 1 else size,
                "total_chunk_count": len(chunks),
            },
        },
        trust_env=False,
    ).json()
    url = init["data"]["upload_url"]
    # `-T` appends the file's name to a URL whose path ends in "/" (the host's does), so the
    # path goes in --request-target; `-f` makes a refused chunk an error, not a fast "success".
    origin, _, target = url.partition("/upload/")
    args = ["curl"]
    for i, (chunk, content_range) in enumerate(chunks):
        if i:
            args.append("--next")
        args += ["-sSf", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Type: video/mp4"]
        args += ["-H", f"Content-Range: {content_range}", "-T", str(chunk)]
        args += ["--request-target", f"/upload/{target}", f"{origin}/upload"]
    start = time.perf_counter()
    subprocess.run(args, check=True)
    seconds = time.perf_counter() - start
    done = httpx2.get(f"{api}/_emulator/state", trust_env=False).json()["publishes"]
    mine = next(p for p in done if p["publish_id"] == init["data"]["publish_id"])
    if mine["uploaded_bytes"] != size:
        raise SystemExit(f"curl's upload did not arrive whole: {mine['uploaded_bytes']} of {size}")
    return seconds


def measure(size_mb: int, rounds: int, workdir: Path) -> list[Measure]:
    size = size_mb * MiB
    small_mb = max(size_mb // 4, 16)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "directpost.cli",
            "emulator",
            "--port",
            str(port),
            "--data-dir",
            str(workdir / "emulator"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answers(f"{api}/_emulator/state", process=emulator)
        base = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
        base |= {"DIRECTPOST_EMULATOR_PORT": str(port), "DIRECTPOST_APP_AUDITED": "true"}
        path, small = workdir / "video.mp4", workdir / "small.mp4"
        _make_video(path, size)
        _make_video(small, small_mb * MiB)
        chunks = _chunk_files(path, size, workdir)
        rss: list[float] = []
        small_rss: list[float] = []
        posts = iter(range(1_000_000))

        def post(video: Path) -> dict[str, Any]:
            # A fresh config folder each time, so the local consent log's daily counts (CAP-3)
            # never stop a long run; the emulator is reset for the same reason.
            env = base | {"DIRECTPOST_CONFIG_DIR": str(workdir / f"config-{next(posts)}")}
            httpx2.post(f"{api}/_emulator/reset", trust_env=False)
            _sign_in(api, env)
            return _post(video, env, workdir)

        def terminal() -> float:
            result = post(path)
            rss.append(result["peak_rss_mb"])
            small_rss.append(post(small)["peak_rss_mb"])
            return size_mb / float(result["upload_seconds"])

        def curl() -> float:
            return size_mb / _curl(api, size, chunks)

        ours, theirs, ratios = alternate(rounds, baseline=curl, project=terminal)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    label, small_label = _size_words(size_mb), _size_words(small_mb)
    return [
        Measure(
            f"directpost post {label} ({len(chunks)} chunks) vs curl -T, same host",
            "MB/s",
            ours,
            theirs,
            ratios,
            goal=(">=", 0.9),
        ),
        Measure(
            f"directpost post peak RSS, {label} (with its pre-flight child)",
            "MB",
            rss,
            goal=("<=", 64),
        ),
        Measure(
            f"peak RSS at {label} vs at {small_label} (flat: the file is streamed)",
            "MB",
            rss,
            small_rss,
            [big / little for big, little in zip(rss, small_rss, strict=True)],
            goal=("<=", 1.05),
        ),
    ]


def _size_words(size_mb: int) -> str:
    return f"{size_mb} MiB" if size_mb < 1024 else f"{size_mb / 1024:g} GiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256 if QUICK else 1024)
    parser.add_argument("--rounds", type=int, default=2 if QUICK else 5)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="directpost-bench-terminal-") as tmp:
        measures = measure(args.size_mb, args.rounds, Path(tmp))
    report("terminal_post", measures, size_mb=args.size_mb)


if __name__ == "__main__":
    main()
