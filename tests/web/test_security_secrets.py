"""TECH-1 / TOS-1: the client secret and tokens never reach a page or a log; tokens are
ciphertext in the database; outside development the app refuses to start without its keys."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from directpost.config import SettingsError
from directpost.store.accounts import TikTokAccount, read_tokens
from directpost.web.app import create_app
from tests.fixtures.live import (
    AppClient,
    LiveEmulator,
    api_sign_in,
    make_app_settings,
)

pytestmark = pytest.mark.anyio


def _database_bytes(data_dir: Path) -> bytes:
    """The SQLite file and its write-ahead log, as stored on disk."""
    files = (data_dir / "directpost.db", data_dir / "directpost.db-wal")
    return b"".join(f.read_bytes() for f in files if f.exists())


PAGES = ("/", "/privacy", "/terms", "/contact", "/accounts", "/me/data", "/me/data/export")


async def test_client_secret_and_tokens_never_appear_in_pages_or_logs_TECH_1(
    app_client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await api_sign_in(app_client.client, open_id="demo-public")
    assert answer.status_code == 303
    bodies = [answer.text, str(answer.headers)]
    for path in PAGES:
        page = await app_client.client.get(path)
        assert page.status_code == 200, path
        bodies.append(page.text)
        bodies.append(str(page.headers))

    with app_client.app.state.services.factory() as db:
        account = db.scalar(select(TikTokAccount).where(TikTokAccount.open_id == "demo-public"))
        assert account is not None
        tokens = read_tokens(account, cipher=app_client.app.state.services.cipher)
    secrets_ = {
        "client secret": app_client.settings.tiktok_client_secret.get_secret_value(),
        "access token": tokens.access_token,
        "refresh token": tokens.refresh_token,
        "encryption key": app_client.settings.token_encryption_key.get_secret_value(),
        "session secret": app_client.settings.session_secret.get_secret_value(),
    }
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "the sign-in should have logged something to check"
    for name, value in secrets_.items():
        assert value and len(value) > 8
        for body in bodies:
            assert value not in body, f"the {name} leaked into a page"
        assert value not in logs, f"the {name} leaked into the log"


async def test_tokens_are_stored_only_as_ciphertext_TOS_1(app_client: AppClient) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    with app_client.app.state.services.factory() as db:
        account = db.scalar(select(TikTokAccount).where(TikTokAccount.open_id == "demo-private"))
        assert account is not None
        tokens = read_tokens(account, cipher=app_client.app.state.services.cipher)
        raw_rows = db.connection().exec_driver_sql("SELECT * FROM tiktok_accounts").fetchall()
    dump = repr(raw_rows)
    assert tokens.access_token not in dump
    assert tokens.refresh_token not in dump
    assert account.access_token_enc and account.access_token_enc.startswith("gAAAAA")  # Fernet
    everything = _database_bytes(app_client.settings.data_dir)
    assert tokens.access_token.encode() not in everything
    assert tokens.refresh_token.encode() not in everything


def test_outside_development_the_app_refuses_to_start_without_an_encryption_key(
    live_emulator: LiveEmulator, tmp_path: Path
) -> None:
    settings = make_app_settings(
        tmp_path,
        emulator_url=live_emulator.base_url,
        public_base_url="https://post.example",
        environment="production",
        token_encryption_key="",
    )
    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY"):
        create_app(settings)


def test_in_development_a_key_is_generated_once_with_owner_only_permissions(
    live_emulator: LiveEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = make_app_settings(
        tmp_path,
        emulator_url=live_emulator.base_url,
        public_base_url="http://127.0.0.1:8000",
        environment="development",
        token_encryption_key="",
        session_secret="",
    )
    create_app(settings)
    key_file = tmp_path / "token_encryption.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    create_app(settings)  # the second start reuses the key
    assert key_file.read_text().strip() == key
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "generated a development key" in logs
    assert key not in logs


def test_access_log_and_request_logs_carry_no_codes_or_media_tokens_TECH_1() -> None:
    """uvicorn's access log would print the OAuth callback's `?code=` and the media URL tokens
    TikTok pulls from; httpx2 would print every request's URL (upload URLs carry a token)."""
    import uvicorn

    from directpost.logs import configure_logging

    configure_logging()
    uvicorn.Config(create_app, log_level="info")  # uvicorn configures its loggers after ours
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    access = logging.getLogger("uvicorn.access")
    keep = Keep()
    access.addHandler(keep)
    try:
        for path in (
            "/auth/tiktok/callback?code=SECRET-CODE&state=SECRET-STATE",
            "/m/SECRET-MEDIA-TOKEN/0.mp4",
        ):
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    finally:
        access.removeHandler(keep)
    assert len(lines) == 2
    assert "/auth/tiktok/callback?…" in lines[0] and "/m/…/0.mp4" in lines[1]
    assert not any("SECRET" in line for line in lines)
    assert not logging.getLogger("httpx2").isEnabledFor(logging.INFO)
