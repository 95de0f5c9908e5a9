"""Many creators signing in at the same moment all get in (never a 500): the sign-in's write
happens in a worker thread and commits at once, so on SQLite no request waits on the event loop
for a writer lock that another request's open transaction holds."""

from __future__ import annotations

import asyncio
import secrets

import httpx2
import pytest

from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio
TOGETHER = 30


@pytest.mark.timeout(120)
async def test_thirty_creators_signing_in_at_once_all_get_in(app_client: AppClient) -> None:
    open_ids = []
    for _ in range(TOGETHER):
        open_id = "t-" + secrets.token_hex(5)
        app_client.emulator.control(
            "POST",
            "/_emulator/creators",
            json={"open_id": open_id, "nickname": open_id, "private_account": True},
        )
        open_ids.append(open_id)

    async def sign_in(open_id: str) -> int:
        # Each creator with their own cookies, all through the same app.
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app_client.app),
            base_url=str(app_client.client.base_url),
            timeout=60,
        ) as client:
            return (await api_sign_in(client, open_id=open_id)).status_code

    codes = await asyncio.gather(*(sign_in(open_id) for open_id in open_ids))
    assert codes == [303] * TOGETHER, codes
