"""Helpers for the MCP server's tests: a fresh creator signed in to a running app, a personal
access token for them, the server's command line, and reading a tool's answer."""

from __future__ import annotations

import json
import re
import secrets
import sys
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
from mcp import StdioServerParameters
from mcp.types import CallToolResult, TextContent

from directpost.config import Settings
from directpost.store import accounts, team
from directpost.store.base import utcnow
from directpost.store.db import create_engine_from_settings, create_session_factory
from tests.fixtures.live import LiveEmulator


def new_creator(emulator: LiveEmulator, **fields: Any) -> str:
    """A creator of our own in the shared emulator (the demo creators are left alone)."""
    open_id = "mcp-" + secrets.token_hex(5)
    body = {"open_id": open_id, "nickname": f"Nick {open_id}", "username": open_id, **fields}
    emulator.control("POST", "/_emulator/creators", json=body)
    return open_id


def sign_in_over_http(app_base_url: str, open_id: str) -> None:
    """Sign `open_id` in to the running app without a browser: the app's start, the emulator's
    consent form, the app's callback (the person and the account now exist)."""
    with httpx2.Client(base_url=app_base_url, timeout=30, trust_env=False) as client:
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
            timeout=30,
            trust_env=False,
        )
        assert consent.status_code in (302, 303, 307), consent.text
        callback = urlsplit(consent.headers["location"])
        done = client.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 303, done.text


def make_token(
    settings: Settings, open_id: str, scopes: frozenset[str] = frozenset({"prepare", "read"})
) -> str:
    """A personal access token for the person who owns `open_id`'s account, made directly in
    the app's database (the Accounts page's form is the lead's to test)."""
    engine = create_engine_from_settings(settings)
    try:
        with create_session_factory(engine)() as session:
            account = accounts.find_account_by_open_id(session, open_id=open_id)
            assert account is not None, f"{open_id} has not signed in to this app"
            made = team.create_token(
                session,
                person_id=account.person_id,
                name="mcp test agent",
                scopes=scopes,
                now=utcnow(),
            )
            session.commit()
            return made.secret
    finally:
        engine.dispose()


def mcp_command(app_base_url: str, token: str, *extra: str) -> StdioServerParameters:
    """`directpost mcp` as an MCP client starts it: this interpreter, the app's URL and the
    token in the environment (the client passes only what it is given, besides PATH/HOME)."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "directpost.cli", "mcp", *extra],
        env={"DIRECTPOST_URL": app_base_url, "DIRECTPOST_TOKEN": token},
    )


def tool_text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def answer(result: CallToolResult) -> dict[str, Any]:
    """A successful tool call's structured answer (fails with the tool's words otherwise)."""
    assert not result.is_error, tool_text(result)
    if result.structured_content is not None:
        return dict(result.structured_content)
    parsed: dict[str, Any] = json.loads(tool_text(result))
    return parsed


def refusal(result: CallToolResult) -> str:
    """What a failed tool call told the agent, after the SDK's "Error executing tool <name>: "
    (fails if the call succeeded, or crashed: a crash shows the agent the bare prefix only)."""
    assert result.is_error, f"expected a tool error, got {tool_text(result)}"
    said = re.fullmatch(r"Error executing tool \w+: (.+)", tool_text(result), re.DOTALL)
    assert said is not None, f"the tool crashed instead of refusing: {tool_text(result)!r}"
    return said.group(1)


def publishes_for(emulator: LiveEmulator, open_id: str) -> list[dict[str, Any]]:
    """Every publish TikTok (the emulator) was asked to init for this creator: video, photo or
    inbox, by any app. A fresh creator's list is theirs alone, whatever other tests do."""
    return [p for p in emulator.state()["publishes"] if p["open_id"] == open_id]


def profile_of(emulator: LiveEmulator, open_id: str) -> list[dict[str, Any]]:
    """The posts on the creator's profile in the emulator."""
    posts: list[dict[str, Any]] = emulator.state()["posts"].get(open_id, [])
    return posts
