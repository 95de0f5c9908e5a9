"""Lockdown (TOS-2): stop all traffic to TikTok at once, revoke every stored token, hold the posts.

`lock_down` works in the order that makes a compromise stop soonest:

1. the switch (`store.lockdown`) is committed first: from that moment every `serve` and `worker`
   process, on every machine, refuses its next TikTok request (`publishing.gate`), mid-job too;
2. every post that has not ended is held (`states.HELD`: nothing lost, the creator confirms it
   again later; a publish TikTok already had is then only followed, never sent twice) and
   its media URLs are revoked, so TikTok cannot pull any more bytes;
3. every stored token is revoked at TikTok (a few at a time, paced, each retried on a network
   or server error or a 429) and then deleted here, revoked or not: a revocation that failed is
   reported with its reason, so the operator can finish it in TikTok's developer portal.

Running it again while the lockdown is on finishes what an interrupted run left (new posts
held, tokens still stored revoked and deleted). `lift` ends the lockdown; creators sign in again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from directpost import tiktok
from directpost.publishing import lifecycle, outcomes, states
from directpost.publishing.wiring import Services
from directpost.store import accounts
from directpost.store import lockdown as switch
from directpost.store import posts as store
from directpost.store import sessions as web_sessions
from directpost.store.base import utcnow

log = logging.getLogger(__name__)

#: Revocations in flight at once, and the pause each one leaves before the next: TikTok
#: documents no limit for /v2/oauth/revoke/, so stay well inside the per-token ones.
REVOKE_CONCURRENCY = 4
REVOKE_SPACING_S = 0.1
#: Tries per token before it is reported as failed.
REVOKE_TRIES = 3
#: A token expiring sooner than this is refreshed first, so that the revocation reaches a live
#: grant (an expired access token with a live refresh token is still a grant).
REFRESH_BEFORE_REVOKE = timedelta(minutes=1)
#: Posts held per transaction.
HOLD_BATCH = 500


@dataclass(frozen=True, slots=True)
class RevokeFailure:
    """A token TikTok did not confirm as revoked (deleted here all the same)."""

    account_id: int
    account: str
    reason: str


@dataclass(slots=True)
class LockdownReport:
    """What a lockdown did, for the command's output and the operator page."""

    lockdown: switch.LockdownView
    started_now: bool
    posts_held: int = 0
    tokens_revoked: int = 0
    #: Grants TikTok had already ended (expired or revoked before): nothing left to revoke.
    tokens_already_invalid: int = 0
    tokens_deleted: int = 0
    failures: list[RevokeFailure] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "posts_held": self.posts_held,
            "tokens_revoked": self.tokens_revoked,
            "tokens_already_invalid": self.tokens_already_invalid,
            "tokens_deleted": self.tokens_deleted,
            # The account's id only: the lockdown's record outlives a purge (TOS-3), so it
            # keeps no TikTok information (no nickname, no open_id).
            "failures": [{"account_id": f.account_id, "reason": f.reason} for f in self.failures],
        }


@dataclass(frozen=True, slots=True)
class _Grant:
    account_id: int
    account: str
    access_token: str
    refresh_token: str
    expires_soon: bool


