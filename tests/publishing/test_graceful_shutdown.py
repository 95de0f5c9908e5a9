"""Graceful shutdown of a real worker process: SIGTERM mid-run lets every running publish reach
a safe point (an init's publish_id stored, an upload's chunk sent) and leaves the rest to the
next worker; a job waiting for a creator's request budget gives its post back at once.

Each test starts `tests.publishing.graceful_worker` (the real `Worker` and the real SIGTERM
handling of `directpost worker`) against the emulator and the app as real servers, stops it in
the middle of the work, then lets a second process finish. Afterwards: the first process exited
0 within its grace period (exit 1 means a job was still running when it ran out), the stop left
no attempt `init_sent`, and TikTok (the emulator) holds exactly one post per post.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from directpost.publishing import pipeline, states
from directpost.rules.model import MediaFacts
from directpost.store import posts as store
from tests.fixtures.environment import child_environment
from tests.fixtures.media_files import make_video
from tests.publishing.harness import Bench

pytestmark = [pytest.mark.anyio]

ROOT = Path(__file__).resolve().parents[2]
GRACE_S = 20.0
#: Only a safety net for a hung process: the assertion is the exit code, never the time.
WAIT_FOR_EXIT_S = GRACE_S + 60.0


class WorkerProcess:
    """One `graceful_worker` process, its output in a file of the bench's data folder."""

    def __init__(self, bench: Bench, name: str) -> None:
        root = bench.ctx.media_store.root  # type: ignore[attr-defined]
        env = child_environment(bench.settings, DIRECTPOST_MEDIA_STORAGE_URL=f"file://{root}")
        self.log_path = Path(bench.settings.data_dir) / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.publishing.graceful_worker", "4", str(GRACE_S)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def terminate(self) -> int:
        """SIGTERM, then the exit code (killed after the safety net: then it is not 0)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(WAIT_FOR_EXIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _attempts(bench: Bench) -> list[store.PublishAttempt]:
    with bench.ctx.factory() as session:
        return list(session.query(store.PublishAttempt).all())


def _unfinished(bench: Bench) -> int:
    with bench.ctx.factory() as session:
        return (
            session.query(store.Post)
            .filter(store.Post.state.not_in(tuple(states.FINAL_STATES)))
            .count()
        )


async def _until(
    what: str, check: Callable[[], bool], *, within: float, worker: WorkerProcess | None = None
) -> None:
    deadline = time.monotonic() + within
    while not check():
        if worker is not None and worker.proc.poll() is not None:
            raise AssertionError(f"the worker exited ({worker.proc.returncode})\n{worker.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}\n{worker.log() if worker else ''}")
        await asyncio.sleep(0.02)


async def _submit_posts(
    bench: Bench, creators: dict[str, int], *, video_kwargs: dict[str, Any]
) -> list[int]:
    ids: list[int] = []
    for open_id, count in creators.items():
        bench.emulator.control("creators", {"open_id": open_id, "nickname": open_id})
        facts = await bench.creator_facts(open_id)
        media = bench.media_video(**video_kwargs)
        for n in range(count):
            ids.append(
                bench.submit(
                    open_id, facts, media=media, privacy_level="SELF_ONLY", title=f"{open_id} #{n}"
                )
            )
    return ids


async def _second_worker_finishes(bench: Bench, ids: list[int], *, within: float) -> None:
    """Start another worker, wait until every post is final, stop it: it exits 0 too."""
    second = WorkerProcess(bench, "second")
    try:
        await _until(
            "every post final", lambda: _unfinished(bench) == 0, within=within, worker=second
        )
        assert second.terminate() == 0, second.log()
    finally:
        second.kill()
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
    assert len(tiktok_posts) == len(ids), "exactly one TikTok post per post"
    assert sorted(by_publish) == sorted(str(p.publish_id) for p in posts)
    assert [r for r in state["refused"] if "rate_limit" in str(r)] == []


@pytest.mark.slow  # about a minute: the creator's init budget frees only after TikTok's minute
async def test_sigterm_mid_run_stores_every_answer_gives_back_budget_waits_and_a_second_worker_finishes(
    bench: Bench,
) -> None:
    # "waiter" has spent its six inits of this minute (CAP-4): its job waits for the budget
    # inside the worker when the stop comes. Every init takes a second at TikTok, so inits of
    # the other creators are in flight then.
    creators = {"waiter": 2, "busy-1": 4, "busy-2": 4}
    ids = await _submit_posts(bench, creators, video_kwargs={})
    for _ in range(6):
        wait, ticket = bench.ctx.budgets.try_reserve("waiter", "init")
        assert wait <= 0 and ticket is not None
        bench.ctx.budgets.settle(ticket)
    bench.emulator.control("faults", {"endpoint": "video_init", "delay_s": 1.0, "count": 100})
    waiter_account = bench.accounts["waiter"]

    def waiter_waits_and_an_init_is_in_flight() -> bool:
        with bench.ctx.factory() as session:
            waiting = (
                session.query(store.Post)
                .filter(
                    store.Post.account_id == waiter_account,
                    store.Post.state == states.PUBLISHING,
                )
                .count()
            )
            in_flight = (
                session.query(store.PublishAttempt)
                .filter(store.PublishAttempt.state == states.INIT_SENT)
                .count()
            )
            done = (
                session.query(store.PublishAttempt)
                .filter(store.PublishAttempt.state == states.CONFIRMED)
                .count()
            )
        return waiting > 0 and in_flight > 0 and done >= 2

    first = WorkerProcess(bench, "first")
    try:
        await _until(
            "a budget wait and an init in flight at once",
            waiter_waits_and_an_init_is_in_flight,
            within=60,
            worker=first,
        )
        code = first.terminate()
        assert code == 0, f"exit {code}: a job outlived the grace period\n{first.log()}"
    finally:
        first.kill()
        bench.emulator.control("faults", method="DELETE")

    attempts = _attempts(bench)
    assert [a.id for a in attempts if a.state in (states.INIT_SENT, states.AMBIGUOUS)] == []
    assert all(a.publish_id for a in attempts), "every init sent has its publish_id stored"
    with bench.ctx.factory() as session:
        waiter_sent = (
            session.query(store.PublishAttempt)
            .join(store.Post, store.Post.id == store.PublishAttempt.post_id)
            .filter(store.Post.account_id == waiter_account)
            .count()
        )
    assert waiter_sent == 0, "the post waiting for its budget was given back, nothing sent"
    assert '"stopped cleanly"' in first.log()

    await _second_worker_finishes(bench, ids, within=150)


async def test_sigterm_during_a_file_upload_finishes_the_chunk_and_the_next_worker_goes_on(
    file_upload_bench: Bench,
) -> None:
    bench = file_upload_bench
    ids = await _submit_posts(bench, {"up-1": 2, "up-2": 2}, video_kwargs={})
    bench.emulator.control("faults", {"endpoint": "upload", "delay_s": 1.5, "count": 100})

    def an_upload_is_in_flight() -> bool:
        return any(
            a.state == states.CONFIRMED and a.source == "FILE_UPLOAD" and not a.upload_done
            for a in _attempts(bench)
        )

    first = WorkerProcess(bench, "first")
    try:
        await _until("an upload in flight", an_upload_is_in_flight, within=60, worker=first)
        code = first.terminate()
        assert code == 0, f"exit {code}: a job outlived the grace period\n{first.log()}"
    finally:
        first.kill()
        bench.emulator.control("faults", method="DELETE")

    attempts = _attempts(bench)
    assert [a.id for a in attempts if a.state in (states.INIT_SENT, states.AMBIGUOUS)] == []
    assert attempts and all(a.publish_id for a in attempts)
    # The chunk in flight was sent and recorded: nothing is left half-sent by the stop.
    assert all(a.upload_done for a in attempts if a.state == states.CONFIRMED)

    await _second_worker_finishes(bench, ids, within=90)
    assert len(bench.publishes()) == len(ids), "no post was initialised twice"


async def test_a_stopping_worker_leaves_a_multi_chunk_upload_at_a_chunk_boundary_and_it_resumes(
    file_upload_bench: Bench,
) -> None:
    """A video over 64 MiB goes in 16 MiB chunks: a stop between two of them ends the run there
    (publish_id stored, the chunks sent are TikTok's), and the next run sends the rest under
    the same publish_id, never a new init. In-process: the job code with `stopping` set."""
    bench = file_upload_bench
    open_id = "big-uploader"
    bench.emulator.control("creators", {"open_id": open_id, "nickname": open_id})
    facts = await bench.creator_facts(open_id)
    video = make_video(bench.media_root / "big.mp4")
    data = video.read_bytes()
    data += b"\0" * (70 * 1024 * 1024 - len(data))  # trailing bytes: still the same video
    bench.ctx.media_store.put("tests/big/video.mp4", data)
    manifest = [
        {
            "key": "tests/big/video.mp4",
            "filename": "big.mp4",
            "content_type": "video/mp4",
            "size": len(data),
        }
    ]
    post_id = bench.submit(
        open_id,
        facts,
        media=(manifest, MediaFacts(kind="video", ready=True, duration_sec=1.0)),
        privacy_level="SELF_ONLY",
    )

    stopping = replace(bench.ctx, stopping=lambda: True)
    after = await pipeline.advance(stopping, post_id)
    assert after == states.PUBLISHING, "the run ended early, the post still on its way"
    (attempt,) = _attempts(bench)
    assert attempt.state == states.CONFIRMED and attempt.publish_id
    assert not attempt.upload_done
    (publish,) = bench.publishes(open_id)
    assert publish["chunks_received"] == 1, "stopped at the first chunk boundary"
    assert publish["uploaded_bytes"] == 16 * 1024 * 1024

    post = await bench.drive(post_id, within=60)
    (attempt,) = _attempts(bench)
    assert attempt.upload_done and attempt.publish_id == publish["publish_id"]
    (publish,) = bench.publishes(open_id)  # still one publish: resumed, not initialised again
    assert publish["uploaded_bytes"] == len(data)
    assert post.state in states.FINAL_STATES
