"""A request gives its database connection back before it waits on TikTok.

With the default pool (5 + 10 connections), a request that kept its connection while TikTok
answers creator_info would make the 16th concurrent user wait for a free connection (and time out
under load). Here the TikTok client's transport notes how many pooled connections are checked
out at the moment each TikTok call leaves the app; with one request in flight it must be none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter

from directpost.web.deps import AccessToken
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


async def test_access_token_dependency_returns_the_connection_before_the_route_awaits(
    app_client: AppClient,
) -> None:
    """`AccessToken` (used by the publish route) leaves no connection checked out."""
    router = APIRouter()
    held: list[int] = []

    @router.get("/_test/access-token")
    async def probe(token: AccessToken) -> dict[str, bool]:
        held.append(app_client.app.state.engine.pool.checkedout())
        return {"has_token": bool(token)}

    app_client.app.include_router(router)
    await api_sign_in(app_client.client, open_id="demo-private")

    answer = await app_client.client.get("/_test/access-token")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"has_token": True}
    assert held == [0]
