"""`/healthz` (alive, no I/O) and `/readyz` (database, queue, media store, Redis when
configured, and TikTok traffic allowed): 200 or 503 with each check's verdict in the body.

The database goes away for real: the app talks to PostgreSQL through a loopback relay this test
opens and closes, so its port is refused while the relay is down, and answers again after."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy.engine import make_url

from directpost.config import Settings
from directpost.store import lockdown as switch
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import make_app_settings
from tests.fixtures.processes import free_port
from tests.fixtures.s3 import moto_endpoint, new_bucket, s3_env  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio

PUBLIC = "http://127.0.0.1:8995"  # ASGI only: nothing listens here
NO_TIKTOK = "http://127.0.0.1:9"  # readiness never calls TikTok


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=PUBLIC) as client,
    ):
        yield client, app


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return make_app_settings(tmp_path, emulator_url=NO_TIKTOK, public_base_url=PUBLIC, **overrides)


async def _ready(client: httpx2.AsyncClient) -> tuple[int, dict[str, Any]]:
    answer = await client.get("/readyz")
    body: dict[str, Any] = answer.json()
    assert set(body) == {"status", "checks"}
    for verdict in body["checks"].values():
        assert verdict["status"] in ("ok", "fail") and verdict["message"]
    return answer.status_code, body


async def test_healthz_says_alive_without_asking_the_database(tmp_path: Path) -> None:
    closed = free_port()
    settings = _settings(
        tmp_path, database_url=f"postgresql+psycopg://app:pw@127.0.0.1:{closed}/gone"
    )
    async with _client(settings) as (client, _app):
        answer = await client.get("/healthz")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}


async def test_readyz_is_ready_when_everything_answers(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade_database(settings.resolved_database_url)
    async with _client(settings) as (client, _app):
        status, body = await _ready(client)
    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "queue", "media_store", "tiktok"}
    assert all(verdict["status"] == "ok" for verdict in body["checks"].values())


async def test_readyz_is_not_ready_on_a_database_at_a_closed_port(tmp_path: Path) -> None:
    closed = free_port()
    settings = _settings(
        tmp_path, database_url=f"postgresql+psycopg://app:pw@127.0.0.1:{closed}/gone"
    )
    async with _client(settings) as (client, _app):
        status, body = await _ready(client)
    assert status == 503
    assert body["status"] == "not ready"
    database = body["checks"]["database"]
    assert database["status"] == "fail"
    assert "OperationalError" in database["message"]
    assert "DIRECTPOST_DATABASE_URL" in database["fix"]
    assert "pw" not in database["message"]  # the password never shows
    assert body["checks"]["media_store"]["status"] == "ok"


async def test_readyz_says_a_lockdown_stops_tiktok_traffic_tos_2(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade_database(settings.resolved_database_url)
    async with _client(settings) as (client, app):
        factory = app.state.services.factory
        with factory() as session, session.begin():
            switch.start_lockdown(session, by="ops on call", reason="a leaked key")
        status, body = await _ready(client)
        assert status == 503
        tiktok = body["checks"]["tiktok"]
        assert tiktok["status"] == "fail"
        assert "lockdown" in tiktok["message"] and "ops on call" in tiktok["message"]
        assert "--lift" in tiktok["fix"]
        assert body["checks"]["database"]["status"] == "ok"

        with factory() as session, session.begin():
            switch.lift_lockdown(session, by="ops on call")
        status, body = await _ready(client)
        assert status == 200, body


async def test_readyz_checks_redis_only_when_the_budgets_use_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, budget_url=f"redis://127.0.0.1:{free_port()}/0")
    upgrade_database(settings.resolved_database_url)
    async with _client(settings) as (client, _app):
        status, body = await _ready(client)
    assert status == 503
    assert body["checks"]["redis"]["status"] == "fail"
    assert "DIRECTPOST_BUDGET_URL" in body["checks"]["redis"]["fix"]


# --- the database goes away and comes back -----------------------------------------------------


class Relay:
    """A loopback TCP relay to a server: `stop()` closes its port and every connection through
    it (the database is gone), `start()` opens the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _address = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                if self._server is not server:  # stopped meanwhile: this one is refused too
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave the
            # port listening until one more connection came in.
            with suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        with self._lock:
            for sock in self._open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()


@pytest.fixture
def relay(postgres_url: str) -> Iterator[tuple[Relay, str]]:
    url = make_url(postgres_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    try:
        yield (
            relay,
            url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False),
        )
    finally:
        relay.stop()


@pytest.mark.postgres
async def test_readyz_goes_not_ready_when_the_database_goes_away_and_back(
    relay: tuple[Relay, str], tmp_path: Path
) -> None:
    through, database_url = relay
    upgrade_database(database_url)
    settings = _settings(tmp_path, database_url=database_url)
    async with _client(settings) as (client, _app):
        status, body = await _ready(client)
        assert status == 200, body

        through.stop()  # the database's port now refuses, pooled connections are cut
        status, body = await _ready(client)
        assert status == 503, body
        assert body["checks"]["database"]["status"] == "fail"
        assert body["checks"]["queue"]["status"] == "fail"
        assert body["checks"]["media_store"]["status"] == "ok"

        through.start()
        status, body = await _ready(client)
        assert status == 200, body
        assert body["status"] == "ready"


async def test_readyz_checks_the_s3_bucket_the_media_lives_in(
    moto_endpoint: str, s3_env: dict[str, str], tmp_path: Path
) -> None:
    bucket = new_bucket(moto_endpoint)
    for name, expected in ((bucket, "ok"), ("no-such-bucket-" + bucket[-12:], "fail")):
        settings = _settings(
            tmp_path, media_storage_url=f"s3://{name}/media", s3_endpoint_url=moto_endpoint
        )
        upgrade_database(settings.resolved_database_url)
        async with _client(settings) as (client, _app):
            status, body = await _ready(client)
        media = body["checks"]["media_store"]
        assert media["status"] == expected, body
        assert status == (200 if expected == "ok" else 503)
    assert "DIRECTPOST_MEDIA_STORAGE_URL" in media["fix"]
