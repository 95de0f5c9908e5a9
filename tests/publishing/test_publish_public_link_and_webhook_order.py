"""Issue 19, on the app's side of the emulator's new faithfulness:

- A public post is PUBLISH_COMPLETE before TikTok gives its public id (after moderation): the
  post's page says "published, the link comes" meanwhile, then shows the link once the
  `post.publish.publicly_available` webhook brings the id.
- TikTok delivers webhooks at least once and in no promised order: duplicated and reordered
  events (the emulator's `webhook` fault) leave the post published exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from directpost.publishing import pipeline, states
from directpost.store import notifications
from directpost.store.posts.models import WebhookEvent
from directpost.web.post_views import post_view
from directpost.web.templating import environment
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

PENDING_TEXT = "the link to the post appears once TikTok makes it public"


def _status_fragment(bench: Bench, post_id: int) -> str:
    """The live part of the post's page, as the page and its refreshes render it."""
    return (
        environment().get_template("posts/_status.html").render(post=post_view(bench.post(post_id)))
    )


async def _public_post(bench: Bench) -> int:
    creator = await bench.creator_facts("demo-public")
    return bench.submit(
        "demo-public", creator, media=bench.media_video(), privacy_level="PUBLIC_TO_EVERYONE"
    )


async def _until(condition: Callable[[], object], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_public_post_says_its_link_comes_until_tiktok_makes_it_public(bench: Bench) -> None:
    bench.emulator.control("config", {"public_post_delay_s": 600})  # ten minutes of moderation
    post_id = await _public_post(bench)
    post = await bench.drive(post_id)
    assert post.state == states.PUBLISHED and post.post_ids == []
    shown = post_view(bench.post(post_id)).as_json()
    assert shown["link_pending"] is True and shown["links"] == []
    fragment = _status_fragment(bench, post_id)
    assert "Published — " + PENDING_TEXT in fragment
    assert "View the post on TikTok" not in fragment

    bench.emulator.control("clock", {"advance_s": 600})  # moderation passes at TikTok
    await _until(lambda: bench.post(post_id).post_ids, "the public id never reached the post")
    shown = post_view(bench.post(post_id)).as_json()
    (public_id,) = shown["post_ids"]
    assert shown["link_pending"] is False
    assert shown["links"] == [f"https://www.tiktok.com/@pia.public/video/{public_id}"]
    fragment = _status_fragment(bench, post_id)
    assert PENDING_TEXT not in fragment and "View the post on TikTok" in fragment


async def test_duplicated_and_reordered_webhooks_publish_the_post_exactly_once(
    bench: Bench,
) -> None:
    bench.ctx.timing = replace(bench.ctx.timing, poll_first_s=3600.0)  # webhooks alone
    # TikTok's two events for the post (complete, then publicly_available), each sent twice and
    # the pair sent newest first: the app hears "public" before "complete", and each twice.
    bench.emulator.control(
        "faults", {"endpoint": "webhook", "duplicate": True, "reorder": True, "count": 2}
    )
    post_id = await _public_post(bench)
    await pipeline.advance(bench.ctx, post_id)  # the start: the init is answered
    sent = bench.emulator.wait_for(
        lambda s: len(s["webhooks"]) == 4 and all(d["delivered"] for d in s["webhooks"])
    )["webhooks"]
    in_order = sorted(sent, key=lambda d: d["attempts"][0]["at"])
    assert [d["event"] for d in in_order] == [
        "post.publish.publicly_available",
        "post.publish.publicly_available",
        "post.publish.complete",
        "post.publish.complete",
    ]
    duplicates = ['"duplicate":true' in d["attempts"][0]["response"] for d in in_order]
    assert duplicates == [False, True, False, True]

    post = bench.post(post_id)
    assert post.state == states.PUBLISHED and post.tiktok_status == "PUBLISH_COMPLETE"
    assert len(post.post_ids) == 1 and not post_view(post).link_pending
    with bench.ctx.factory() as session:
        published = session.scalar(
            select(func.count())
            .select_from(notifications.Notification)
            .where(
                notifications.Notification.post_id == post_id,
                notifications.Notification.event == "post.published",
            )
        )
        applied = session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.publish_id == post.publish_id)
        )
    assert published == 1  # one move to "published", one notification of it
    assert applied == 2  # two events applied, their copies dropped
