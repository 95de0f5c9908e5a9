"""Issue 15, item 10: the app serves its OpenAPI document, a valid one, to whom it should.

Demo mode (an emulator behind the app): `/openapi.json` to anyone. Against TikTok itself: to the
signed-in operator only (operator session or bearer token), and the plain 404 of an unknown
address to anyone else. The fuzz suite that holds the app to the document is
tests/web/test_openapi_fuzz.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from fastapi.routing import APIRoute
from openapi_spec_validator import validate

from directpost.store.migrate import upgrade_database
from directpost.web.api_contract import OPENAPI_PATH
from directpost.web.app import _ROUTERS as ROUTERS
from directpost.web.app import create_app
from tests.fixtures.live import AppClient, LiveEmulator, fetch_csrf, make_app_settings

pytestmark = pytest.mark.anyio

OPERATOR_TOKEN = "doc-operator-" + "y" * 32
PUBLIC = "http://127.0.0.1:8995"


@pytest.fixture
async def production_app(live_emulator: LiveEmulator, tmp_path: Path) -> AsyncIterator[AppClient]:
    """The app configured for TikTok itself (not demo mode), with an operator token. Nothing
    here calls TikTok: only the document and the operator's sign-in are asked for."""
    settings = make_app_settings(
        tmp_path,
        emulator_url=live_emulator.base_url,
        public_base_url=PUBLIC,
        tiktok_auth_base_url="https://www.tiktok.com",
        tiktok_api_base_url="https://open.tiktokapis.com",
        operator_token=OPERATOR_TOKEN,
    )
    assert not settings.uses_emulator
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=PUBLIC) as client,
    ):
        yield AppClient(client=client, app=app, settings=settings, emulator=live_emulator)


async def test_demo_mode_serves_a_valid_openapi_3_document_to_anyone(
    app_client: AppClient,
) -> None:
    answer = await app_client.client.get(OPENAPI_PATH)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    validate(document)  # raises on anything that is not valid OpenAPI
    assert document["openapi"].startswith("3.")
    # The doc pages stay off: they would load scripts from a CDN.
    for path in ("/docs", "/redoc"):
        assert (await app_client.client.get(path)).status_code == 404


async def test_every_route_is_in_the_document_but_static_files_and_the_document(
    app_client: AppClient,
) -> None:
    document = (await app_client.client.get(OPENAPI_PATH)).json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    served = {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert served - documented == set()


async def test_outside_demo_mode_the_document_is_the_operators_only(
    production_app: AppClient,
) -> None:
    client = production_app.client
    hidden = await client.get(OPENAPI_PATH)
    assert hidden.status_code == 404, "a visitor must not see the document"
    assert "openapi" not in hidden.text
    wrong = await client.get(OPENAPI_PATH, headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 404
    bearer = await client.get(OPENAPI_PATH, headers={"authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert bearer.status_code == 200
    validate(bearer.json())
    csrf = await fetch_csrf(client, "/operator")
    signed = await client.post(
        "/operator/sign-in", data={"csrf_token": csrf, "token": OPERATOR_TOKEN}
    )
    assert signed.status_code == 303, signed.text
    assert (await client.get(OPENAPI_PATH)).status_code == 200
