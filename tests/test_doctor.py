"""`directpost doctor`: the readiness checks plus settings TikTok needs, what to fix, exit 0/1.

Run as the operator runs it: the command line in its own process, settings from the
environment, in a folder without a `.env`. Nothing here talks to TikTok (the doctor never does).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from directpost.emulator.demo import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET
from directpost.store.migrate import upgrade_database
from tests.fixtures.processes import free_port


def _doctor(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
    env.update({f"DIRECTPOST_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "directpost.cli", "doctor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _database(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{(tmp_path / 'directpost.db').as_posix()}"
    upgrade_database(url)
    return {"data_dir": str(tmp_path), "database_url": url}


def _production(tmp_path: Path) -> dict[str, str]:
    """A deployment set up right: TikTok's own hosts, public https URLs, real secrets."""
    return {
        **_database(tmp_path),
        "environment": "production",
        "tiktok_client_key": "aw" + secrets.token_hex(8),
        "tiktok_client_secret": secrets.token_urlsafe(24),
        "public_base_url": "https://posts.example.com",
        "media_public_base_url": "https://media.example.com",
        "token_encryption_key": Fernet.generate_key().decode(),
        "session_secret": secrets.token_urlsafe(32),
    }


def _line(output: str, name: str) -> str:
    found = [line for line in output.splitlines() if line.split()[1:2] == [name]]
    assert found, f"no line for {name} in:\n{output}"
    return found[0]


def test_doctor_passes_a_demo_setup_and_exits_0(tmp_path: Path) -> None:
    done = _doctor(tmp_path, **_database(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("database", "queue", "media_store", "tiktok", "public_url", "secrets"):
        assert _line(done.stdout, name).startswith("ok"), done.stdout
    assert "Everything checked is in order." in done.stdout


def test_doctor_passes_a_production_setup_done_right(tmp_path: Path) -> None:
    done = _doctor(tmp_path, **_production(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout
    assert "https://media.example.com/m/" in _line(done.stdout, "verified_prefix")


def test_doctor_says_what_to_fix_in_a_production_setup_done_wrong(tmp_path: Path) -> None:
    wrong = {
        **_production(tmp_path),
        "environment": "test",
        "public_base_url": "http://127.0.0.1:8000",
        "media_public_base_url": "",
        "tiktok_client_secret": DEMO_CLIENT_SECRET,
        "session_secret": "changeme",
    }
    done = _doctor(tmp_path, **wrong)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    public = _line(out, "public_url")
    assert public.startswith("FAIL") and "loopback" in public
    assert _line(out, "verified_prefix").startswith("FAIL")
    secrets_line = _line(out, "secrets")
    assert "DIRECTPOST_SESSION_SECRET is missing or a placeholder" in secrets_line
    assert "DIRECTPOST_TIKTOK_CLIENT_SECRET is the emulator's public demo value" in secrets_line
    assert DEMO_CLIENT_SECRET not in out and "changeme" not in out  # secrets are never printed
    assert _line(out, "environment").startswith("FAIL")
    assert "fix: set DIRECTPOST_PUBLIC_BASE_URL" in out
    assert "fix: set DIRECTPOST_ENVIRONMENT=production" in out
    assert "4 check(s) failed" in out
    # What the app itself needs is in order: only the settings are wrong.
    assert _line(out, "database").startswith("ok")


def test_doctor_refuses_the_demo_app_with_tiktok_itself(tmp_path: Path) -> None:
    done = _doctor(
        tmp_path,
        **{**_production(tmp_path), "tiktok_client_key": DEMO_CLIENT_KEY},
    )
    assert done.returncode == 1
    assert "DIRECTPOST_TIKTOK_CLIENT_KEY is the emulator's demo app" in _line(
        done.stdout, "secrets"
    )


def test_doctor_fails_on_a_database_that_does_not_answer(tmp_path: Path) -> None:
    done = _doctor(
        tmp_path,
        data_dir=str(tmp_path),
        database_url=f"postgresql+psycopg://app:pw@127.0.0.1:{free_port()}/gone",
    )
    assert done.returncode == 1
    database = _line(done.stdout, "database")
    assert database.startswith("FAIL") and "OperationalError" in database
    assert "fix: check DIRECTPOST_DATABASE_URL" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_doctor_tells_to_migrate_a_database_without_tables(tmp_path: Path) -> None:
    done = _doctor(tmp_path, data_dir=str(tmp_path))
    assert done.returncode == 1
    assert _line(done.stdout, "queue").startswith("FAIL")
    assert "fix: run `directpost migrate`" in done.stdout


def test_doctor_reports_settings_it_cannot_read_without_a_traceback(tmp_path: Path) -> None:
    done = _doctor(tmp_path, data_dir=str(tmp_path), port="eighty")
    assert done.returncode == 1
    assert "the settings cannot be used" in done.stderr
    assert "port" in done.stderr.lower()
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("database", ["ok", "gone"])
def test_doctor_json_has_each_check_and_the_verdict(tmp_path: Path, database: str) -> None:
    settings = _database(tmp_path)
    if database == "gone":
        settings["database_url"] = f"postgresql+psycopg://app@127.0.0.1:{free_port()}/gone"
    done = _doctor(tmp_path, "--json", **settings)
    body = json.loads(done.stdout)
    assert body["ok"] is (database == "ok")
    assert done.returncode == (0 if database == "ok" else 1)
    assert body["checks"]["database"]["status"] == ("ok" if database == "ok" else "fail")
    assert {"database", "queue", "media_store", "tiktok", "public_url", "secrets"} <= set(
        body["checks"]
    )
