"""TOS-1: sessions live on the server and end there (issue 15, item 1).

A cookie copied before sign-out (or a disconnect, a delete-everything, a lockdown, a timeout)
must be refused at once afterwards, by every process; the cookie itself holds nothing but an
opaque token (no CSRF token, nickname or username to read in it).
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select, update

from directpost.publishing.lockdown import lock_down
from directpost.store.base import utcnow
from directpost.store.migrate import upgrade_database
from directpost.store.sessions import WebSession
from directpost.web.app import create_app
from directpost.web.security import SESSION_COOKIE
from tests.fixtures.live import AppClient, Personas, api_sign_in, fetch_csrf, make_app_settings

pytestmark = pytest.mark.anyio

UPLOAD = {"kind": "video", "files": [{"name": "clip.mp4", "type": "video/mp4", "size": 1000}]}
SCRIPT = {"accept": "application/json"}


def cookie_of(client: httpx2.AsyncClient) -> str:
    """The session cookie as a browser holds it now (what an attacker would copy)."""
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    return value


def with_cookie(value: str, **headers: str) -> dict[str, str]:
    """Headers sending exactly this cookie: a copy keeps it even after the app told the
    browser to forget it."""
    return {"cookie": f"{SESSION_COOKIE}={value}", **headers}


async def assert_signed_in(client: httpx2.AsyncClient, cookie: str, csrf: str) -> None:
    assert (await client.get("/posts", headers=with_cookie(cookie))).status_code == 200
    made = await client.post(
        "/uploads", json=UPLOAD, headers=with_cookie(cookie, **{"x-csrf-token": csrf}, **SCRIPT)
    )
    assert made.status_code == 201, made.text


async def assert_refused(client: httpx2.AsyncClient, cookie: str, csrf: str) -> None:
    """Pages send to sign in (303), scripts and uploads get 401: nothing is read or made."""
    page = await client.get("/posts", headers=with_cookie(cookie, accept="text/html"))
    assert page.status_code == 303, page.text
    assert page.headers["location"].startswith("/?next=")
    scripted = await client.get("/posts", headers=with_cookie(cookie, **SCRIPT))
    assert scripted.status_code == 401
    made = await client.post(
        "/uploads", json=UPLOAD, headers=with_cookie(cookie, **{"x-csrf-token": csrf}, **SCRIPT)
    )
    assert made.status_code == 401, made.text


def other_browser(app_client: AppClient) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app_client.app),
        base_url=str(app_client.client.base_url),
        timeout=30,
    )


async def test_tos_1_a_cookie_copied_before_sign_out_is_refused_after_it(
    app_client: AppClient,
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    csrf = await fetch_csrf(client, "/accounts")
    copied = cookie_of(client)
    async with other_browser(app_client) as copy:
        await assert_signed_in(copy, copied, csrf)  # the copy works while the session lives
        out = await client.post("/auth/sign-out", data={"csrf_token": csrf})
        assert out.status_code == 303
        await assert_refused(copy, copied, csrf)


async def test_tos_1_sign_out_on_one_process_is_refused_at_once_by_another(
    app_client: AppClient,
) -> None:
    """Two apps on one database stand for two processes: no cache lets a copy through."""
    other_app = create_app(app_client.settings)
    client = app_client.client
    try:
        async with (
            other_app.router.lifespan_context(other_app),
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=other_app), base_url=str(client.base_url)
            ) as elsewhere,
        ):
            await api_sign_in(client, open_id="demo-private")
            csrf = await fetch_csrf(client, "/accounts")
            copied = cookie_of(client)
            await assert_signed_in(elsewhere, copied, csrf)
            await client.post("/auth/sign-out", data={"csrf_token": csrf})
            await assert_refused(elsewhere, copied, csrf)
    finally:
        await other_app.state.services.aclose()


async def test_tos_1_the_cookie_holds_no_csrf_token_nickname_or_username(
    app_client: AppClient,
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    page = await client.get("/compose")  # keeps a creator_info snapshot in the session
    assert page.status_code == 200
    csrf = await fetch_csrf(client, "/accounts")
    cookie = client.cookies.get(SESSION_COOKIE) or ""
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\.[0-9a-f]{64}", cookie), cookie
    readable = cookie
    for part in re.split(r"[.]", cookie):
        padded = part + "=" * (-len(part) % 4)
        readable += base64.urlsafe_b64decode(padded.encode()).decode("latin-1")
    for secret in (csrf, "Pim Private", "demo-private", "pim", "person_id", "csrf"):
        assert secret not in readable, secret
    # The data is on the server, under the token's hash (the token itself is not stored).
    with app_client.app.state.services.factory() as db:
        rows = db.scalars(select(WebSession)).all()
    assert any(row.data.get("csrf") == csrf for row in rows)
    assert all(cookie.split(".")[0] not in row.id for row in rows)


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
async def test_tos_1_idle_and_absolute_timeouts_end_a_session(
    app_client: AppClient, column: str
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    csrf = await fetch_csrf(client, "/accounts")
    copied = cookie_of(client)
    settings = app_client.settings
    limit = (
        settings.session_idle_timeout_seconds
        if column == "last_seen_at"
        else settings.session_absolute_timeout_seconds
    )
    just_inside = utcnow() - timedelta(seconds=limit - 60)
    past = utcnow() - timedelta(seconds=limit + 1)
    factory = app_client.app.state.services.factory
    with factory() as db, db.begin():
        db.execute(update(WebSession).values({column: just_inside}))
    assert (await client.get("/posts")).status_code == 200  # not yet
    with factory() as db, db.begin():
        db.execute(update(WebSession).values({column: past}))
    await assert_refused(client, copied, csrf)


async def test_tos_1_the_idle_timeout_counts_from_the_last_use(app_client: AppClient) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    idle = app_client.settings.session_idle_timeout_seconds
    factory = app_client.app.state.services.factory
    with factory() as db, db.begin():
        db.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(seconds=idle - 60)))
    assert (await client.get("/posts")).status_code == 200  # a use: last_seen_at moves on
    with factory() as db:
        seen = db.scalars(select(WebSession.last_seen_at)).one()
    assert utcnow() - seen < timedelta(minutes=1)


async def test_tos_1_disconnect_ends_every_other_copy_of_the_session(
    app_client: AppClient,
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    csrf = await fetch_csrf(client, "/accounts")
    page = await client.get("/accounts")
    account_id = re.search(r"/accounts/(\d+)/disconnect", page.text)
    assert account_id
    copied = cookie_of(client)
    async with other_browser(app_client) as copy:
        gone = await client.post(
            f"/accounts/{account_id.group(1)}/disconnect", data={"csrf_token": csrf}
        )
        assert gone.status_code == 303, gone.text
        await assert_refused(copy, copied, csrf)
    # This browser goes on under a new token (it stays on its accounts page).
    assert (await client.get("/accounts")).status_code == 200


async def test_tos_1_delete_everything_ends_every_session_of_the_person(
    personas: Personas,
) -> None:
    creator = personas.creator
    csrf = await fetch_csrf(creator, "/me/data")
    copied = cookie_of(creator)
    # The same person signed in on a second device: a session of its own.
    second_device = personas.visitor
    await api_sign_in(second_device, open_id="demo-private")
    second_csrf = await fetch_csrf(second_device, "/accounts")
    second = cookie_of(second_device)
    await assert_signed_in(second_device, second, second_csrf)
    async with other_browser(personas.app) as copy:
        deleted = await creator.post("/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"})
        assert "Your data has been deleted" in deleted.text
        # Gone from the server at once (DG-5), not only refused once someone tries them.
        with personas.app.app.state.services.factory() as db:
            people = [row for row in db.scalars(select(WebSession.person_id)) if row is not None]
        assert len(people) == 1  # only the other creator's session is left
        await assert_refused(copy, copied, csrf)
        await assert_refused(copy, second, second_csrf)


async def test_tos_1_a_lockdown_ends_every_creator_session(personas: Personas) -> None:
    csrf = await fetch_csrf(personas.creator, "/accounts")
    other_csrf = await fetch_csrf(personas.other, "/accounts")
    copies = cookie_of(personas.creator), cookie_of(personas.other)
    await lock_down(personas.app.app.state.services, by="test", reason="leak")
    await assert_refused(personas.visitor, copies[0], csrf)
    await assert_refused(personas.visitor, copies[1], other_csrf)


async def test_tos_1_operator_sign_out_ends_a_copied_operator_session(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(32)
    public = "http://127.0.0.1:8996"
    settings = make_app_settings(
        tmp_path, emulator_url="http://127.0.0.1:9", public_base_url=public, operator_token=token
    )
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url=public) as operator,
        httpx2.AsyncClient(transport=transport, base_url=public) as copy,
    ):
        csrf = await fetch_csrf(operator, "/operator")
        signed = await operator.post("/operator/sign-in", data={"csrf_token": csrf, "token": token})
        assert signed.status_code == 303
        assert (await operator.get("/operator")).status_code == 200
        copied = cookie_of(operator)
        assert (await copy.get("/operator", headers=with_cookie(copied))).status_code == 200
        csrf = await fetch_csrf(operator, "/operator")
        out = await operator.post("/operator/sign-out", data={"csrf_token": csrf})
        assert out.status_code == 303
        assert (await copy.get("/operator", headers=with_cookie(copied))).status_code == 401
        assert (await operator.get("/operator")).status_code == 401
        lockdown = await copy.post(
            "/operator/lockdown",
            data={"csrf_token": csrf, "sure": "yes"},
            headers=with_cookie(copied),
        )
        assert lockdown.status_code == 401
