"""A usable access token for an account: refreshed under a lease when it expires soon.

A publishing use case shared by the web app (the Post page, disconnecting an account) and the
publish jobs. The store only reads and writes the rows (`store.accounts.load_tokens`,
`take_refresh_lease`, `store_refreshed_grant`, `release_refresh_lease`); the orchestration
around TikTok's refresh call lives here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from directpost.store import accounts
from directpost.store.accounts import REFRESH_MARGIN, StoredTokens, TokenGrant
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher

#: How long one process may hold the right to refresh an account's token.
REFRESH_LEASE = timedelta(seconds=60)

#: Exchanges a refresh token for a new grant (`AsyncTikTokClient.refresh_token` fits).
Refresh = Callable[[str], Awaitable[TokenGrant]]


def _load(factory: sessionmaker[Session], account_id: int, cipher: TokenCipher) -> StoredTokens:
    with factory() as session:
        return accounts.load_tokens(session, account_id=account_id, cipher=cipher)


def _forget_expired(factory: sessionmaker[Session], account_id: int) -> None:
    with factory() as session, session.begin():
        accounts.forget_tokens(session, account_id=account_id, status="reconnect_needed")


def _take_lease(
    factory: sessionmaker[Session], account_id: int, now: datetime, lease: timedelta
) -> bool:
    with factory() as session, session.begin():
        return accounts.take_refresh_lease(session, account_id=account_id, now=now, lease=lease)


def _store(
    factory: sessionmaker[Session],
    account_id: int,
    grant: TokenGrant,
    cipher: TokenCipher,
    now: datetime,
) -> None:
    with factory() as session, session.begin():
        accounts.store_refreshed_grant(
            session, account_id=account_id, grant=grant, cipher=cipher, now=now
        )


def _release_lease(factory: sessionmaker[Session], account_id: int) -> None:
    with factory() as session, session.begin():
        accounts.release_refresh_lease(session, account_id=account_id)


async def fresh_access_token(
    factory: sessionmaker[Session],
    *,
    account_id: int,
    cipher: TokenCipher,
    refresh: Refresh,
    margin: timedelta = REFRESH_MARGIN,
    lease: timedelta = REFRESH_LEASE,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    max_wait: float = 30.0,
) -> str:
    """A usable access token for the account, refreshing it first when it expires soon.

    Refresh tokens rotate (the old one may stop working once used), so only one process may
    refresh an account at a time: it takes a short lease on the row with an atomic UPDATE,
    calls `refresh(refresh_token)`, stores the new pair, and releases the lease. Others wait
    and read the stored result. Works the same on SQLite and PostgreSQL, without holding a
    transaction open during the HTTP call; the database work runs in worker threads so the
    event loop never waits on a lock. `AccountNotConnectedError` when the person must sign in
    with the account again.
    """
    waited = 0.0
    while True:
        now = clock()
        tokens = await asyncio.to_thread(_load, factory, account_id, cipher)
        expires = tokens.access_expires_at
        if expires is not None and expires - now > margin:
            return tokens.access_token
        if tokens.refresh_expires_at is not None and tokens.refresh_expires_at <= now:
            await asyncio.to_thread(_forget_expired, factory, account_id)
            raise accounts.AccountNotConnectedError(
                "The TikTok authorization has expired; sign in with that account again."
            )
        if await asyncio.to_thread(_take_lease, factory, account_id, now, lease):
            break
        if waited >= max_wait:
            raise TimeoutError("Another process is refreshing this account's token; try again.")
        await sleep(0.2)
        waited += 0.2
    try:
        # Re-read under the lease: another process may have refreshed just before we took it.
        tokens = await asyncio.to_thread(_load, factory, account_id, cipher)
        if tokens.access_expires_at is not None and tokens.access_expires_at - clock() > margin:
            return tokens.access_token
        grant = await refresh(tokens.refresh_token)
        await asyncio.to_thread(_store, factory, account_id, grant, cipher, clock())
        return grant.access_token
    finally:
        await asyncio.to_thread(_release_lease, factory, account_id)
