"""The publish job: takes one post one step further, from what the database says.

Each run claims the post (one job per post), reads where it stands, and does the next thing:
start the publish (`start`) or keep tracking it (`track`). Facts are written the moment they are
learnt, so a run killed at any point can simply be run again (architecture.md "No duplicate
posts, no lost posts"). A run ends early by `Reschedule` (look again later) or `Finish` (the
post reached an outcome, moved by `lifecycle`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from directpost import logs
from directpost.publishing import lifecycle, outcomes, states
from directpost.publishing.context import Finish, PublishContext, Reschedule, Timing
from directpost.publishing.gate import LockdownActive
from directpost.publishing.start import RunEnded, start
from directpost.publishing.track import track
from directpost.store import accounts
from directpost.store import posts as store

__all__ = ["PublishContext", "Timing", "advance"]

log = logging.getLogger(__name__)


async def advance(ctx: PublishContext, post_id: int) -> str | None:
    """Take the post one step further; returns its state afterwards (None if not ours now).

    Besides its own work a run costs the claim (which also reads the post, and lets go at
    once of a post that is already final: a webhook often finishes a post while its tracking
    job waits in the queue) and the release at the end, which a started publish does in the
    same transaction that stores TikTok's answer.
    """
    with logs.log_context(post_id=post_id):  # every line this job logs names its post
        return await _advance(ctx, post_id)


async def _advance(ctx: PublishContext, post_id: int) -> str | None:
    run = RunEnded(holder=uuid.uuid4().hex)
    now = ctx.clock()
    with ctx.factory() as session, session.begin():
        progress = store.claim_post(
            session, post_id=post_id, holder=run.holder, ttl=ctx.timing.claim_ttl, now=now
        )
        if progress is None:
            return None
        if lifecycle.is_final(progress.state):
            store.end_run(session, post_id=post_id, holder=run.holder)
            return progress.state
    beat = asyncio.create_task(_heartbeat(ctx, post_id, run.holder))
    try:
        await _advance_claimed(ctx, post_id, (progress.state, progress.due_at), now, run)
    finally:
        beat.cancel()
        after: str | None
        if run.ended_in_state is not None:
            after = run.ended_in_state
        else:
            after = _end_run(ctx, post_id, run)
    return after


def _end_run(ctx: PublishContext, post_id: int, run: RunEnded) -> str | None:
    """Release what the run held; returns the post's state."""
    with ctx.factory() as session, session.begin():
        store.end_run(session, post_id=post_id, holder=run.holder)
        progress = store.post_progress(session, post_id=post_id)
        if progress is None:
            return None
        # The creator's lease outlives the run only while the post waits, mid-start, for the
        # init budget (state publishing).
        if progress.state != states.PUBLISHING:
            store.release_lease(
                session, account_id=progress.account_id, post_id=post_id, now=ctx.clock()
            )
        return progress.state


async def _heartbeat(ctx: PublishContext, post_id: int, holder: str) -> None:
    """Renew the job's claim (and the creator's lease) while a long step runs."""
    period = max(0.2, ctx.timing.claim_ttl.total_seconds() / 3)
    while True:
        await asyncio.sleep(period)

        def renew() -> None:
            with ctx.factory() as session, session.begin():
                now = ctx.clock()
                store.renew_post_claim(
                    session, post_id=post_id, holder=holder, ttl=ctx.timing.claim_ttl, now=now
                )
                store.renew_lease(
                    session, holder=f"post-{post_id}", ttl=ctx.timing.lease_ttl, now=now
                )

        try:
            await asyncio.to_thread(renew)
        except Exception:  # tried again next period: the claim outlives two missed renewals
            log.exception("renewing the claim on post %s failed", post_id)


async def _advance_claimed(
    ctx: PublishContext, post_id: int, seen: tuple[str, datetime], now: datetime, run: RunEnded
) -> None:
    """`seen`: the post's state and due time, read under the claim just taken."""
    state, due_at = seen
    if due_at > now:
        return
    try:
        if state in states.STARTING_STATES:
            await start(ctx, post_id, run)
        else:
            await track(ctx, post_id)
    except Reschedule as again:
        _reschedule(ctx, post_id, again)
    except Finish as done:
        _finish(ctx, post_id, done)
    except accounts.AccountNotConnectedError:
        _finish(ctx, post_id, Finish(outcomes.DISCONNECTED, code="account_disconnected"))
    except LockdownActive:
        # The operator stopped all traffic (TOS-2) between two of this job's requests: the
        # lockdown holds the post (if it has not already), nothing more is sent.
        _finish(ctx, post_id, Finish(outcomes.HELD_BY_LOCKDOWN, code="lockdown"))


def _reschedule(ctx: PublishContext, post_id: int, again: Reschedule) -> None:
    with ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        if post is None or lifecycle.is_final(post.state):
            return
        now = ctx.clock()
        if again.count_try:
            post.tries += 1
            if post.tries >= ctx.timing.max_tries:
                _end(session, post, Finish(outcomes.TOO_MANY_TRIES, code="retries"), now)
                return
        post.due_at = now + timedelta(seconds=again.delay)
        post.updated_at = now
        if again.note:
            post.reason_text = again.note


def _finish(ctx: PublishContext, post_id: int, done: Finish) -> None:
    with ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        if post is not None and not lifecycle.is_final(post.state):
            _end(session, post, done, ctx.clock())


def _end(session: Session, post: store.Post, done: Finish, now: datetime) -> None:
    """The post reached an outcome: moved (its media URLs revoked), the creator's lease free."""
    lifecycle.end_with(post, done.outcome, now=now, code=done.code, log_id=done.log_id)
    log.info(
        "post ended %s (%s)",
        post.state,
        done.code or "-",
        extra={"open_id_hash": logs.hash_open_id(post.open_id), "log_id": done.log_id},
    )
    store.release_lease(session, account_id=post.account_id, post_id=post.id, now=now)