async def lock_down(
    services: Services,
    *,
    by: str,
    reason: str = "",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> LockdownReport:
    """Start the lockdown (or finish one that is on): see the module's docstring."""
    with services.factory() as session, session.begin():
        view, started_now = switch.start_lockdown(session, by=by, reason=reason)
        web_sessions.end_creator_sessions(session)  # every creator signs in again (TOS-1)
    # Committed: every process refuses its next request from here on.
    log.warning("lockdown %s by %s: all traffic to TikTok is stopped", view.id, view.started_by)
    report = LockdownReport(lockdown=view, started_now=started_now)
    report.posts_held = await asyncio.to_thread(_hold_posts, services)
    grants = await asyncio.to_thread(_stored_grants, services)
    await _revoke_all(services, grants, report, sleep)
    with services.factory() as session, session.begin():
        previous = dict(view.report) if not started_now else {}
        switch.record_report(session, view.id, _merged(previous, report.as_dict()))
        current = switch.active_lockdown(session)
    if current is not None:
        report.lockdown = current
    return report


def lift(services: Services, *, by: str) -> switch.LockdownView | None:
    """End the lockdown (None: none was on). Held posts stay held until their creator, signed
    in again, confirms them."""
    with services.factory() as session, session.begin():
        lifted = switch.lift_lockdown(session, by=by)
    if lifted is not None:
        log.warning("lockdown %s lifted by %s", lifted.id, lifted.lifted_by)
    return lifted


def _merged(previous: dict[str, object], now: dict[str, object]) -> dict[str, object]:
    """A later run's report added to the earlier one's (counts summed, failures appended)."""
    merged: dict[str, object] = {}
    for key, value in now.items():
        before = previous.get(key)
        if isinstance(value, int) and isinstance(before, int):
            merged[key] = before + value
        elif isinstance(value, list) and isinstance(before, list):
            merged[key] = [*before, *value]
        else:
            merged[key] = value
    return merged


# --- holding the posts -------------------------------------------------------------------------


def _hold_posts(services: Services) -> int:
    """Move every post that has not ended to HELD, its media URLs revoked, in batches."""
    held = 0
    while True:
        with services.factory() as session, session.begin():
            batch = _hold_batch(session)
        held += batch
        if batch < HOLD_BATCH:
            return held


def _hold_batch(session: Session) -> int:
    now = utcnow()
    rows = session.scalars(
        select(store.Post)
        .where(store.Post.state.in_(states.sources(states.HELD)))
        .order_by(store.Post.id)
        .limit(HOLD_BATCH)
        .with_for_update()
    ).all()
    for post in rows:
        lifecycle.end_with(post, outcomes.HELD_BY_LOCKDOWN, now=now, code="lockdown")
        store.release_lease(session, account_id=post.account_id, post_id=post.id, now=now)
    return len(rows)


# --- revoking the tokens -----------------------------------------------------------------------


def _stored_grants(services: Services) -> list[_Grant]:
    """Every account that still holds tokens, decrypted for the revocation."""
    soon = utcnow() + REFRESH_BEFORE_REVOKE
    grants: list[_Grant] = []
    with services.factory() as session:
        rows = session.scalars(
            select(accounts.TikTokAccount)
            .where(
                (accounts.TikTokAccount.access_token_enc.is_not(None))
                | (accounts.TikTokAccount.refresh_token_enc.is_not(None))
            )
            .order_by(accounts.TikTokAccount.id)
        ).all()
        for account in rows:
            cipher = services.cipher
            grants.append(
                _Grant(
                    account_id=account.id,
                    account=account.display_name or f"account {account.id}",
                    access_token=cipher.decrypt(account.access_token_enc)
                    if account.access_token_enc
                    else "",
                    refresh_token=cipher.decrypt(account.refresh_token_enc)
                    if account.refresh_token_enc
                    else "",
                    expires_soon=account.access_expires_at is None
                    or account.access_expires_at <= soon,
                )
            )
    return grants


async def _revoke_all(
    services: Services,
    grants: list[_Grant],
    report: LockdownReport,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    gate = asyncio.Semaphore(REVOKE_CONCURRENCY)
    async with services.revocation_client_factory() as client:

        async def one(grant: _Grant) -> None:
            async with gate:
                outcome = await _revoke(client, grant, sleep)
                await asyncio.to_thread(_forget, services, grant.account_id)
                report.tokens_deleted += 1
                if outcome == "revoked":
                    report.tokens_revoked += 1
                elif outcome == "already_invalid":
                    report.tokens_already_invalid += 1
                else:
                    report.failures.append(RevokeFailure(grant.account_id, grant.account, outcome))
                    log.error(
                        "revoking the token of account %s failed: %s", grant.account_id, outcome
                    )
                await sleep(REVOKE_SPACING_S)

        await asyncio.gather(*(one(grant) for grant in grants))


async def _revoke(
    client: tiktok.AsyncTikTokClient,
    grant: _Grant,
    sleep: Callable[[float], Awaitable[None]],
) -> str:
    """ "revoked", "already_invalid", or why it failed after `REVOKE_TRIES` tries."""
    failure = "not tried"
    for attempt in range(1, REVOKE_TRIES + 1):
        try:
            access = grant.access_token
            if grant.expires_soon or not access:
                if not grant.refresh_token:
                    return "already_invalid"
                # https://developers.tiktok.com/doc/oauth-user-access-token-management
                access = (
                    await client.refresh_token(refresh_token=grant.refresh_token)
                ).access_token
            # https://developers.tiktok.com/doc/oauth-user-access-token-management (revoke)
            await client.revoke(access_token=access)
            return "revoked"
        except (tiktok.OAuthError, tiktok.AccessTokenInvalidError):
            return "already_invalid"
        except (tiktok.TransportError, tiktok.ServerError, tiktok.RateLimitedError) as exc:
            failure = _words(exc)
            if attempt < REVOKE_TRIES:
                await sleep(tiktok.retry_after(exc, attempt) or float(attempt))
        except tiktok.TikTokError as exc:
            return _words(exc)
    return failure


def _words(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    log_id = getattr(exc, "log_id", "")
    text = f"{type(exc).__name__}: {code or exc}"
    return f"{text} (log_id {log_id})" if log_id else text


def _forget(services: Services, account_id: int) -> None:
    with services.factory() as session, session.begin():
        accounts.forget_tokens(session, account_id=account_id, status="reconnect_needed")
