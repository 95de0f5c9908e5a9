"""Worker threads keep one event loop and one TikTok client each, from job to job (building
them per job cost more CPU than the job: the publish_scale benchmark's main brake)."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import pytest

from directpost.publishing import states
from directpost.publishing.worker import Worker, running
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


async def test_worker_threads_reuse_one_client_each_across_jobs_and_publish_everything(
    bench: Bench,
) -> None:
    made: list[int] = []
    original = bench.ctx.client

    def counting_client() -> AbstractAsyncContextManager[Any]:
        made.append(threading.get_ident())
        return original()

    creator = await bench.creator_facts("demo-public")
    ids = [
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(4)
    ]
    worker = Worker(
        ctx=replace(bench.ctx, client=counting_client),
        threads=2,
        sweep_interval_s=0.1,
    )
    deadline = time.monotonic() + 60
    with running(worker):
        while not all(bench.post(i).state in states.FINAL_STATES for i in ids):
            assert time.monotonic() < deadline, [bench.post(i).state for i in ids]
            await asyncio.sleep(0.2)

    assert {bench.post(i).state for i in ids} == {states.PUBLISHED}
    # At least one job per post ran (4 or more), on 2 threads: at most one client per thread.
    assert 1 <= len(made) <= 2
    assert len(set(made)) == len(made)
    assert len(bench.publishes("demo-public")) == len(ids)
