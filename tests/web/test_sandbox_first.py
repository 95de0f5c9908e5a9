"""DG-1 on the server: with no TikTok credentials, `directpost run` (what `make run` starts)
brings up the local emulator with its demo creators and registers the app there, so a
developer or a reviewer can use every flow, from sign-in to a published post, without
anything reaching the real TikTok."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.fixtures.first_run import submit_clip
from tests.fixtures.live import api_sign_in
from tests.fixtures.processes import free_port, wait_until_answers

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded_run(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """`directpost run` as a real process on free ports, with no TikTok credentials and no
    .env: the app's URL and the emulator's port."""
    app_port, emulator_port = free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
    env.update(
        {
            "DIRECTPOST_DATA_DIR": str(tmp_path / "var"),
            "DIRECTPOST_PORT": str(app_port),
            "DIRECTPOST_EMULATOR_PORT": str(emulator_port),
            "DIRECTPOST_PUBLIC_BASE_URL": app_url,
        }
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "directpost.cli", "run"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_answers(f"{app_url}/healthz", process=process, log=log)
        yield app_url, emulator_port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def test_run_without_credentials_posts_end_to_end_on_the_local_emulator_dg_1(
    embedded_run: tuple[str, int], tmp_path: Path
) -> None:
    app_url, emulator_port = embedded_run
    async with httpx2.AsyncClient(base_url=app_url, timeout=30, trust_env=False) as client:
        start = await client.get("/auth/tiktok/start")
        # Sign-in goes to the local emulator, never to TikTok.
        assert urlsplit(start.headers["location"]).netloc == f"127.0.0.1:{emulator_port}"
        assert (await api_sign_in(client, open_id="demo-private")).status_code == 303
        posted = await submit_clip(client, tmp_path, "sandbox first")
        assert posted.status_code == 303, posted.text
        status_url = urlsplit(posted.headers["location"]).path + "/status"
        deadline = time.monotonic() + 60
        while not (shown := (await client.get(status_url)).json())["final"]:
            assert time.monotonic() < deadline, shown
            await asyncio.sleep(0.25)
        assert shown["state"] == "published", shown
    # The post is on the demo creator's profile at the local emulator.
    state = httpx2.get(
        f"http://127.0.0.1:{emulator_port}/_emulator/state", timeout=10, trust_env=False
    ).json()
    assert "sandbox first" in str(state)
