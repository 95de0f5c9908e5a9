"""Operator access (issue 15, item 7): guessing the operator token is locked out with backoff,
per client address and globally, for every process sharing the database; production refuses
weak secrets at start-up (demo and test modes are left alone)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from directpost.config import Settings, SettingsError
from directpost.store.base import utcnow
from directpost.store.migrate import upgrade_database
from directpost.store.sessions import SignInThrottle
from directpost.web.app import create_app
from directpost.web.operator_access import ADDRESS_BACKOFF, GLOBAL_BACKOFF
from tests.fixtures.live import make_app_settings

pytestmark = pytest.mark.anyio

PUBLIC = "http://127.0.0.1:8995"  # ASGI only: nothing listens here
STRONG = secrets.token_urlsafe(32)


@dataclass
class OperatorApp:
    app: FastAPI
    settings: Settings
    token: str

    def client(self, address: str = "127.0.0.1", app: FastAPI | None = None) -> Any:
        transport = httpx2.ASGITransport(app=app or self.app, client=(address, 40000))
        return httpx2.AsyncClient(transport=transport, base_url=PUBLIC, timeout=30)


@pytest.fixture
async def operator_app(tmp_path: Path) -> AsyncIterator[OperatorApp]:
    settings = make_app_settings(
        tmp_path, emulator_url="http://127.0.0.1:9", public_base_url=PUBLIC, operator_token=STRONG
    )
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield OperatorApp(app, settings, STRONG)


async def sign_in(client: Any, token: str) -> httpx2.Response:
    page = await client.get("/operator")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    answer: httpx2.Response = await client.post(
        "/operator/sign-in", data={"csrf_token": found.group(1), "token": token}
    )
    return answer


async def test_wrong_operator_tokens_lock_the_address_out_with_a_clear_429(
    operator_app: OperatorApp,
) -> None:
    async with operator_app.client("10.0.0.1") as guesser:
        for _ in range(ADDRESS_BACKOFF.free_failures + 1):  # the last one starts the lock
            assert (await sign_in(guesser, "wrong-" + secrets.token_hex(4))).status_code == 401
        locked = await sign_in(guesser, "wrong-again")
        assert locked.status_code == 429
        assert "Too many wrong operator tokens" in locked.text
        assert int(locked.headers["retry-after"]) >= 1
        # While locked, even the right token is not compared.
        assert (await sign_in(guesser, operator_app.token)).status_code == 429
        # A wrong bearer token counts the same way.
        scripted = await guesser.get("/operator", headers={"authorization": "Bearer nope"})
        assert scripted.status_code == 429
    async with operator_app.client("10.0.0.2") as operator:  # another address is not locked
        assert (await sign_in(operator, operator_app.token)).status_code == 303


async def test_the_lockout_is_shared_by_every_process_and_grows(
    operator_app: OperatorApp,
) -> None:
    other = create_app(operator_app.settings)  # a second process on the same database
    try:
        async with (
            other.router.lifespan_context(other),
            operator_app.client("10.0.0.3") as here,
            operator_app.client("10.0.0.3", app=other) as there,
        ):
            for _ in range(ADDRESS_BACKOFF.free_failures + 1):
                await sign_in(here, "wrong")
            first = await sign_in(there, operator_app.token)
            assert first.status_code == 429
            # The lock runs out: the next wrong token locks for longer than the first lock.
            with operator_app.app.state.services.factory() as db, db.begin():
                db.execute(
                    update(SignInThrottle).values(locked_until=utcnow() - timedelta(seconds=1))
                )
            assert (await sign_in(there, "wrong")).status_code == 401
            again = await sign_in(here, operator_app.token)
            assert again.status_code == 429
            assert int(again.headers["retry-after"]) > int(first.headers["retry-after"])
    finally:
        await other.state.services.aclose()


async def test_a_right_token_after_the_lock_signs_in_and_clears_the_count(
    operator_app: OperatorApp,
) -> None:
    async with operator_app.client("10.0.0.4") as client:
        for _ in range(ADDRESS_BACKOFF.free_failures + 1):
            await sign_in(client, "wrong")
        with operator_app.app.state.services.factory() as db, db.begin():
            db.execute(update(SignInThrottle).values(locked_until=None))
        assert (await sign_in(client, operator_app.token)).status_code == 303
        assert (await client.get("/operator")).status_code == 200


async def test_guesses_spread_over_many_addresses_lock_sign_in_globally(
    operator_app: OperatorApp,
) -> None:
    for n in range(GLOBAL_BACKOFF.free_failures + 1):
        async with operator_app.client(f"10.1.{n // 250}.{n % 250}") as guesser:
            assert (await sign_in(guesser, "wrong")).status_code == 401
    async with operator_app.client("10.2.0.1") as newcomer:
        assert (await sign_in(newcomer, "wrong")).status_code == 429


# --- weak secrets in production ---------------------------------------------------------------


def production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "production",
        "token_encryption_key": "a-real-looking-key-0123456789",
        "session_secret": secrets.token_urlsafe(32),
        "operator_token": secrets.token_urlsafe(32),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("operator_token", "a"),
        ("operator_token", "changeme"),
        ("operator_token", "x" * 31),
        ("session_secret", "abc"),
        ("session_secret", "y" * 31),
    ],
)
def test_production_refuses_a_weak_operator_token_or_session_secret(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        production(**{name: value}).require_production_secrets()
    message = str(refused.value)
    assert f"DIRECTPOST_{name.upper()}" in message
    assert "secrets.token_urlsafe(32)" in message
    assert "\n" not in message  # one line


def test_production_refuses_to_build_the_app_with_a_weak_operator_token(tmp_path: Path) -> None:
    settings = make_app_settings(
        tmp_path,
        emulator_url="http://127.0.0.1:9",
        public_base_url=PUBLIC,
        environment="production",
        operator_token="changeme",
    )
    with pytest.raises(SettingsError, match="DIRECTPOST_OPERATOR_TOKEN"):
        create_app(settings)


def test_production_accepts_strong_secrets_and_no_operator_token() -> None:
    production().require_production_secrets()
    production(operator_token="").require_production_secrets()  # no operator page at all


@pytest.mark.parametrize("environment", ["development", "test"])
def test_weak_secrets_are_left_alone_outside_production(environment: str) -> None:
    production(
        environment=environment, operator_token="a", session_secret="abc-but-not-a-placeholder"
    ).require_production_secrets()
