"""Helpers for the prepared-posts API's tests (`/api/v1`, issue 18): tokens made in the
database (as the Accounts page makes them), teammates made through an invitation, media
uploaded through the API's chunk protocol, and an in-process app with chosen settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import httpx2
from fastapi import FastAPI

from directpost.store import accounts, team
from directpost.store.base import utcnow
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from directpost.web.server import BackgroundServer, bind_socket
from tests.fixtures.live import AppClient, LiveEmulator, make_app_settings, register_with_emulator

API = "/api/v1"
BOTH = frozenset({"prepare", "read"})


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def account_of(app: FastAPI, open_id: str) -> tuple[int, int]:
    """(person id, account id) of the person signed in as the demo creator `open_id`."""
    with app.state.services.factory() as session:
        account = accounts.find_account_by_open_id(session, open_id=open_id)
        assert account is not None, f"{open_id} is not connected"
        return account.person_id, account.id


def make_token(
    app: FastAPI, *, open_id: str, scopes: frozenset[str] = BOTH, name: str = "test script"
) -> str:
    """A personal access token of the person behind `open_id` (the secret, shown once)."""
    person_id, _ = account_of(app, open_id)
    with app.state.services.factory() as session, session.begin():
        made = team.create_token(
            session, person_id=person_id, name=name, scopes=scopes, now=utcnow()
        )
        return made.secret


def make_member(app: FastAPI, *, owner_open_id: str, member_open_id: str) -> None:
    """Make `member_open_id`'s person a teammate on `owner_open_id`'s account (an invitation
    made and accepted, as the invite link does)."""
    owner_id, account_id = account_of(app, owner_open_id)
    member_id, _ = account_of(app, member_open_id)
    with app.state.services.factory() as session, session.begin():
        made = team.create_invite(session, owner_id=owner_id, account_id=account_id, now=utcnow())
        assert made is not None
        view = team.find_invite(session, made[1])
        assert view is not None
        team.accept_invite(session, view, person_id=member_id, now=utcnow())


async def announce(
    client: httpx2.AsyncClient,
    token: str,
    *,
    account_id: int,
    files: list[Path],
    kind: str = "video",
) -> httpx2.Response:
    sizes = [(await anyio.Path(f).stat()).st_size for f in files]
    body = {
        "account_id": account_id,
        "kind": kind,
        "files": [{"name": f.name, "size": size} for f, size in zip(files, sizes, strict=True)],
    }
    return await client.post(f"{API}/uploads", json=body, headers=bearer(token))


async def api_upload(
    client: httpx2.AsyncClient,
    token: str,
    *,
    account_id: int,
    files: list[Path],
    kind: str = "video",
    finish: bool = True,
    chunk_bytes: int = 64 * 1024,
) -> dict[str, Any]:
    """Upload `files` through the API in chunks (and check them, unless `finish=False`)."""
    created = await announce(client, token, account_id=account_id, files=files, kind=kind)
    assert created.status_code == 201, created.text
    upload: dict[str, Any] = created.json()
    for path, announced in zip(files, upload["files"], strict=True):
        data = await anyio.Path(path).read_bytes()
        for offset in range(0, len(data), chunk_bytes):
            sent = await client.put(
                f"{API}/uploads/{upload['id']}/files/{announced['id']}",
                params={"offset": offset},
                content=data[offset : offset + chunk_bytes],
                headers=bearer(token),
            )
            assert sent.status_code == 200, sent.text
    if not finish:
        return upload
    done = await client.post(f"{API}/uploads/{upload['id']}/finish", headers=bearer(token))
    assert done.status_code == 200 and done.json()["state"] == "ready", done.text
    result: dict[str, Any] = done.json()
    return result


@asynccontextmanager
async def app_with(
    live_emulator: LiveEmulator, data_dir: Path, **overrides: Any
) -> AsyncIterator[AppClient]:
    """An in-process app like the `app_client` fixture's, with settings `overrides`."""
    public = "http://127.0.0.1:8999"  # never served: the client talks to the app in-process
    settings = make_app_settings(
        data_dir, emulator_url=live_emulator.base_url, public_base_url=public, **overrides
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings, webhooks=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=public, timeout=30
        ) as client,
    ):
        yield AppClient(client=client, app=app, settings=settings, emulator=live_emulator)


@dataclass
class ServedApp:
    """The app as a real server (uvicorn in a thread, like `live_app`) on a free port."""

    base_url: str
    app: FastAPI


@contextmanager
def served_app(
    live_emulator: LiveEmulator, data_dir: Path, **overrides: Any
) -> Iterator[ServedApp]:
    """The app served on a free loopback port beside `live_emulator`, with its own database
    (SQLite in `data_dir`, or `database_url=` among `overrides`)."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    settings = make_app_settings(
        data_dir,
        emulator_url=live_emulator.base_url,
        public_base_url=f"http://127.0.0.1:{port}",
        **overrides,
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings, webhooks=False)
    app = create_app(settings)
    server = BackgroundServer(app, sock).start()
    try:
        yield ServedApp(base_url=server.base_url, app=app)
    finally:
        server.stop()


def sign_in_served(base_url: str, *, open_id: str = "demo-private") -> None:
    """Connect the demo creator `open_id` to a served app through the emulator's consent form
    (the person and account exist afterwards; the cookie is not kept: the API takes tokens)."""
    with httpx2.Client(base_url=base_url, timeout=30, trust_env=False) as client:
        start = client.get("/auth/tiktok/start")
        assert start.status_code == 303, start.text
        authorize = urlsplit(start.headers["location"])
        form = dict(parse_qsl(authorize.query))
        form.update({"open_id": open_id, "decision": "allow"})
        for scope in form.get("scope", "").split(","):
            form[f"scope:{scope}"] = "on"
        consent = httpx2.post(
            f"{authorize.scheme}://{authorize.netloc}{authorize.path}",
            data=form,
            trust_env=False,
            timeout=30,
        )
        callback = urlsplit(consent.headers["location"])
        signed = client.get(f"{callback.path}?{callback.query}")
        assert signed.status_code == 303, signed.text
