# ruff: noqa: F811 - pytest fixtures imported by name
"""Issue 15, item 3: input at the edge of what the database and the parsers accept is a 4xx with
a clear message, never a 500 — ids past 64 bits, NUL characters, `1e999`, a webhook nested past
Python's recursion limit (correctly signed, so only the parser stands in the way)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from directpost import tiktok
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import (
    AppClient,
    LiveEmulator,
    api_sign_in,
    fetch_csrf,
    make_app_settings,
    register_with_emulator,
)
from tests.publishing.harness import Bench, bench  # noqa: F401 - the fixture, by name

pytestmark = pytest.mark.anyio

HUGE = 2**64 + 1
#: Past PostgreSQL's INTEGER (2^31 - 1), still inside SQLite's.
PAST_INT4 = 2**31 + 7


@pytest.fixture
async def postgres_app(
    live_emulator: LiveEmulator, postgres_url: str, tmp_path: Path
) -> AsyncIterator[AppClient]:
    """The app in-process on PostgreSQL, signed in as a demo creator."""
    public = "http://127.0.0.1:8996"
    settings = make_app_settings(
        tmp_path,
        emulator_url=live_emulator.base_url,
        public_base_url=public,
        database_url=postgres_url,
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings, webhooks=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=public) as client,
    ):
        yield AppClient(client=client, app=app, settings=settings, emulator=live_emulator)


async def _signed_in(app_client: AppClient) -> tuple[httpx2.AsyncClient, str]:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    return client, await fetch_csrf(client, "/posts")


async def test_ids_past_64_bits_are_not_found_not_a_crash(app_client: AppClient) -> None:
    client, csrf = await _signed_in(app_client)
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    answers = [
        await client.get(f"/posts/{HUGE}", headers=headers),
        await client.get(f"/posts/{HUGE}/status", headers=headers),
        await client.post(f"/posts/{HUGE}/cancel", data={"csrf_token": csrf}, headers=headers),
        await client.post(
            "/accounts/switch", data={"csrf_token": csrf, "account_id": str(HUGE)}, headers=headers
        ),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code)
        assert "Traceback" not in answer.text


async def test_an_infinite_size_is_refused_with_a_clear_message(app_client: AppClient) -> None:
    client, csrf = await _signed_in(app_client)
    answer = await client.post(
        "/uploads",
        content=b'{"kind": "video", "files": [{"name": "a.mp4", "size": 1e999, "type": "video/mp4"}]}',
        headers={"x-csrf-token": csrf, "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert "size" in answer.text


async def test_nul_characters_in_names_types_and_ids_are_refused(app_client: AppClient) -> None:
    client, csrf = await _signed_in(app_client)
    headers = {"x-csrf-token": csrf, "content-type": "application/json"}
    for file in (
        {"name": "a\u0000.mp4", "size": 10, "type": "video/mp4"},
        {"name": "a.mp4", "size": 10, "type": "video/\u0000mp4"},
    ):
        answer = await client.post(
            "/uploads", json={"kind": "video", "files": [file]}, headers=headers
        )
        assert answer.status_code == 422, answer.text
    gone = await client.get("/uploads/abc%00def", headers=headers)
    assert gone.status_code == 404, gone.text


async def test_a_signed_webhook_nested_past_the_recursion_limit_is_refused(bench: Bench) -> None:
    body = b"[" * 5_000 + b"]" * 5_000  # 10 kB: under the size limit, past the recursion limit
    secret = bench.settings.tiktok_client_secret.get_secret_value()
    answer = httpx2.post(
        f"{bench.app_url}/webhooks/tiktok",
        content=body,
        headers={
            "TikTok-Signature": tiktok.sign(body, secret, timestamp=int(time.time())),
            "Content-Type": "application/json",
        },
        trust_env=False,
    )
    assert 400 <= answer.status_code < 500, answer.text


@pytest.mark.postgres
async def test_ids_past_postgresql_integers_and_nul_ids_are_refused_not_a_crash(
    postgres_app: AppClient,
) -> None:
    client, csrf = await _signed_in(postgres_app)
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    for path in (f"/posts/{PAST_INT4}", f"/posts/{HUGE}", "/uploads/abc%00def"):
        answer = await client.get(path, headers=headers)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
    switched = await client.post(
        "/accounts/switch",
        data={"csrf_token": csrf, "account_id": str(PAST_INT4)},
        headers=headers,
    )
    assert 400 <= switched.status_code < 500, switched.text
