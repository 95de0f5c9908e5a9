"""Settings: secrets from the environment or *_FILE, refused as placeholders outside development."""

from __future__ import annotations

from pathlib import Path

import pytest

from directpost.config import ENV_PREFIX, SECRET_FIELDS, Settings, SettingsError

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def test_client_secret_is_read_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-from-file\n")
    monkeypatch.setenv("DIRECTPOST_TIKTOK_CLIENT_SECRET_FILE", str(secret_file))
    settings = Settings(_env_file=None)
    assert settings.tiktok_client_secret.get_secret_value() == "s3cr3t-from-file"


@pytest.mark.parametrize("name", SECRET_FIELDS)
def test_every_secret_can_come_from_a_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / name
    secret_file.write_text(f"{name}-value-from-file\n")
    monkeypatch.setenv(f"{ENV_PREFIX}{name.upper()}_FILE", str(secret_file))
    value = getattr(Settings(_env_file=None), name).get_secret_value()
    assert value == f"{name}-value-from-file"


def test_tiktok_hosts_default_to_tiktok_and_can_point_at_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings(_env_file=None)
    assert defaults.tiktok_auth_base_url == "https://www.tiktok.com"
    assert defaults.tiktok_api_base_url == "https://open.tiktokapis.com"
    monkeypatch.setenv("DIRECTPOST_TIKTOK_AUTH_BASE_URL", "http://127.0.0.1:9100")
    monkeypatch.setenv("DIRECTPOST_TIKTOK_API_BASE_URL", "http://127.0.0.1:9100")
    pointed = Settings(_env_file=None)
    assert (pointed.tiktok_auth_base_url, pointed.tiktok_api_base_url) == (
        "http://127.0.0.1:9100",
        "http://127.0.0.1:9100",
    )


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.lstrip("# ").strip()
        if line.startswith(ENV_PREFIX) and "=" in line:
            name = line.split("=", 1)[0].removeprefix(ENV_PREFIX).lower()
            listed.add(name.removesuffix("_file") if name.endswith("_file") else name)
    fields = set(Settings.model_fields)
    assert fields - listed == set(), f"add these to .env.example: {sorted(fields - listed)}"
    assert listed - fields == set(), (
        f".env.example names unknown settings: {sorted(listed - fields)}"
    )


def test_secret_never_appears_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTPOST_TIKTOK_CLIENT_SECRET", "very-secret-value")
    settings = Settings(_env_file=None)
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in str(settings.model_dump())


def test_production_refuses_to_start_without_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTPOST_ENVIRONMENT", "production")
    monkeypatch.setenv("DIRECTPOST_SESSION_SECRET", "change-me")
    with pytest.raises(SettingsError, match="DIRECTPOST_TOKEN_ENCRYPTION_KEY"):
        Settings(_env_file=None).require_production_secrets()


def test_production_with_a_tiktok_key_needs_a_real_client_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIRECTPOST_ENVIRONMENT", "production")
    monkeypatch.setenv("DIRECTPOST_TOKEN_ENCRYPTION_KEY", "a-real-looking-key-0123456789")
    monkeypatch.setenv("DIRECTPOST_SESSION_SECRET", "a-real-looking-session-secret-0123456789")
    monkeypatch.setenv("DIRECTPOST_TIKTOK_CLIENT_KEY", "awrealkey")
    monkeypatch.setenv("DIRECTPOST_TIKTOK_CLIENT_SECRET", "changeme")
    with pytest.raises(SettingsError, match="DIRECTPOST_TIKTOK_CLIENT_SECRET"):
        Settings(_env_file=None).require_production_secrets()
    monkeypatch.setenv("DIRECTPOST_TIKTOK_CLIENT_SECRET", "a-real-client-secret")
    Settings(_env_file=None).require_production_secrets()  # all real: starts


def test_unreadable_secret_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIRECTPOST_SESSION_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="cannot be read"):
        Settings(_env_file=None)
