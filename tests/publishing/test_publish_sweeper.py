"""The database as the queue: due posts claimed by the worker processes that can run them.

Each worker process claims (`store.claim_due_posts`) only as many due posts as it has free
runner threads, and two processes claiming at once never take the same post. A creator's
second post is not handed out while the first is still on its way to a runner (it would find
the creator's lease taken and wait a whole retry period). A worker that stops gives back what it
claimed and did not start.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from directpost.publishing import pipeline, states
from directpost.publishing.worker import Worker
from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.db import create_engine_for_url, create_session_factory
from directpost.store.migrate import upgrade_database
from tests.fixtures.post_states import seed_state
from tests.publishing.harness import Bench

GRACE = timedelta(seconds=60)
anyio = pytest.mark.anyio


def _claim(bench: Bench) -> list[int]:
    """One claim in its own transaction, as a worker process's dispatcher makes it."""
    with bench.ctx.factory() as session, session.begin():
        return store.claim_due_posts(session, now=utcnow(), grace=GRACE)


@anyio
async def test_another_process_leaves_a_creators_next_post_while_the_first_is_on_its_way(
    bench: Bench,
) -> None:
    creator = await bench.creator_facts("demo-public")
    first, second = (
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(2)
    )
    assert _claim(bench) == [first]
    # Another process claims before a runner has taken the first post: nothing to start, the
    # first is already on its way (it used to hand out the second, which could only wait).
    assert _claim(bench) == []
    # The first post's run ends without starting (say it was rescheduled): the account is
    # free again, and the next claim hands out one post of it again.
    with bench.ctx.factory() as session, session.begin():
        store.end_run(session, post_id=first, holder="nobody")
    assert _claim(bench) == [first]
    assert second not in _claim(bench)


@anyio
async def test_tracked_posts_of_a_creator_are_claimed_beside_its_next_start(bench: Bench) -> None:
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
        seed_state(post, state=states.PROCESSING, due_at=utcnow(), now=utcnow())
    assert sorted(_claim(bench)) == sorted([tracked, waiting])


def _claim_one(bench: Bench) -> list[int]:
    with bench.ctx.factory() as session, session.begin():
        return store.claim_due_posts(session, now=utcnow(), grace=GRACE, limit=1)


@anyio
async def test_creators_take_turns_so_one_creators_posts_never_hold_back_anothers(
    bench: Bench,
) -> None:
    """Starts of one creator are a chain (one at a time). When a start lets go of its
    creator's lease, the next claim goes to a creator that has not started yet, then to the
    one whose last start is oldest, not straight to the same creator's next post: a burst
    sends every creator's first init early, which is what TikTok's per-minute window waits on."""
    creator = await bench.creator_facts("demo-public")
    a1, a2 = (
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(2)
    )
    (b1,) = await _one_post_each(bench, 1)  # due after both of demo-public's posts

    assert _claim_one(bench) == [a1]
    assert await pipeline.advance(bench.ctx, a1) == states.PROCESSING
    assert _claim_one(bench) == [b1], "a creator that has not started goes first"
    assert await pipeline.advance(bench.ctx, b1) == states.PROCESSING
    assert _claim_one(bench) == [a2], "then the creator whose last start is oldest"


async def _one_post_each(bench: Bench, count: int) -> list[int]:
    """One due post for each of `count` new creators (their starts may all run at once)."""
    ids = []
    for n in range(count):
        open_id = f"claims-{n}"
        bench.emulator.control("creators", {"open_id": open_id, "nickname": open_id})
        creator = await bench.creator_facts(open_id)
        ids.append(
            bench.submit(open_id, creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        )
    return ids


@anyio
async def test_a_worker_claims_only_as_many_due_posts_as_it_has_free_runners(
    bench: Bench,
) -> None:
    ids = await _one_post_each(bench, 3)
    worker = Worker(ctx=bench.ctx, threads=2)  # not started: its runners never free up

    assert worker.dispatch_once() == 2
    assert worker.dispatch_once() == 0  # both runners have a job: nothing more is claimed
    assert sorted(worker.pending()) == sorted(ids[:2])
    assert _claim(bench) == [ids[2]]  # what it did not claim stays for the other processes


@anyio
async def test_a_stopping_worker_gives_back_the_posts_it_claimed_and_did_not_start(
    bench: Bench,
) -> None:
    ids = await _one_post_each(bench, 3)
    worker = Worker(ctx=bench.ctx, threads=2)
    assert worker.dispatch_once() == 2

    worker.stop()  # SIGTERM before a runner took them

    assert worker.pending() == []
    # The marks are cleared: another process claims them now, not after the grace period.
    assert sorted(_claim(bench)) == sorted(ids)


def _due_posts(factory: sessionmaker[Session], count: int) -> list[int]:
    """`count` posts due now, each of its own creator (so all of them may start at once)."""
    now = utcnow()
    with factory() as session, session.begin():
        person = accounts.Person()
        session.add(person)
        session.flush()
        posts = []
        for n in range(count):
            account = accounts.TikTokAccount(person_id=person.id, open_id=f"claim-{n}")
            session.add(account)
            session.flush()
            post = store.Post(
                person_id=person.id,
                account_id=account.id,
                open_id=account.open_id,
                kind="video",
                mode="direct",
                choices={},
                media=[],
                due_at=now,
                state=states.QUEUED,
                post_ids=[],
            )
            session.add(post)
            posts.append(post)
        session.flush()
        return [post.id for post in posts]


def _two_processes_claim_each_post_once(url: str) -> None:
    """Two engines stand for two worker processes claiming a few posts at a time, at once."""
    upgrade_database(url)
    engines = [create_engine_for_url(url) for _ in range(2)]
    factories = [create_session_factory(engine) for engine in engines]
    ids = _due_posts(factories[0], 60)
    start = threading.Barrier(2)

    def claim_until_none_left(factory: sessionmaker[Session]) -> list[int]:
        taken: list[int] = []
        start.wait()
        while True:
            with factory() as session, session.begin():
                claimed = store.claim_due_posts(session, now=utcnow(), grace=GRACE, limit=3)
            if not claimed and not _left_unclaimed(factory):
                return taken
            taken += claimed
            time.sleep(0.002)  # its runners take the jobs; the other process claims meanwhile

    try:
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(claim_until_none_left, factories)
    finally:
        for engine in engines:
            engine.dispose()
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(ids)  # and none was lost
    assert first and second  # both took part


def _left_unclaimed(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        unmarked = select(func.count()).where(store.Post.enqueued_until.is_(None))
        return bool(session.scalar(unmarked))


def test_two_processes_claiming_at_once_never_take_the_same_post_on_postgres(
    postgres_url: str,
) -> None:
    _two_processes_claim_each_post_once(postgres_url)


def test_two_processes_claiming_at_once_never_take_the_same_post_on_sqlite(
    tmp_path: Path,
) -> None:
    # One database file, as processes on one machine share it.
    _two_processes_claim_each_post_once(f"sqlite:///{tmp_path / 'app.db'}")
