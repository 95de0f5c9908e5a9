"""The deployment recipe: the container's entry script run on the host (migrate, then serve,
answering /healthz, with secrets as files and JSON log lines), the Dockerfile built around that
same script, and compose.yaml accepted by `docker compose config`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The image's environment (production, JSON logs) on the host: a temp SQLite database,
    the secrets as files, this venv's `directpost` and `python` first on PATH."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "token_encryption_key").write_text(Fernet.generate_key().decode() + "\n")
    (secrets / "session_secret").write_text("a-session-secret-for-the-entrypoint-test\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DIRECTPOST_ENVIRONMENT="production",
        DIRECTPOST_LOG_FORMAT="json",
        DIRECTPOST_HOST="127.0.0.1",
        DIRECTPOST_DATA_DIR=str(tmp_path / "data"),
        DIRECTPOST_TOKEN_ENCRYPTION_KEY_FILE=str(secrets / "token_encryption_key"),
        DIRECTPOST_SESSION_SECRET_FILE=str(secrets / "session_secret"),
    )
    env.update(extra)
    (tmp_path / "data").mkdir(exist_ok=True)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_entry_script_migrates_then_serves_healthz_with_json_logs(tmp_path: Path) -> None:
    port = _free_port()
    env = _environment(tmp_path, DIRECTPOST_PORT=str(port))
    migrated = _run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    assert (tmp_path / "data" / "directpost.db").exists()

    stderr = tmp_path / "serve.log"
    with stderr.open("w") as log:
        server = subprocess.Popen([str(ENTRYPOINT), "serve"], env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + 60  # a safety net, not a measure
        while True:
            try:
                request = urllib.request.Request(url, headers={"X-Request-ID": "deploy-test-1"})
                with urllib.request.urlopen(request, timeout=2) as answer:
                    status, request_id = answer.status, answer.headers["X-Request-ID"]
                    break
            except OSError:
                assert server.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, stderr.read_text()
                time.sleep(0.1)
        assert (status, request_id) == (200, "deploy-test-1")
        # The image's HEALTHCHECK runs the same script.
        assert _run(env, "healthcheck").returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught (so it may end by it).
    assert server.returncode in (0, -signal.SIGTERM), stderr.read_text()
    assert "Application shutdown complete." in stderr.read_text()
    lines = [line for line in stderr.read_text().splitlines() if line.strip()]
    assert lines, "serve wrote no log line"
    for line in lines:
        record = json.loads(line)  # every line a JSON object, uvicorn's own included
        assert {"time", "level", "logger", "message"} <= set(record)
    # Nothing answers any more: the healthcheck says so.
    assert _run(env, "healthcheck").returncode == 1


def test_the_entry_script_refuses_an_unknown_command_and_an_unreadable_secret_file(
    tmp_path: Path,
) -> None:
    env = _environment(tmp_path)
    unknown = _run(env, "dance")
    assert unknown.returncode == 64
    assert "usage: entrypoint.sh serve|worker|migrate|healthcheck" in unknown.stderr
    missing = _run({**env, "PGPASSWORD_FILE": str(tmp_path / "nope")}, "migrate")
    assert missing.returncode == 78
    assert "PGPASSWORD_FILE points at" in missing.stderr


def test_the_image_is_multi_stage_non_root_with_a_healthcheck_and_this_entry_script() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line[:1].isupper()]
    assert instructions.count("FROM") == 2
    assert "pip wheel" in dockerfile and "--no-index --find-links /wheels" in dockerfile
    user = next(line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER "))
    assert user not in ("root", "0")
    assert "HEALTHCHECK" in instructions and '"healthcheck"' in dockerfile
    assert "COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/directpost-entrypoint" in (
        dockerfile
    )
    assert 'ENTRYPOINT ["directpost-entrypoint"]' in dockerfile
    assert "!deploy/entrypoint.sh" in (ROOT / ".dockerignore").read_text()


def _compose_command() -> list[str] | None:
    """`docker compose` (v2) when the plugin is there, else `docker-compose`, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_yaml_is_accepted_by_docker_compose_config() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is on PATH: not checked here")
    env = {
        **os.environ,
        "DIRECTPOST_PUBLIC_BASE_URL": "https://post.example.com",
        "DIRECTPOST_TIKTOK_CLIENT_KEY": "example-client-key",
    }
    checked = subprocess.run(
        [*command, "-f", "compose.yaml", "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    # The public URL has no default: forgetting it is refused with the reason.
    env.pop("DIRECTPOST_PUBLIC_BASE_URL")
    refused = subprocess.run(
        [*command, "-f", "compose.yaml", "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "set the app's public https URL" in refused.stderr
