"""UX-5e on the server: a post's status is followed until it is final, by TikTok's webhooks
and, when they do not come, by polling status/fetch; the status the post's page reads
(`GET /posts/{id}/status`) shows each step until then."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from directpost.publishing import pipeline, states
from directpost.web.post_views import post_view
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio


def _shown(bench: Bench, post_id: int) -> dict[str, Any]:
    """What the post's page shows of its status (the JSON it polls)."""
    return post_view(bench.post(post_id)).as_json()


def _status_fetches(bench: Bench, open_id: str) -> int:
    """Status requests spent for the creator (every one is recorded in its budget, CAP-4)."""
    budgets = bench.ctx.budgets
    return int(budgets.backend.spent(budgets.key(open_id, "status"), 3600, budgets._clock()))  # type: ignore[attr-defined]


async def _started(bench: Bench, open_id: str) -> int:
    # Each of TikTok's steps takes a second, so the step before the end can be seen.
    bench.emulator.control("progression", {"mode": "seconds", "value": 1})
    creator = await bench.creator_facts(open_id)
    post_id = bench.submit(
        open_id, creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )
    await pipeline.advance(bench.ctx, post_id)  # the start: the init is answered
    return post_id


async def test_webhooks_alone_follow_a_post_to_final_and_its_page_shows_each_step_ux_5e(
    bench: Bench,
) -> None:
    bench.ctx.timing = replace(bench.ctx.timing, poll_first_s=3600.0)  # no poll comes in time
    post_id = await _started(bench, "demo-public")
    first = _shown(bench, post_id)
    assert first["state"] == states.PROCESSING and first["final"] is False

    deadline = time.monotonic() + 30
    # No job runs: only webhooks can move it. TikTok sends the post's id in a later event
    # (post.publish.publicly_available) than the one that makes it final: wait for both.
    while not (shown := _shown(bench, post_id))["final"] or not shown["post_ids"]:
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.1)
    last = _shown(bench, post_id)
    assert last["state"] == states.PUBLISHED and last["post_ids"], last
    assert _status_fetches(bench, "demo-public") == 0


async def test_polling_follows_a_post_to_final_when_no_webhook_comes_ux_5e(bench: Bench) -> None:
    bench.register(webhook_url=None)
    post_id = await _started(bench, "demo-public")
    assert _shown(bench, post_id)["final"] is False

    post = await bench.drive(post_id)  # the tracking jobs, at their due times
    assert post.state == states.PUBLISHED
    last = _shown(bench, post_id)
    assert last["final"] is True and last["post_ids"], last
    assert _status_fetches(bench, "demo-public") >= 1
