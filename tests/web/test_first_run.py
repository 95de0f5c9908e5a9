"""The first five minutes (issue 14): `directpost run` started as a new user starts it.

- `--port`/`--emulator-port` move the app, the banner and the sign-in callback together, and a
  post is published through the chosen port;
- the emulator's consent page preselects a demo creator who can post, and offers to make a
  public demo account private (an unaudited app posts only from private accounts);
- a busy port is one line and exit code 1, before anything is started;
- "Demo mode" shows when the app talks to an emulator, and not with real TikTok credentials.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from directpost.config import Settings
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from directpost.web.server import emulator_app_registration, run_banner
from tests.fixtures.first_run import (
    RunningApp,
    clean_env,
    consent_as_a_person,
    directpost_run,
    final_status,
    run_command,
    submit_clip,
)
from tests.fixtures.live import AppClient, make_app_settings
from tests.fixtures.processes import free_port

DEMO_BANNER = 'class="demo-banner"'


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One `directpost run --port N --emulator-port M` for the module's tests."""
    tmp = tmp_path_factory.mktemp("first-run")
    with directpost_run(tmp, port=free_port(), emulator_port=free_port()) as app:
        yield app


def _client(app: RunningApp) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(base_url=app.app_url, timeout=30, trust_env=False)


@pytest.mark.anyio
async def test_run_on_a_chosen_port_signs_in_and_publishes_through_that_port(
    running: RunningApp, tmp_path: Path
) -> None:
    port = urlsplit(running.app_url).port
    assert f"directpost is running at http://127.0.0.1:{port}" in running.output()
    assert ":8000" not in running.output()
    async with _client(running) as client:
        start = await client.get("/auth/tiktok/start")
        target = urlsplit(start.headers["location"])
        assert f"{target.scheme}://{target.netloc}" == running.emulator_url
        callback = parse_qs(target.query)["redirect_uri"][0]
        assert callback == f"http://127.0.0.1:{port}/auth/tiktok/callback"
        # The first sign-in takes the consent page's own choice, as a new user would.
        chosen, signed = await consent_as_a_person(client)
        assert signed.status_code == 303, signed.text
        shown = await final_status(client, await submit_clip(client, tmp_path, "first run"))
    assert shown["state"] == "published", (chosen, shown)
    state = httpx2.get(f"{running.emulator_url}/_emulator/state", timeout=10, trust_env=False)
    assert "first run" in state.text


@pytest.mark.anyio
async def test_consent_page_makes_a_public_demo_account_private_when_asked(
    running: RunningApp, tmp_path: Path
) -> None:
    async with _client(running) as public, _client(running) as made_private:
        # Left public, the account cannot post through the unaudited app...
        await consent_as_a_person(public, open_id="demo-no-comments")
        refused = await submit_clip(public, tmp_path, "still public")
        assert refused.status_code != 303, refused.text
        # ...and the consent page's emulator-only box turns another one private on Allow.
        _, signed = await consent_as_a_person(
            made_private, open_id="demo-public", make_private="on"
        )
        assert signed.status_code == 303, signed.text
        shown = await final_status(
            made_private, await submit_clip(made_private, tmp_path, "made private")
        )
    assert shown["state"] == "published", shown


def test_busy_port_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    emulator_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            run_command("--port", str(port), "--emulator-port", str(emulator_port)),
            cwd=tmp_path,
            env=clean_env(tmp_path / "var"),
            capture_output=True,
            timeout=60,
            check=False,
        )
    said = (done.stdout + done.stderr).decode(errors="replace")
    lines = [line for line in said.splitlines() if line.strip()]
    assert done.returncode == 1, said
    assert len(lines) == 1, said
    assert "Traceback" not in said
    assert f"port {port}" in lines[0] and "already in use" in lines[0]
    assert "--port" in lines[0]
    # Nothing was started before the refusal: no emulator listens on its port.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", emulator_port)) != 0


def test_only_the_port_set_moves_the_banner_and_the_sign_in_callback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIRECTPOST_PORT", "8123")
    settings = Settings(_env_file=None)
    assert settings.public_base_url == "http://127.0.0.1:8123"
    registered = emulator_app_registration(settings, client_key="dpk", secret="s")
    assert registered["redirect_uris"] == ["http://127.0.0.1:8123/auth/tiktok/callback"]
    assert "running at http://127.0.0.1:8123" in run_banner(settings)
    moved = settings.listening_on(host="0.0.0.0", port=8200)
    assert moved.public_base_url == "http://127.0.0.1:8200"
    elsewhere = Settings(_env_file=None, public_base_url="https://posts.example.com")
    assert elsewhere.listening_on(port=8200).public_base_url == "https://posts.example.com"


@pytest.mark.anyio
async def test_demo_banner_shows_when_the_app_talks_to_an_emulator(
    running: RunningApp, app_client: AppClient
) -> None:
    async with _client(running) as client:
        assert DEMO_BANNER in (await client.get("/")).text
    # A client key registered at an emulator (what `make run` generates) is still demo mode.
    assert app_client.settings.tiktok_client_key
    assert DEMO_BANNER in (await app_client.client.get("/")).text


@pytest.mark.anyio
async def test_demo_banner_is_absent_with_real_tiktok_credentials(tmp_path: Path) -> None:
    settings = make_app_settings(
        tmp_path,
        emulator_url="https://open.tiktokapis.com",
        public_base_url="https://posts.example.com",
        client_key="aw7q2xk5m9ne3b4c",
        tiktok_auth_base_url="https://www.tiktok.com",
    )
    assert not settings.uses_emulator
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    # Only the home page is asked for, in-process: nothing is sent to TikTok.
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=settings.public_base_url) as c:
        home = await c.get("/")
    assert home.status_code == 200, home.text
    assert DEMO_BANNER not in home.text
