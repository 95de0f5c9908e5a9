"""Signing in again replaces the stored tokens (issue 15, item 8), and why the replaced one is
not revoked at TikTok: TikTok's revoke endpoint "revokes a user access token and disconnects your
app from the user's TikTok account" (developers.tiktok.com/docs/en/oauth-revoke-a-user-access-
token), so revoking the old token would end the new one too. The emulator models that reading,
and the last test shows it: the decision rests on the behaviour, not on a guess.
"""

from __future__ import annotations

import secrets
import time

import pytest

from directpost.store import accounts as store_accounts
from directpost.store.accounts import TikTokAccount
from directpost.tiktok import APIError, AsyncTikTokClient
from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _stored(app: AppClient, open_id: str) -> tuple[str, str, str, str]:
    services = app.app.state.services
    with services.factory() as session:
        account = session.query(TikTokAccount).filter_by(open_id=open_id).one()
        tokens = store_accounts.read_tokens(account, cipher=services.cipher)
        assert account.access_token_enc is not None and account.refresh_token_enc is not None
        return (
            tokens.access_token,
            tokens.refresh_token,
            account.access_token_enc,
            account.refresh_token_enc,
        )


def _new_creator(app: AppClient) -> str:
    open_id = "again-" + secrets.token_hex(5)
    app.emulator.control(
        "POST",
        "/_emulator/creators",
        json={"open_id": open_id, "nickname": "Again", "private_account": True},
    )
    return open_id


async def test_signing_in_again_keeps_only_the_new_tokens_and_revokes_nothing(
    app_client: AppClient,
) -> None:
    open_id = _new_creator(app_client)
    since = time.time()
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    old_access, old_refresh, old_access_enc, old_refresh_enc = _stored(app_client, open_id)
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    new_access, new_refresh, *_ = _stored(app_client, open_id)
    assert (new_access, new_refresh) != (old_access, old_refresh)
    # Nothing of the replaced tokens is left in the database, encrypted or not.
    with app_client.app.state.services.factory() as session:
        rows = repr(list(session.connection().exec_driver_sql("SELECT * FROM tiktok_accounts")))
    for gone in (old_access, old_refresh, old_access_enc, old_refresh_enc):
        assert gone not in rows
    # And no revoke went to TikTok: it would have disconnected the account (next test).
    log = app_client.emulator.control("GET", f"/_emulator/requests?since={since}").json()
    assert "/v2/oauth/revoke/" not in [r["path"] for r in log["requests"]]
    async with AsyncTikTokClient(
        client_key=app_client.settings.tiktok_client_key,
        client_secret=app_client.settings.tiktok_client_secret.get_secret_value(),
        auth_base_url=app_client.emulator.base_url,
        api_base_url=app_client.emulator.base_url,
    ) as client:
        await client.creator_info(access_token=new_access)  # the new token works


async def test_revoking_a_replaced_token_would_disconnect_the_account(
    app_client: AppClient,
) -> None:
    open_id = _new_creator(app_client)
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    old_access = _stored(app_client, open_id)[0]
    assert (await api_sign_in(app_client.client, open_id=open_id)).status_code == 303
    new_access = _stored(app_client, open_id)[0]
    async with AsyncTikTokClient(
        client_key=app_client.settings.tiktok_client_key,
        client_secret=app_client.settings.tiktok_client_secret.get_secret_value(),
        auth_base_url=app_client.emulator.base_url,
        api_base_url=app_client.emulator.base_url,
    ) as client:
        await client.revoke(access_token=old_access)
        with pytest.raises(APIError):
            await client.creator_info(access_token=new_access)
