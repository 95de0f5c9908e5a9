"""Crash and fault suite: worker processes are SIGKILLed at random moments across 100 publishes
while the emulator (a real server) answers with 5xx, delays and dropped connections.

Afterwards every post must be final and published, TikTok (the emulator) must hold exactly one
post per published post, and it must have refused no request for exceeding a rate limit.
Runs once with one worker process (threads inside) and once with three separate processes.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from directpost.publishing import states
from directpost.store import posts as store
from tests.fixtures.environment import child_environment
from tests.publishing.harness import Bench

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CREATORS = 25
POSTS_PER_CREATOR = 4
FAULTS = [
    {"endpoint": "video_init", "error": "internal_error"},
    {"endpoint": "video_init", "drop": True},
    {"endpoint": "video_init", "delay_s": 1.5},
    {"endpoint": "status_fetch", "error": "internal_error"},
    {"endpoint": "status_fetch", "drop": True},
    {"endpoint": "status_fetch", "delay_s": 1.0},
    {"endpoint": "creator_info", "error": "internal_error"},
    {"endpoint": "creator_info", "drop": True},
    {"endpoint": "token", "error": "internal_error"},
]


def _worker_env(bench: Bench) -> dict[str, str]:
    root = bench.ctx.media_store.root  # type: ignore[attr-defined]
    return child_environment(bench.settings, DIRECTPOST_MEDIA_STORAGE_URL=f"file://{root}")


def _spawn(env: dict[str, str], threads: int) -> subprocess.Popen[bytes]:
    log = open(Path(env["DIRECTPOST_DATA_DIR"]) / "workers.log", "ab")  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.publishing.crash_worker", str(threads)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


def _log_tail(bench: Bench) -> str:
    path = Path(bench.settings.data_dir) / "workers.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.mark.parametrize(
    ("processes", "threads"), [(1, 4), (3, 2)], ids=["one-process", "three-processes"]
)
async def test_killed_workers_under_faults_leave_every_post_final_and_posted_once(
    bench: Bench, processes: int, threads: int
) -> None:
    rng = random.Random(5 + processes)
    creators = [f"crash-{i}" for i in range(CREATORS)]
    for open_id in creators:
        bench.emulator.control("creators", {"open_id": open_id, "nickname": open_id})
    media = bench.media_video()
    ids: list[int] = []
    for open_id in creators:
        facts = await bench.creator_facts(open_id)
        for n in range(POSTS_PER_CREATOR):
            ids.append(
                bench.submit(
                    open_id, facts, media=media, privacy_level="SELF_ONLY", title=f"{open_id} #{n}"
                )
            )
    env = _worker_env(bench)
    workers = [_spawn(env, threads) for _ in range(processes)]
    kills = 0
    # Kills follow progress, not the clock: after every few posts that end (3 to 8, at random),
    # one worker dies at a random moment. However fast or slow the machine, the kills spread
    # across the whole run (about 18 of them for 100 posts). Progress is looked at often
    # enough that posts ending together (a batch of webhooks) do not skip kills.
    next_kill = rng.randint(3, 8)
    deadline = time.monotonic() + 360
    try:
        while True:
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            with bench.ctx.factory() as session:
                left = (
                    session.query(store.Post)
                    .filter(store.Post.state.not_in(tuple(states.FINAL_STATES)))
                    .count()
                )
            if left == 0:
                break
            if time.monotonic() > deadline:
                with bench.ctx.factory() as session:
                    rows = (
                        session.query(
                            store.Post.id,
                            store.Post.state,
                            store.Post.due_at,
                            store.Post.enqueued_until,
                            store.Post.claimed_until,
                            store.Post.account_id,
                        )
                        .filter(store.Post.state.not_in(tuple(states.FINAL_STATES)))
                        .limit(8)
                        .all()
                    )
                    leases = session.query(store.PublishLease).count()
                raise AssertionError(
                    f"{left} posts unfinished; {rows}; leases {leases}; {_log_tail(bench)}"
                )
            if len(ids) - left < next_kill:
                continue
            next_kill = len(ids) - left + rng.randint(3, 8)
            if rng.random() < 0.5:
                bench.emulator.control("faults", rng.choice(FAULTS))
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = _spawn(env, threads)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        bench.emulator.control("faults", method="DELETE")

    assert kills >= 5
    posts = [bench.post(i) for i in ids]
    assert Counter(p.state for p in posts) == Counter({states.PUBLISHED: len(ids)})
    state = bench.emulator.wait_for(
        lambda s: all(
            p["status"] in ("PUBLISH_COMPLETE", "FAILED")
            for p in s["publishes"]
            if p["client_key"] == bench.settings.tiktok_client_key
        ),
        timeout=60,
    )
    tiktok_posts = [
        p
        for per in state["posts"].values()
        for p in per
        if p["client_key"] == bench.settings.tiktok_client_key
    ]
    by_publish = Counter(p["publish_id"] for p in tiktok_posts)
    assert len(tiktok_posts) == len(ids), "exactly one TikTok post per published post"
    assert sorted(by_publish) == sorted(str(p.publish_id) for p in posts)
    assert set(by_publish.values()) == {1}
    refused = [r for r in state["refused"] if "rate_limit" in str(r)]
    assert refused == [], "no request refused for exceeding a rate limit"
