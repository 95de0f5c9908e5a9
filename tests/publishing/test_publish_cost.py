"""What one start costs the database: few transactions, budgets included (issue 11).

On SQLite every write transaction is a turn at the single writer lock, shared by every worker
and the web app; in the burst of 1,000 posts the rate budgets' own transactions (a reservation
and a settle per request, three requests per start) were a third of a worker's CPU. A start by
pull now takes four: the job's claim, the start (lease, caps, both budgets), the attempt
(creator_info's budget settled), and TikTok's answer (the init's budget settled).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from directpost.publishing import pipeline, states
from directpost.publishing.budgets import DatabaseBudgetBackend
from tests.fixtures.gate import gate_reads
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


@contextmanager
def counted(engine: Engine) -> Iterator[dict[str, int]]:
    """Commits and statements made by this thread (the app server shares the engine)."""
    me = threading.get_ident()
    seen = {"commits": 0, "statements": 0}

    def on_commit(conn: Any) -> None:
        if threading.get_ident() == me:
            seen["commits"] += 1

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == me:
            seen["statements"] += 1

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "before_cursor_execute", on_statement)


async def test_a_start_by_pull_costs_four_transactions_budgets_included_cap_4(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(bench.ctx.budgets.backend, DatabaseBudgetBackend)
    creator = await bench.creator_facts("demo-public")
    post_id = bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    engine = bench.ctx.factory.kw["bind"]
    with counted(engine) as seen, gate_reads(monkeypatch) as reads:
        await pipeline.advance(bench.ctx, post_id)
    assert bench.post(post_id).state in {states.PROCESSING, states.PUBLISHED}
    # The budgets were spent (CAP-4) inside those transactions, not beside them.
    backend = bench.ctx.budgets.backend
    now = bench.ctx.budgets._clock()
    for family in ("init", "creator_info"):
        assert backend.spent(bench.ctx.budgets.key("demo-public", family), 61, now) >= 1
    assert seen["commits"] <= 4, seen
    # The job's claim says where the post stands (one statement, not a claim and a read).
    assert seen["statements"] <= 18, seen
    # One read of the lockdown switch before each of the start's two requests (creator_info,
    # the init): no more, and none skipped.
    assert reads == [False, False]
