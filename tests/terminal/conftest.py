"""The terminal against the emulator as a real server: a config folder of its own per test, the
settings of a machine with no TikTok client key (demo mode, as `make run`), and helpers to run
the real command line (Typer's runner in-process, or a subprocess) and to read what reached
the emulator."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from directpost.cli import app
from directpost.config import Settings
from directpost.terminal.accounts import Account, AccountStore
from directpost.terminal.home import Vault
from directpost.terminal.target import (
    DEMO_TERMINAL_CLIENT_KEY,
    register_demo_app,
    target_from_settings,
)
from directpost.tiktok import Token
from tests.fixtures.emulator import EmulatorHandle

INIT_PATHS = (
    "/v2/post/publish/video/init/",
    "/v2/post/publish/inbox/video/init/",
    "/v2/post/publish/content/init/",
)


@dataclass
class Terminal:
    """One user's terminal: its environment, its config folder, and the emulator it talks to."""

    env: dict[str, str]
    config: Path
    emulator: EmulatorHandle
    started_at: float

    def run(self, *args: str, input: str | None = None) -> Any:
        """`directpost ARGS` through Typer's runner (stdin is not a terminal)."""
        return CliRunner().invoke(
            app, list(args), input=input, env=self.env, catch_exceptions=False
        )

    def subprocess_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
        return {**base, **self.env, "PYTHONUNBUFFERED": "1"}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "directpost.cli", *args]

    def requests(self) -> list[str]:
        """The paths of the API calls the emulator received since this test began."""
        log = self.emulator.control(f"requests?since={self.started_at}", method="GET")
        return [r["path"] for r in log["requests"]]

    def inits(self) -> list[str]:
        return [p for p in self.requests() if p in INIT_PATHS]

    def sign_in(self, open_id: str = "demo-public", name: str = "default") -> Account:
        """An account signed in as `open_id` (the login flow itself is tested on its own)."""
        target = target_from_settings(Settings())
        register_demo_app(target)
        payload = self.emulator.control(
            "tokens", {"client_key": DEMO_TERMINAL_CLIENT_KEY, "open_id": open_id}
        )
        token = Token.from_response(payload, datetime.now(UTC))
        nickname = next(c for c in self.emulator.state()["creators"] if c["open_id"] == open_id)
        account = Account.from_token(
            name, token, nickname=nickname.get("nickname", ""), target=target
        )
        AccountStore(Vault()).save(account)
        return account


@pytest.fixture
def terminal(
    emulator_server: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Terminal]:
    for name in list(os.environ):
        if name.startswith("DIRECTPOST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no developer's .env
    host, port = emulator_server.base_url.rsplit("//", 1)[1].rsplit(":", 1)
    env = {
        "DIRECTPOST_CONFIG_DIR": str(tmp_path / "config"),
        "DIRECTPOST_EMULATOR_HOST": host,
        "DIRECTPOST_EMULATOR_PORT": port,
        "DIRECTPOST_APP_AUDITED": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield Terminal(env, tmp_path / "config", emulator_server, time.time())
