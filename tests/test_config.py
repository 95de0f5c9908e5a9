"""Settings: secrets from the environment or *_FILE, refused as placeholders outside development."""

from __future__ import annotations

from pathlib import Path

import pytest

from directpost.config import Settings, SettingsError


def test_client_secret_is_read_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-from-file\n")
    monkeypatch.setenv("DIRECTPOST_TIKTOK_CLIENT_SECRET_FILE", str(secret_file))
    settings = Settings(_env_file=None)
    assert settings.tiktok_client_secret.get_secret_value() == "s3cr3t-from-file"


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


def test_unreadable_secret_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIRECTPOST_SESSION_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="cannot be read"):
        Settings(_env_file=None)
