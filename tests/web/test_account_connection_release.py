"""A request gives its database connection back before it waits on TikTok.

With the default pool (5 + 10 connections), a request that kept its connection while TikTok
answers creator_info would make the 16th concurrent user wait for a free connection (and time out
under load). Here the TikTok client's transport notes how many pooled connections are checked
out at the moment each TikTok call leaves the app; with one request in flight it must be none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fastapi import APIRouter
from sqlalchemy import update

from directpost.store.accounts import TikTokAccount
from directpost.store.base import utcnow
from directpost.web.deps import (
    CurrentAccount,
    DbSession,
    ServicesDep,
    access_token_for_account,
)
from tests.fixtures.live import AppClient, api_sign_in
from tests.web.helpers import PoolWatchingTransport, watching_tiktok_calls

pytestmark = pytest.mark.anyio


@pytest.fixture
async def watched(app_client: AppClient) -> AsyncIterator[PoolWatchingTransport]:
    async with watching_tiktok_calls(app_client) as transport:
        yield transport


async def test_post_page_holds_no_database_connection_while_tiktok_answers(
    app_client: AppClient, watched: PoolWatchingTransport
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    watched.seen.clear()

    page = await app_client.client.get("/compose")

    assert page.status_code == 200, page.text
    creator_info_calls = watched.creator_info_holds()
    assert creator_info_calls == [0]


async def test_access_token_for_an_account_leaves_no_connection_checked_out(
    app_client: AppClient,
) -> None:
    """`access_token_for_account` (the Post page's token) returns with the request's
    connection back in the pool, so the route awaits TikTok holding none: from the loaded row,
    and after a refresh."""
    router = APIRouter()
    held: list[int] = []

    @router.get("/_test/access-token")
    async def probe(
        account: CurrentAccount, db: DbSession, services: ServicesDep
    ) -> dict[str, bool]:
        assert services.tiktok_client is not None
        token = await access_token_for_account(
            account, db=db, services=services, client=services.tiktok_client
        )
        held.append(services.engine.pool.checkedout())
        return {"has_token": bool(token)}

    app_client.app.include_router(router)
    await api_sign_in(app_client.client, open_id="demo-private")

    fresh = await app_client.client.get("/_test/access-token")
    with app_client.app.state.services.factory() as db, db.begin():
        db.execute(update(TikTokAccount).values(access_expires_at=utcnow() + timedelta(minutes=1)))
    refreshed = await app_client.client.get("/_test/access-token")

    assert fresh.status_code == 200, fresh.text
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json() == fresh.json() == {"has_token": True}
    assert held == [0, 0]
