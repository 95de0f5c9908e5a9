"""The due-post sweep: one publish at a time per creator without bounces, one sweeping process.

Several sweepers (one per worker process) used to hand a creator's second post to a worker
while the first was still on its way to one; the second then found the creator's lease taken
and waited a whole retry period. And every process swept, each reading up to a thousand rows
twice a second.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from huey import SqliteHuey
from sqlalchemy import Engine, create_engine

from directpost.publishing import pipeline
from directpost.publishing.worker import Worker
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.db import LeaderLock, create_engine_for_url
from tests.publishing.harness import Bench

GRACE = timedelta(seconds=60)
anyio = pytest.mark.anyio


def _sweep(bench: Bench) -> list[int]:
    """One sweep in its own transaction, as one worker process's sweeper runs it."""
    with bench.ctx.factory() as session, session.begin():
        return store.claim_due_posts(session, now=utcnow(), grace=GRACE)


@anyio
async def test_second_sweeper_leaves_a_creators_next_post_while_the_first_is_on_its_way(
    bench: Bench,
) -> None:
    creator = await bench.creator_facts("demo-public")
    first, second = (
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(2)
    )
    assert _sweep(bench) == [first]
    # Another process sweeps before a worker has taken the first post: nothing to start, the
    # first is already on its way (it used to hand out the second, which could only wait).
    assert _sweep(bench) == []
    # The first post's run ends without starting (say it was rescheduled): the account is
    # free again, and the next sweep hands out one post of it again.
    with bench.ctx.factory() as session, session.begin():
        store.end_run(session, post_id=first, holder="nobody")
    assert _sweep(bench) == [first]
    assert second not in _sweep(bench)


@anyio
async def test_tracked_posts_of_a_creator_are_swept_beside_its_next_start(bench: Bench) -> None:
    """Only starts are one at a time: a post being tracked never holds back the next one."""
    creator = await bench.creator_facts("demo-public")
    tracked = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    waiting = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=tracked)
        assert post is not None
        store.set_state(post, state=store.PROCESSING, due_at=utcnow(), now=utcnow())
    assert sorted(_sweep(bench)) == sorted([tracked, waiting])


@anyio
async def test_a_start_that_ends_hands_the_creators_next_post_to_a_worker_at_once(
    bench: Bench, tmp_path: Path
) -> None:
    """Starts of one creator are a chain (one at a time); each link used to wait for the next
    sweep. The job whose start ended enqueues the creator's next due post itself."""
    creator = await bench.creator_facts("demo-public")
    first, second, third = (
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(3)
    )
    huey = SqliteHuey("handoff", filename=str(tmp_path / "queue.db"), results=False)
    worker = Worker(ctx=bench.ctx, huey=huey, threads=1)  # not started: no sweeper runs

    assert await pipeline.advance(worker.ctx, first) == store.PROCESSING
    queued = [task.args for task in huey.pending()]
    assert queued == [(second,)]  # the next one, and only one: starts stay one at a time
    # Marked as enqueued, so a sweep does not hand it out a second time.
    assert second not in _sweep(bench) and third not in _sweep(bench)


def _one_leads_at_a_time(engines: list[Engine]) -> None:
    """Two engines stand for two worker processes: one leads until it closes, then the other."""
    first, second = (LeaderLock(engine, key=4242) for engine in engines)
    try:
        assert first.is_leader()
        assert first.is_leader()  # leading is kept, not re-won each time
        assert not second.is_leader()
        first.close()  # the leading process stops (or dies: its connection or file closes)
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.close()
        second.close()
        for engine in engines:
            engine.dispose()


def test_one_process_sweeps_at_a_time_on_postgres(postgres_url: str) -> None:
    _one_leads_at_a_time([create_engine_for_url(postgres_url) for _ in range(2)])


def test_one_process_sweeps_at_a_time_on_sqlite(tmp_path: Path) -> None:
    # One database file, as processes on one machine share it.
    _one_leads_at_a_time([create_engine(f"sqlite:///{tmp_path / 'app.db'}") for _ in range(2)])


def test_an_in_memory_database_has_one_process_which_leads() -> None:
    engine = create_engine("sqlite://")
    try:
        assert LeaderLock(engine, key=4242).is_leader()
        assert LeaderLock(engine, key=4242).is_leader()
    finally:
        engine.dispose()
