"""What a publish job runs with and how it stops: its context (built once per process from the
composition root), its timings, the two ways a run ends early, and the budgeted steps every
kind of run shares (the creator's request budget, a fresh access token, a retry's delay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from directpost import tiktok
from directpost.config import Settings
from directpost.media.storage import MediaStore
from directpost.publishing import outcomes
from directpost.publishing.budgets import Budgets, Ticket
from directpost.publishing.media_check import MediaServiceCheck
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher

#: Opens the library's async client (one per worker thread, kept from job to job).
ClientFactory = Callable[[], AbstractAsyncContextManager[tiktok.AsyncTikTokClient]]


@dataclass
class Timing:
    """How long to wait between things; tests shrink these (never the TikTok limits)."""

    claim_ttl: timedelta = timedelta(seconds=60)
    lease_ttl: timedelta = timedelta(minutes=2)
    lease_busy_retry: timedelta = timedelta(seconds=3)
    media_url_ttl: timedelta = timedelta(hours=2)
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    # Webhooks say when a post is final; polling is the fallback for a missed one, so it starts
    # late enough that a delivered webhook makes it unnecessary, and backs off inside the 30/min
    # status budget. TikTok pulls and processes real media for a while: with a 4 MB video in
    # the burst of 1,000 posts, half the webhooks came after 10 s, and the polls they caused
    # were about 10 ms of worker CPU per post (a job, a status request, TikTok's answer).
    poll_first_s: float = 30.0
    poll_base_s: float = 5.0
    poll_max_s: float = 60.0
    #: Budget waits up to this long happen inside the job; longer ones reschedule it.
    inline_wait_s: float = 5.0
    max_tries: int = 6
    #: A start that finds our media service not answering looks again after this long.
    media_down_retry_s: float = 5.0


@dataclass
class PublishContext:
    """Everything a job needs, built once per process (`worker.context_from_settings`)."""

    settings: Settings
    factory: sessionmaker[Session]
    cipher: TokenCipher
    client: ClientFactory
    budgets: Budgets
    media_store: MediaStore
    timing: Timing = field(default_factory=Timing)
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: True once the worker is stopping (SIGTERM): a job gives its post back at the next safe
    #: point (a budget wait, an upload's chunk boundary) instead of going on.
    stopping: Callable[[], bool] = lambda: False
    #: Asked before a pull publish starts: does our media service answer? (None: not asked.)
    media_check: MediaServiceCheck | None = None


class Reschedule(Exception):
    """Stop this run; look at the post again after `delay` seconds. `note`: why, in words
    for the creator, kept on the post until the run that gets further clears it."""

    def __init__(self, delay: float, *, count_try: bool = False, note: str = "") -> None:
        super().__init__(f"again in {delay:.1f}s")
        self.delay = delay
        self.count_try = count_try
        self.note = note


class Finish(Exception):
    """Stop this run: the post reached `outcome` (with TikTok's log_id when known)."""

    def __init__(self, outcome: outcomes.Outcome, *, code: str = "", log_id: str = "") -> None:
        super().__init__(outcome.state)
        self.outcome = outcome
        self.code = code
        self.log_id = log_id


def backoff(base: float, cap: float, n: int) -> float:
    return float(min(cap, base * (2 ** max(0, n))))


def retry_delay(ctx: PublishContext, *, post_tries: int) -> float:
    return backoff(ctx.timing.retry_base_s, ctx.timing.retry_max_s, post_tries)


def must_get(session: Session, post_id: int) -> store.Post:
    """The post, or the end of the run when it was deleted meanwhile."""
    post = store.get_post(session, post_id=post_id)
    if post is None:
        raise Finish(outcomes.UNKNOWN_FAILURE, code="missing")
    return post


def api_retry(ctx: PublishContext, post_id: int, exc: Exception) -> Reschedule:
    """When to try a failed TikTok call again: a 429 waits out TikTok's minute; other
    transport or server trouble backs off by the post's tries (counted, capped)."""
    if isinstance(exc, tiktok.RateLimitedError):
        return Reschedule(60.0)
    with ctx.factory() as session:
        tries = must_get(session, post_id).tries
    return Reschedule(retry_delay(ctx, post_tries=tries), count_try=True)


@dataclass
class Reservation:
    """One request's place in the creator's budget (CAP-4), until its answer is back and it is
    settled (`settle`): at most once, in whichever transaction comes first after the answer."""

    ticket: Ticket | None
    settled: bool = False


def reserve_now(
    ctx: PublishContext, session: Session, open_id: str, family: str
) -> Reservation | None:
    """A request's budget taken inside the caller's transaction if it is free now, else None
    (the caller then waits for it with `spend`). A database budget joins that transaction
    instead of costing one of its own."""
    wait, ticket = ctx.budgets.try_reserve(open_id, family, within=session)
    return Reservation(ticket) if wait <= 0 else None


async def spend(ctx: PublishContext, open_id: str, family: str) -> Reservation:
    """Wait for this creator's budget (CAP-4); long waits give the worker back. The
    reservation is settled (`settle`) once the request's answer is back."""
    waited = 0.0
    while True:
        # Called in this thread, like the database: a job owns its worker thread's loop, and
        # a hop to another thread per call cost more than the call (one Redis round trip).
        wait, ticket = ctx.budgets.try_reserve(open_id, family)
        if wait <= 0:
            return Reservation(ticket)
        if waited + wait > ctx.timing.inline_wait_s or ctx.stopping():
            raise Reschedule(wait)  # nothing spent yet: the post waits in the queue instead
        await ctx.sleep(wait)
        waited += wait


def settle(
    ctx: PublishContext, reservation: Reservation | None, *, within: Session | None = None
) -> None:
    """Count the request from when its answer came back (see `Budgets.settle`).

    `within`: the transaction that stores the answer, which a database budget joins; the
    reservation counts as settled only once that transaction has committed (`committed`), so
    a rollback leaves it to be settled again on the way out. A budget outside the database
    (Redis) is not touched inside a transaction at all: its trouble must never undo what the
    transaction stores (a publish_id); it is settled on the way out instead."""
    if reservation is None or reservation.settled:
        return
    if within is not None and not ctx.budgets.joins_transactions:
        return
    if reservation.ticket is not None:
        ctx.budgets.settle(reservation.ticket, within=within)
    if within is None:
        reservation.settled = True


def committed(ctx: PublishContext, *reservations: Reservation | None) -> None:
    """The transaction that settled these (`settle(within=...)`) has committed."""
    if not ctx.budgets.joins_transactions:
        return
    for reservation in reservations:
        if reservation is not None:
            reservation.settled = True
