"""A request gives its database connection back before it waits on TikTok.

With the default pool (5 + 10 connections), a request that kept its connection while TikTok
answers creator_info would make the 16th concurrent user wait for a free connection (and time out
under load). Here the TikTok client's transport notes how many pooled connections are checked
out at the moment each TikTok call leaves the app; with one request in flight it must be none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import APIRouter

from directpost.tiktok import AsyncTikTokClient
from directpost.web.deps import AccessToken
from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio


class PoolWatchingTransport(httpx2.AsyncHTTPTransport):
    """The real HTTP transport, noting the app's checked-out connections at each TikTok call."""

    def __init__(self, app_client: AppClient) -> None:
        super().__init__()
        self.app = app_client.app
        self.seen: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((request.url.path, self.app.state.engine.pool.checkedout()))
        return await super().handle_async_request(request)


@pytest.fixture
async def watched(app_client: AppClient) -> AsyncIterator[PoolWatchingTransport]:
    """The app's TikTok client, rebuilt on a transport that watches the connection pool."""
    settings = app_client.settings
    transport = PoolWatchingTransport(app_client)
    original = app_client.app.state.tiktok_client
    client = AsyncTikTokClient(
        client_key=settings.tiktok_client_key,
        client_secret=settings.tiktok_client_secret.get_secret_value(),
        auth_base_url=settings.tiktok_auth_base_url,
        api_base_url=settings.tiktok_api_base_url,
        transport=transport,
    )
    app_client.app.state.tiktok_client = client
    try:
        yield transport
    finally:
        app_client.app.state.tiktok_client = original
        await client.aclose()


async def test_post_page_holds_no_database_connection_while_tiktok_answers(
    app_client: AppClient, watched: PoolWatchingTransport
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    watched.seen.clear()

    page = await app_client.client.get("/compose")

    assert page.status_code == 200, page.text
    creator_info_calls = [held for path, held in watched.seen if "creator_info" in path]
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
