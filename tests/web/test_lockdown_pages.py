"""TOS-2 in the web app: the operator page starts and lifts a lockdown and shows who and when;
while it is on, a page that needs TikTok says publishing is paused (503), never a 500, and the
sign-in sends nothing to TikTok."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from directpost.store import accounts
from directpost.store import lockdown as switch
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import AppClient, api_sign_in, make_app_settings

pytestmark = pytest.mark.anyio

PUBLIC = "http://127.0.0.1:8997"  # ASGI only: nothing listens here


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _factory(app: Any) -> Any:
    return app.state.services.factory


async def test_tos_2_the_operator_page_starts_and_lifts_a_lockdown_and_shows_who_and_when(
    tmp_path: Path,
) -> None:
    token = secrets.token_urlsafe(24)
    settings = make_app_settings(
        tmp_path, emulator_url="http://127.0.0.1:9", public_base_url=PUBLIC, operator_token=token
    )
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=PUBLIC) as client,
    ):
        # Not the operator: the action is refused and nothing changes.
        first = await client.get("/operator")
        refused = await client.post(
            "/operator/lockdown", data={"csrf_token": _csrf(first.text), "sure": "yes"}
        )
        assert refused.status_code == 401
        signed = await client.post(
            "/operator/sign-in", data={"csrf_token": _csrf(first.text), "token": token}
        )
        assert signed.status_code == 303
        page = await client.get("/operator")
        assert 'data-lockdown="off"' in page.text
        assert "Stop all traffic to TikTok now" in page.text

        # Without the confirmation box: a clear refusal, nothing changed.
        unsure = await client.post(
            "/operator/lockdown",
            data={"csrf_token": _csrf(page.text), "reason": "leak"},
            headers={"accept": "text/html"},
        )
        assert unsure.status_code == 400
        assert "Tick the box" in unsure.text
        with _factory(app)() as session:
            assert switch.active_lockdown(session) is None

        started = await client.post(
            "/operator/lockdown",
            data={"csrf_token": _csrf(page.text), "reason": "a leaked key", "sure": "yes"},
        )
        assert started.status_code == 303
        page = await client.get("/operator")
        assert 'data-lockdown="on"' in page.text
        assert "Lockdown is on: no process sends anything to TikTok." in page.text
        assert "operator page (" in page.text and "a leaked key" in page.text
        with _factory(app)() as session:
            on = switch.active_lockdown(session)
        assert on is not None and on.started_by.startswith("operator page")
        assert on.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") in page.text

        lifted = await client.post("/operator/lockdown/lift", data={"csrf_token": _csrf(page.text)})
        assert lifted.status_code == 303
        page = await client.get("/operator")
        assert 'data-lockdown="off"' in page.text
        assert "Recent lockdowns" in page.text
        with _factory(app)() as session:
            assert switch.active_lockdown(session) is None
            assert switch.recent_lockdowns(session)[0].lifted_by is not None


async def test_tos_2_while_locked_the_post_page_says_publishing_is_paused(
    app_client: AppClient,
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-public")
    assert (await client.get("/compose")).status_code == 200
    factory = _factory(app_client.app)
    with factory() as session, session.begin():
        switch.start_lockdown(session, by="tester")
    page = await client.get("/compose", headers={"accept": "text/html"})
    assert page.status_code == 503
    assert "Publishing to TikTok is paused" in page.text
    assert "Traceback" not in page.text
    # Signing in again during the lockdown sends nothing to TikTok either.
    with factory() as session:
        before = session.scalars(select(accounts.TikTokAccount.updated_at)).all()
    callback = await api_sign_in(client, open_id="demo-public")
    assert callback.status_code == 503
    with factory() as session:
        assert session.scalars(select(accounts.TikTokAccount.updated_at)).all() == before
