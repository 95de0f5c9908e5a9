"""Issue 15, item 2: the media of a post that ended goes after the operator's retention period
(TikTok keeps the post); a post that may still be confirmed again keeps its media."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from directpost.publishing import states
from directpost.publishing.housekeeping import expire_final_media
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

RETENTION = timedelta(days=30)


def _age(bench: Bench, post_id: int, *, state: str, days: int) -> None:
    with bench.ctx.factory() as session, session.begin():
        session.execute(
            update(store.Post)
            .where(store.Post.id == post_id)
            .values(state=state, finished_at=utcnow() - timedelta(days=days))
        )


def _stored(bench: Bench, post_id: int) -> list[str]:
    keys = [str(item["key"]) for item in bench.post(post_id).media]
    return [key for key in keys if key and bench.ctx.media_store.stat(key) is not None]


async def test_media_of_posts_that_ended_long_ago_is_deleted_and_the_rest_kept(
    bench: Bench,
) -> None:
    creator = await bench.creator_facts("demo-public")
    old, recent, held = (
        bench.submit("demo-public", creator, media=bench.media_video(), privacy_level="SELF_ONLY")
        for _ in range(3)
    )
    _age(bench, old, state=states.PUBLISHED, days=31)
    _age(bench, recent, state=states.PUBLISHED, days=29)
    _age(bench, held, state=states.HELD, days=90)  # may be confirmed again: keeps its media
    assert all(_stored(bench, p) for p in (old, recent, held))

    expired = expire_final_media(bench.ctx.factory, bench.ctx.media_store, retention=RETENTION)
    assert expired == 1
    assert _stored(bench, old) == []
    assert bench.post(old).media[0]["removed_at"]
    assert _stored(bench, recent) and _stored(bench, held)
    # A second sweep finds nothing more to do.
    assert expire_final_media(bench.ctx.factory, bench.ctx.media_store, retention=RETENTION) == 0
