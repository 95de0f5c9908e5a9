"""Sign in with TikTok through the emulator's consent page, without a browser (server tests)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directpost.store.accounts import TikTokAccount
from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio


async def test_sign_in_creates_the_account_and_lands_on_the_post_page(
    app_client: AppClient,
) -> None:
    answer = await api_sign_in(app_client.client, open_id="demo-private")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/compose"
    accounts_page = await app_client.client.get("/accounts")
    assert accounts_page.status_code == 200
    assert "Pim Private" in accounts_page.text
    with app_client.app.state.services.factory() as db:
        account = db.scalar(select(TikTokAccount).where(TikTokAccount.open_id == "demo-private"))
    assert account is not None
    assert account.is_connected
    assert "video.publish" in account.granted_scopes
