"""TOS-1: CSRF on every state-changing request, security headers, session cookie flags."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from directpost.store.accounts import TikTokAccount
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import (
    AppClient,
    LiveEmulator,
    Personas,
    api_sign_in,
    fetch_csrf,
    make_app_settings,
)

pytestmark = pytest.mark.anyio


@pytest.mark.rules("TOS-1")
async def test_sign_out_without_csrf_token_is_refused_and_keeps_the_session(
    personas: Personas,
) -> None:
    refused = await personas.creator.post("/auth/sign-out")
    assert refused.status_code == 403
    assert "nothing was changed" in refused.json()["detail"]
    still_in = await personas.creator.get("/accounts")
    assert still_in.status_code == 200


async def test_a_token_from_another_session_is_refused_TOS_1(personas: Personas) -> None:
    others_token = await fetch_csrf(personas.other, "/accounts")
    with personas.app.app.state.services.factory() as db:
        mine = db.scalar(select(TikTokAccount).where(TikTokAccount.open_id == "demo-private"))
    assert mine is not None
    refused = await personas.creator.post(
        f"/accounts/{mine.id}/disconnect", data={"csrf_token": others_token}
    )
    assert refused.status_code == 403
    with personas.app.app.state.services.factory() as db:
        again = db.get(TikTokAccount, mine.id)
        assert again is not None and again.is_connected


async def test_the_csrf_header_and_the_form_field_are_both_accepted(personas: Personas) -> None:
    token = await fetch_csrf(personas.creator, "/accounts")
    by_header = await personas.creator.post("/auth/sign-out", headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303
    token = await fetch_csrf(personas.other, "/accounts")
    by_form = await personas.other.post("/auth/sign-out", data={"csrf_token": token})
    assert by_form.status_code == 303
    after = await personas.other.get("/accounts")
    assert after.status_code == 303  # signed out: sent to sign in


async def test_pages_carry_the_security_headers_TOS_1(personas: Personas) -> None:
    for client, path in ((personas.visitor, "/"), (personas.creator, "/accounts")):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in response.headers["permissions-policy"]
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.rules("TOS-1")
async def test_session_cookie_is_httponly_and_samesite_lax(app_client: AppClient) -> None:
    answer = await api_sign_in(app_client.client, open_id="demo-private")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on loopback


async def test_session_cookie_is_secure_behind_https(
    live_emulator: LiveEmulator, tmp_path: Path
) -> None:
    settings = make_app_settings(
        tmp_path, emulator_url=live_emulator.base_url, public_base_url="https://post.example"
    )
    upgrade_database(settings.resolved_database_url)  # sessions are rows (TOS-1)
    app = create_app(settings)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="https://post.example") as c:
        response = await c.get("/auth/tiktok/start")  # puts the sign-in state in the session
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_webhook_path_is_the_only_csrf_exemption(personas: Personas) -> None:
    # A POST to any other path without a token is refused before routing decides anything.
    refused = await personas.creator.post("/me/data/delete", data={"confirm": "yes"})
    assert refused.status_code == 403
    exempt = await personas.visitor.post("/webhooks/tiktok", content=b"{}")
    assert exempt.status_code != 403
