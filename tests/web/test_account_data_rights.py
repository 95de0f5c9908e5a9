"""DG-5: a creator sees what is stored, exports it, disconnects (revoking at TikTok) and deletes
everything."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from directpost.media.storage import MediaStore
from directpost.publishing.tokens import fresh_access_token
from directpost.store.accounts import Person, TikTokAccount, read_tokens
from directpost.store.base import utcnow
from directpost.store.uploads import Upload, storage_key
from directpost.tiktok import AccessTokenInvalidError, AsyncTikTokClient, Token
from tests.fixtures.live import AppClient, api_sign_in, fetch_csrf
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.anyio


def _account(app_client: AppClient, open_id: str) -> TikTokAccount:
    with app_client.app.state.services.factory() as db:
        account = db.scalar(select(TikTokAccount).where(TikTokAccount.open_id == open_id))
    assert account is not None
    return account


def get_media_store_of(app_client: AppClient) -> MediaStore:
    """The app's media store."""
    store: MediaStore = app_client.app.state.services.media_store
    return store


def _client(app_client: AppClient) -> AsyncTikTokClient:
    client: AsyncTikTokClient = app_client.app.state.services.tiktok_client
    return client


async def test_data_page_shows_what_is_stored_without_tokens_DG_5(app_client: AppClient) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    page = await app_client.client.get("/me/data")
    assert page.status_code == 200
    assert "Linked TikTok accounts" in page.text
    assert "demo-private" in page.text and "Pim Private" in page.text
    assert "access_token" not in page.text and "refresh_token" not in page.text


async def test_export_is_a_json_download_of_my_data_without_secrets_DG_5(
    app_client: AppClient,
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    export = await app_client.client.get("/me/data/export")
    assert export.headers["content-type"].startswith("application/json")
    assert "attachment" in export.headers["content-disposition"]
    data = json.loads(export.text)["data"]
    assert data["people"] and data["tiktok_accounts"][0]["display_name"] == "Pim Private"
    assert not any("token" in key for key in data["tiktok_accounts"][0])


async def test_disconnect_revokes_the_token_at_tiktok_and_deletes_it_here_DG_5(
    app_client: AppClient,
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    account = _account(app_client, "demo-private")
    tokens = read_tokens(account, cipher=app_client.app.state.services.cipher)
    csrf = await fetch_csrf(app_client.client, "/accounts")
    answer = await app_client.client.post(
        f"/accounts/{account.id}/disconnect", data={"csrf_token": csrf}
    )
    assert answer.status_code == 303
    after = _account(app_client, "demo-private")
    assert after.status == "disconnected"
    assert after.access_token_enc is None and after.refresh_token_enc is None
    with pytest.raises(AccessTokenInvalidError):
        await _client(app_client).user_info(access_token=tokens.access_token, fields=["open_id"])


async def test_delete_everything_needs_confirmation_then_removes_all_rows_DG_5(
    app_client: AppClient,
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    await api_sign_in(app_client.client, open_id="demo-public", link=True)
    tokens = read_tokens(
        _account(app_client, "demo-public"), cipher=app_client.app.state.services.cipher
    )
    csrf = await fetch_csrf(app_client.client, "/me/data")
    unconfirmed = await app_client.client.post("/me/data/delete", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 400
    assert "Nothing was deleted" in unconfirmed.text

    deleted = await app_client.client.post(
        "/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert deleted.status_code == 200
    assert "Your data has been deleted" in deleted.text
    with app_client.app.state.services.factory() as db:
        assert db.scalar(select(func.count()).select_from(Person)) == 0
        assert db.scalar(select(func.count()).select_from(TikTokAccount)) == 0
    with pytest.raises(AccessTokenInvalidError):
        await _client(app_client).user_info(access_token=tokens.access_token, fields=["open_id"])
    assert (await app_client.client.get("/accounts")).status_code == 303  # signed out


async def test_refresh_before_expiry_stores_the_rotated_refresh_token_once(
    app_client: AppClient,
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    account = _account(app_client, "demo-private")
    factory = app_client.app.state.services.factory
    cipher = app_client.app.state.services.cipher
    before = read_tokens(account, cipher=cipher)
    with factory() as db, db.begin():
        row = db.get(TikTokAccount, account.id)
        assert row is not None
        row.access_expires_at = utcnow() + timedelta(minutes=1)  # inside the refresh margin

    calls: list[str] = []
    granted: list[Token] = []

    async def refresh(refresh_token: str) -> Token:
        calls.append(refresh_token)
        token = await _client(app_client).refresh_token(refresh_token=refresh_token)
        granted.append(token)
        return token

    results = await asyncio.gather(
        *(
            fresh_access_token(factory, account_id=account.id, cipher=cipher, refresh=refresh)
            for _ in range(4)
        )
    )
    assert len(calls) == 1  # one refresh, under the lease; the others read its result
    assert len(set(results)) == 1 and results[0] != before.access_token
    after = read_tokens(_account(app_client, "demo-private"), cipher=cipher)
    assert after.access_token == results[0]
    assert after.refresh_token == granted[0].refresh_token  # whatever TikTok sent last is kept
    assert after.access_expires_at is not None and after.access_expires_at > utcnow() + timedelta(
        hours=1
    )
    user = await _client(app_client).user_info(access_token=results[0], fields=["open_id"])
    assert user.open_id == "demo-private"


async def test_delete_everything_also_deletes_uploaded_media_bytes_DG_5(
    app_client: AppClient, tmp_path: Path
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    csrf = await fetch_csrf(client, "/me/data")
    video = make_video(tmp_path / "mine.mp4", seconds=1.0).read_bytes()
    media_store = get_media_store_of(app_client)

    async def upload(data: bytes, *, sent: int) -> str:
        announced = await client.post(
            "/uploads",
            json={"kind": "video", "files": [{"name": "mine.mp4", "size": len(data)}]},
            headers={"X-CSRF-Token": csrf},
        )
        assert announced.status_code == 201, announced.text
        body = announced.json()
        put = await client.put(
            f"/uploads/{body['id']}/files/{body['files'][0]['id']}?offset=0",
            content=data[:sent],
            headers={"X-CSRF-Token": csrf},
        )
        assert put.status_code == 200, put.text
        return storage_key(body["id"], body["files"][0]["id"])

    finished_key = await upload(video, sent=len(video))
    finished = await client.post(
        f"/uploads/{finished_key.split('/')[1]}/finish", headers={"X-CSRF-Token": csrf}
    )
    assert finished.status_code == 200, finished.text
    partial_key = await upload(video, sent=len(video) // 2)  # abandoned half-way
    assert media_store.stat(finished_key) is not None
    assert media_store.upload_size(partial_key) == len(video) // 2

    deleted = await client.post("/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"})

    assert deleted.status_code == 200, deleted.text
    assert media_store.stat(finished_key) is None
    assert not media_store.upload_size(partial_key)
    with app_client.app.state.services.factory() as db:
        assert db.scalar(select(func.count()).select_from(Upload)) == 0
