"""`directpost post` of a large file against `curl -T` of the same chunks, into the same upload host.

The host is the local emulator (`directpost emulator`, its own process). Each round, the
terminal posts the file (`directpost post FILE --privacy Everyone --yes --json`, its own
process: creator_info, init, the chunked upload, the status followed) and reports its own upload
time in the JSON result (`upload_seconds`); curl PUTs the same chunks, cut by the same
`chunk_plan`, to an upload URL from an init of another demo creator, over one connection. Peak
RSS is the `directpost post` process's own (wait4), whatever the file size.

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


def _post(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """One `directpost post` in its own process: its JSON result and its own peak RSS."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "directpost.cli",
            "post",
            str(path),
            "--privacy",
            "Everyone",
            "--yes",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"directpost post exited {process.returncode}: {out[-500:]!r}")
    result: dict[str, Any] = json.loads(out)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
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
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
        env |= {
            "DIRECTPOST_CONFIG_DIR": str(workdir / "config"),
            "DIRECTPOST_EMULATOR_PORT": str(port),
            "DIRECTPOST_APP_AUDITED": "true",
        }
        path = workdir / "video.mp4"
        _make_video(path, size)
        chunks = _chunk_files(path, size, workdir)
        rss: list[float] = []

        def terminal() -> float:
            httpx2.post(f"{api}/_emulator/reset", trust_env=False)
            _sign_in(api, env)
            result = _post(path, env)
            rss.append(result["peak_rss_mb"])
            return size_mb / float(result["upload_seconds"])

        def curl() -> float:
            return size_mb / _curl(api, size, chunks)

        ours, theirs, ratios = alternate(rounds, baseline=curl, project=terminal)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    label = f"{size_mb} MiB" if size_mb < 1024 else f"{size_mb / 1024:g} GiB"
    return [
        Measure(
            f"directpost post {label} ({len(chunks)} chunks) vs curl -T, same host",
            "MB/s",
            ours,
            theirs,
            ratios,
            goal=(">=", 0.9),
        ),
        Measure("directpost post peak RSS", "MB", rss, goal=("<=", 64)),
    ]


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
