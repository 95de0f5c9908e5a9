"""The enqueued marks a worker gives back: posts it claimed (`posts.claim_due_posts`) but will
not run, because it is stopping.

Without this a claimed post waits until its mark runs out (the worker's `enqueue_grace`),
which is right for a process that was killed, and needlessly slow for one that stops
gracefully.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from directpost.store.posts import Post


def clear_enqueued(session: Session, *, post_ids: Sequence[int]) -> None:
    """Clear the posts' enqueued marks, so the next claim anywhere may take them at once."""
    session.execute(
        update(Post)
        .where(Post.id.in_(post_ids))
        .values(enqueued_until=None)
        .execution_options(synchronize_session=False)
    )
