"""`directpost login` as a person runs it (a subprocess, `--no-browser`), the browser played by
following the consent URL against the emulator: PKCE binds the code to this login (a wrong
verifier is refused), the state is checked, the token is stored encrypted; whoami, logout."""

from __future__ import annotations

import json
import stat
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from directpost.terminal.accounts import AccountStore
from directpost.terminal.home import Vault
from tests.terminal.conftest import Terminal


def start_login(terminal: Terminal, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        terminal.command("login", "--no-browser", "--timeout", "60", *args),
        env=terminal.subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "/v2/auth/authorize/?" in line:
            query = {k: v[0] for k, v in parse_qs(urlsplit(line.strip()).query).items()}
            return process, query
    process.kill()
    raise AssertionError(
        "no sign-in URL printed: " + (process.stdout.read() if process.stdout else "")
    )


def consent(terminal: Terminal, query: dict[str, str], open_id: str) -> str:
    """Press "Allow" on the emulator's consent page; the Location the browser would follow."""
    form = {**query, "open_id": open_id, "decision": "allow"}
    for scope in query["scope"].split(","):
        form[f"scope:{scope}"] = "on"
    answer = terminal.emulator.client.post("/v2/auth/authorize/", data=form)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def test_login_with_pkce_stores_an_encrypted_token_and_whoami_names_the_account(
    terminal: Terminal,
) -> None:
    process, query = start_login(terminal)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 64
    callback = consent(terminal, query, "demo-private")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # Someone who catches the code cannot use it without this login's verifier.
    stolen = terminal.emulator.client.post(
        "/v2/oauth/token/",
        data={
            "client_key": query["client_key"],
            "client_secret": "dpterminal-demo-secret-for-the-local-emulator-only",
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": query["redirect_uri"],
            "code_verifier": "A" * 64,
        },
    )
    assert stolen.status_code >= 400 and "verifier" in stolen.text
    assert httpx2.get(callback, trust_env=False).status_code == 200  # the browser comes back
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, out + err
    assert "Signed in as Pim Private" in out

    stored = terminal.config / "accounts" / "default.token"
    assert b"act." not in stored.read_bytes() and b"demo-private" not in stored.read_bytes()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE((terminal.config / "key").stat().st_mode) == 0o600

    who = terminal.run("whoami", "--json")
    assert who.exit_code == 0, who.output
    assert json.loads(who.stdout)["nickname"] == "Pim Private"


def test_a_callback_with_another_state_is_refused_and_no_code_is_exchanged(
    terminal: Terminal,
) -> None:
    process, query = start_login(terminal, "--account", "work")
    callback = consent(terminal, query, "demo-public")
    parts = urlsplit(callback)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = parts._replace(query=urlencode({**params, "state": "not-the-one-sent"})).geturl()
    httpx2.get(forged, trust_env=False)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1, out + err
    assert "state" in err
    assert "/v2/oauth/token/" not in terminal.requests()
    assert not (terminal.config / "accounts" / "work.token").exists()


def test_several_accounts_by_name_and_logout_revokes_then_deletes(terminal: Terminal) -> None:
    terminal.sign_in("demo-public", name="personal")
    terminal.sign_in("demo-private", name="brand")
    who = json.loads(terminal.run("whoami", "--account", "brand", "--json").stdout)
    assert who["nickname"] == "Pim Private" and who["accounts"] == ["brand", "personal"]
    assert terminal.run("whoami").exit_code == 1  # no "default" account
    out = terminal.run("logout", "--account", "brand")
    assert out.exit_code == 0, out.output
    assert "revoked at TikTok" in out.stdout
    assert "/v2/oauth/revoke/" in terminal.requests()
    assert not (terminal.config / "accounts" / "brand.token").exists()
    assert terminal.run("whoami", "--account", "personal").exit_code == 0


def test_no_emulator_running_is_one_clear_line(
    terminal: Terminal, closed_loopback_port: object
) -> None:
    port = str(closed_loopback_port.port)  # type: ignore[attr-defined]
    terminal.env["DIRECTPOST_EMULATOR_PORT"] = port
    result = terminal.run("login", "--no-browser", "--timeout", "1")
    assert result.exit_code == 2
    assert "directpost emulator" in result.stderr and "Traceback" not in result.output


def test_an_access_token_near_its_end_is_refreshed_and_the_new_one_stored(
    terminal: Terminal,
) -> None:
    account = terminal.sign_in("demo-private")
    store = AccountStore(Vault())
    # As if signed in a day ago: the access token has just run out.
    store.save(replace(account, access_expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    whoami = terminal.run("whoami")
    assert whoami.exit_code == 0, whoami.output
    assert "/v2/oauth/token/" in terminal.requests()  # refreshed at TikTok
    renewed = store.get("default")
    assert renewed is not None and renewed.access_token != account.access_token
    assert renewed.access_expires_at > datetime.now(UTC) + timedelta(hours=1)
    # The renewed token is the one TikTok now accepts.
    assert terminal.run("whoami").exit_code == 0
