"""Sign-in callbacks that must change nothing: mismatched, replayed or missing state, a denied
consent, and a code that was already used — each with a clear message."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx2
import pytest
from sqlalchemy import func, select

from directpost.store.accounts import TikTokAccount
from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio


async def _consent(app_client: AppClient, *, decision: str = "allow") -> tuple[str, dict[str, str]]:
    """Start sign-in and answer the emulator's consent form; return the callback path + query."""
    start = await app_client.client.get("/auth/tiktok/start")
    authorize = urlsplit(start.headers["location"])
    form = dict(parse_qsl(authorize.query))
    form.update({"open_id": "demo-public", "decision": decision})
    for scope in form["scope"].split(","):
        form[f"scope:{scope}"] = "on"
    async with httpx2.AsyncClient(
        base_url=f"{authorize.scheme}://{authorize.netloc}", trust_env=False
    ) as emulator:
        consent = await emulator.post(authorize.path, data=form)
    callback = urlsplit(consent.headers["location"])
    return callback.path, dict(parse_qsl(callback.query))


def _account_count(app_client: AppClient) -> int:
    with app_client.app.state.services.factory() as db:
        return int(db.scalar(select(func.count()).select_from(TikTokAccount)) or 0)


async def test_callback_with_a_state_that_was_not_issued_changes_nothing(
    app_client: AppClient,
) -> None:
    path, query = await _consent(app_client)
    query["state"] = "forged-" + query["state"]
    answer = await app_client.client.get(f"{path}?{urlencode(query)}")
    assert answer.status_code == 400
    assert "does not belong to the sign-in this browser started" in answer.text
    assert _account_count(app_client) == 0


async def test_a_replayed_callback_is_refused_because_state_is_single_use(
    app_client: AppClient,
) -> None:
    path, query = await _consent(app_client)
    first = await app_client.client.get(f"{path}?{urlencode(query)}")
    assert first.status_code == 303
    again = await app_client.client.get(f"{path}?{urlencode(query)}")
    assert again.status_code == 400
    assert "already completed" in again.text


async def test_callback_from_another_browser_is_refused(app_client: AppClient) -> None:
    path, query = await _consent(app_client)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app_client.app), base_url="http://127.0.0.1:8999"
    ) as stranger:
        answer = await stranger.get(f"{path}?{urlencode(query)}")
    assert answer.status_code == 400
    assert _account_count(app_client) == 0


async def test_denied_consent_explains_that_nothing_is_signed_in(app_client: AppClient) -> None:
    path, query = await _consent(app_client, decision="deny")
    assert query["error"] == "access_denied"
    answer = await app_client.client.get(f"{path}?{urlencode(query)}")
    assert answer.status_code == 400
    assert "You did not allow directpost to use your TikTok account" in answer.text
    assert _account_count(app_client) == 0


async def test_a_code_that_was_already_used_gets_a_clear_start_again_message(
    app_client: AppClient,
) -> None:
    path, query = await _consent(app_client)
    assert (await app_client.client.get(f"{path}?{urlencode(query)}")).status_code == 303
    # A new sign-in (fresh state) presenting the old, spent code.
    start = await app_client.client.get("/auth/tiktok/start")
    fresh_state = dict(parse_qsl(urlsplit(start.headers["location"]).query))["state"]
    answer = await app_client.client.get(
        f"{path}?{urlencode({'code': query['code'], 'state': fresh_state})}"
    )
    assert answer.status_code == 400
    assert "expired or was already used" in answer.text


async def test_sign_out_forgets_the_session(app_client: AppClient) -> None:
    await api_sign_in(app_client.client, open_id="demo-public")
    page = await app_client.client.get("/accounts")
    assert page.status_code == 200
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = await app_client.client.post("/auth/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await app_client.client.get("/accounts")).headers["location"] == "/?next=/accounts"


async def test_next_path_is_kept_but_never_leaves_the_site(app_client: AppClient) -> None:
    home = await app_client.client.get("/?next=//evil.example/x")
    assert "evil.example" not in home.text
    home = await app_client.client.get("/?next=/accounts")
    assert "Sign in with TikTok to continue." in home.text
    assert "/auth/tiktok/start?next=%2Faccounts" in home.text
