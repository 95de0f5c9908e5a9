"""Per-token request budgets shared by every process (CAP-4): a job waits, it never spends a 429."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from directpost.publishing import states
from directpost.publishing.budgets import Budgets, DatabaseBudgetBackend, RedisBudgetBackend
from directpost.store.db import create_engine_for_url, create_session_factory
from directpost.store.migrate import upgrade_database
from tests.fixtures.live import missing_service
from tests.publishing.harness import Bench

REDIS_URL = os.environ.get("DIRECTPOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def _database_backend(url: str) -> Iterator[DatabaseBudgetBackend]:
    upgrade_database(url)
    engine = create_engine_for_url(url)
    try:
        yield DatabaseBudgetBackend(create_session_factory(engine))
    finally:
        engine.dispose()


@pytest.fixture
def redis_backend() -> Iterator[RedisBudgetBackend]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing_service(f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__})")
    finally:
        client.close()
    yield RedisBudgetBackend(REDIS_URL, prefix=f"test:{secrets.token_hex(4)}:")


def _check_sliding_window(backend: object) -> None:
    reserve = backend.reserve  # type: ignore[attr-defined]
    key = "init:creator-" + secrets.token_hex(4)
    assert [reserve(key, 6, 60.0, 1000.0 + i) for i in range(6)] == [0.0] * 6
    wait = reserve(key, 6, 60.0, 1010.0)
    assert wait == pytest.approx(50.0)  # the oldest (t=1000) leaves the window at t=1060
    assert reserve(key, 6, 60.0, 1059.9) > 0
    assert reserve(key, 6, 60.0, 1060.0) == 0.0
    # Another token's budget is its own.
    assert reserve("init:someone-else", 6, 60.0, 1010.0) == 0.0


def _check_concurrent_spenders_get_exactly_the_limit(backend: object) -> None:
    key = "status:creator-" + secrets.token_hex(4)
    results: list[float] = []
    lock = threading.Lock()

    def spend() -> None:
        wait = backend.reserve(key, 6, 60.0, 5000.0)  # type: ignore[attr-defined]
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=spend) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for w in results if w == 0.0) == 6


def test_database_budget_is_a_sliding_minute_per_token(tmp_path: Path) -> None:
    with _database_backend(f"sqlite:///{tmp_path / 'budgets.db'}") as backend:
        _check_sliding_window(backend)


def test_database_budget_gives_concurrent_spenders_exactly_the_limit(tmp_path: Path) -> None:
    with _database_backend(f"sqlite:///{tmp_path / 'budgets.db'}") as backend:
        _check_concurrent_spenders_get_exactly_the_limit(backend)


@pytest.mark.postgres
def test_postgres_budget_gives_concurrent_spenders_exactly_the_limit(postgres_url: str) -> None:
    with _database_backend(postgres_url) as backend:
        _check_sliding_window(backend)
        _check_concurrent_spenders_get_exactly_the_limit(backend)


@pytest.mark.redis
def test_redis_budget_is_a_sliding_minute_shared_by_spenders(
    redis_backend: RedisBudgetBackend,
) -> None:
    _check_sliding_window(redis_backend)
    _check_concurrent_spenders_get_exactly_the_limit(redis_backend)


@pytest.mark.anyio
async def test_many_posts_for_one_creator_never_exceed_the_init_limit_cap_4(bench: Bench) -> None:
    """Nine posts queued at once for one creator: inits wait for the budget, TikTok (the emulator)
    refuses nothing. Waiting is done by advancing both clocks, ours and the emulator's, together,
    so the test checks TikTok's real 6-per-minute window without taking minutes."""
    offset = [0.0]

    def clock() -> float:
        import time

        return time.time() + offset[0]

    async def warp(seconds: float) -> None:
        offset[0] += seconds
        bench.emulator.control("clock", {"advance_s": seconds})

    bench.ctx.budgets = Budgets(bench.ctx.budgets.backend, clock=clock, sleep=warp)
    bench.ctx.sleep = warp
    bench.ctx.timing.inline_wait_s = 10_000.0
    creator = await bench.creator_facts("demo-public")
    ids = [
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(9)
    ]
    posts = await asyncio.gather(*(bench.drive(i, within=60) for i in ids))
    assert {p.state for p in posts} == {states.PUBLISHED}
    state = bench.emulator.state()
    assert state["refused"] == []
    inits = sorted(
        p["created_at"]
        for p in state["publishes"]
        if p["client_key"] == bench.settings.tiktok_client_key
    )
    assert len(inits) == 9
    for i, start in enumerate(inits):
        in_window = [t for t in inits[i:] if t - start < 60.0]
        assert len(in_window) <= 6
