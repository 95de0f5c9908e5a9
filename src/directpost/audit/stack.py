"""The app and a local TikTok, started in this process for the audit's browser.

The same parts `directpost run` and the live-server test fixtures use: the emulator as a real
server (`run_server_in_thread`), the app on a bound loopback socket (`BackgroundServer`),
registered with the emulator (`emulator_app_registration`), and the publish worker in-process.
Two apps share the emulator: one TikTok has audited (every privacy level is offered) and one it
has not (CAP-2's view). Nothing leaves loopback; the data lives in a temporary folder.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from cryptography.fernet import Fernet

from directpost.config import Settings
from directpost.emulator.config import EmulatorConfig
from directpost.emulator.server import run_server_in_thread
from directpost.publishing.worker import start_in_process
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from directpost.web.server import BackgroundServer, bind_socket, emulator_app_registration

OPERATOR_NAME = "Audit Example Operator"
OPERATOR_CONTACT = "Write to audit@example.invalid."


@dataclass
class Emulator:
    """The running emulator and its control plane (`/_emulator/`)."""

    base_url: str

    def control(self, method: str, path: str, json: Any = None) -> Any:
        answer = httpx2.request(
            method, f"{self.base_url}{path}", json=json, timeout=10, trust_env=False
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def new_creator(self, **fields: Any) -> str:
        """A fresh creator (demo creators stay untouched); returns its open_id."""
        open_id = "audit-" + secrets.token_hex(4)
        body = {
            "open_id": open_id,
            "nickname": fields.pop("nickname", "Ada Audit"),
            "username": open_id,
            **fields,
        }
        self.control("POST", "/_emulator/creators", json=body)
        return open_id


@dataclass
class App:
    """One running app: its URL and settings."""

    base_url: str
    settings: Settings


@dataclass
class Stack:
    """The emulator and the two apps (audited, unaudited)."""

    emulator: Emulator
    audited: App
    unaudited: App


def app_settings(data_dir: Path, *, emulator_url: str, port: int, audited: bool) -> Settings:
    """Settings for an audit app: generated secrets, SQLite in `data_dir`, no `.env`."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url": f"sqlite:///{(data_dir / 'directpost.db').as_posix()}",
        "tiktok_client_key": "dpaudit" + secrets.token_hex(5),
        "tiktok_client_secret": secrets.token_urlsafe(24),
        "tiktok_auth_base_url": emulator_url,
        "tiktok_api_base_url": emulator_url,
        "public_base_url": f"http://127.0.0.1:{port}",
        "token_encryption_key": Fernet.generate_key().decode(),
        "session_secret": secrets.token_urlsafe(32),
        "operator_name": OPERATOR_NAME,
        "operator_contact": OPERATOR_CONTACT,
        "app_audited": audited,
    }
    return Settings(_env_file=None, **values)


@contextlib.contextmanager
def _app(data_dir: Path, emulator: Emulator, *, audited: bool) -> Iterator[App]:
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = bind_socket("127.0.0.1", 0)
    settings = app_settings(
        data_dir, emulator_url=emulator.base_url, port=sock.getsockname()[1], audited=audited
    )
    upgrade_database(settings.resolved_database_url)
    emulator.control(
        "POST",
        "/_emulator/apps",
        json=emulator_app_registration(
            settings,
            client_key=settings.tiktok_client_key,
            secret=settings.tiktok_client_secret.get_secret_value(),
        ),
    )
    server = BackgroundServer(create_app(settings), sock).start()
    worker = start_in_process(settings, threads=2)
    try:
        yield App(base_url=server.base_url, settings=settings)
    finally:
        worker.stop()
        server.stop()


@contextlib.contextmanager
def running_stack(data_dir: Path) -> Iterator[Stack]:
    """Start the emulator and both apps; stop them all on the way out."""
    config = EmulatorConfig(data_dir=data_dir / "emulator", tick_interval_s=0.05)
    with (
        run_server_in_thread("127.0.0.1", 0, config) as running,
        contextlib.ExitStack() as apps,
    ):
        emulator = Emulator(base_url=running.base_url)
        audited = apps.enter_context(_app(data_dir / "audited", emulator, audited=True))
        unaudited = apps.enter_context(_app(data_dir / "unaudited", emulator, audited=False))
        yield Stack(emulator=emulator, audited=audited, unaudited=unaudited)
