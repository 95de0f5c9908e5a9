"""One typed Settings object for the app, read from the environment, `.env` and `*_FILE` secrets.

Every setting is `DIRECTPOST_<NAME>` in the environment. A secret may instead be given as
`DIRECTPOST_<NAME>_FILE`, the path of a file that holds it (Docker/Kubernetes secrets), so it
never has to sit in the environment or the repository (TECH-1).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "DIRECTPOST_"

#: Secrets that may be given as `DIRECTPOST_<NAME>_FILE`.
SECRET_FIELDS = (
    "tiktok_client_secret",
    "token_encryption_key",
    "session_secret",
    "operator_token",
)

#: Values that must never be accepted as real secrets outside development.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})


class SettingsError(ValueError):
    """The configuration cannot work; the message says which setting to fix and how."""


class Settings(BaseSettings):
    """Everything an operator can set. See `.env.example` for each setting with its default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="development allows generated dev secrets; production refuses them",
    )

    # TikTok app credentials. Empty key: `directpost run` starts the local emulator instead.
    tiktok_client_key: str = Field("", description="TikTok app client key")
    tiktok_client_secret: SecretStr = Field(SecretStr(""), description="TikTok app client secret")
    tiktok_auth_base_url: str = Field("https://www.tiktok.com", description="Login Kit host")
    tiktok_api_base_url: str = Field("https://open.tiktokapis.com", description="Open API host")
    tiktok_scopes: str = Field(
        "user.info.basic,video.publish,video.upload",
        description="comma-separated scopes requested at sign-in",
    )
    app_audited: bool = Field(
        False, description="TikTok has audited this app (lifts SELF_ONLY / 5-creator limits)"
    )
    creator_cap_per_day: int = Field(
        5, ge=1, description="creator cap per 24 h agreed at audit (5 while unaudited)"
    )

    # Where the app is reachable.
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="the app's public URL (OAuth redirect, media URLs for PULL_FROM_URL)",
    )
    media_public_base_url: str = Field(
        "",
        description="verified URL prefix that TikTok pulls media from; defaults to public_base_url",
    )
    transfer_mode: Literal["pull", "file_upload"] = Field(
        "pull", description="pull (PULL_FROM_URL, default) or file_upload when no public URL exists"
    )

    # Storage and jobs: embedded defaults, scaled-out by URL.
    data_dir: Path = Field(Path("var"), description="embedded data: the SQLite database, media")
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in data_dir")
    budget_url: str = Field("", description="redis://… for shared rate budgets; default database")
    media_storage_url: str = Field(
        "", description="s3://bucket/prefix for S3-compatible storage; default data_dir/media"
    )
    s3_endpoint_url: str = ""

    # Secrets (also as *_FILE).
    token_encryption_key: SecretStr = Field(
        SecretStr(""), description="key that encrypts TikTok tokens at rest (Fernet, urlsafe b64)"
    )
    session_secret: SecretStr = Field(SecretStr(""), description="signs session cookies")
    operator_token: SecretStr = Field(
        SecretStr(""),
        description="enables the operator page /operator for whoever presents it; empty: no page",
    )

    # Operator text for the public pages (DG-4).
    operator_name: str = "the operator of this directpost instance"
    operator_contact: str = "Contact the operator of this site."

    # Emulator used by `directpost run` when no TikTok credentials are set.
    emulator_host: str = "127.0.0.1"
    emulator_port: int = 9100

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in SECRET_FIELDS:
            path = os.environ.get(f"{ENV_PREFIX}{name.upper()}_FILE")
            if path and not data.get(name):
                try:
                    data[name] = Path(path).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise SettingsError(
                        f"{ENV_PREFIX}{name.upper()}_FILE points at {path!r}, "
                        f"which cannot be read ({exc.strerror})."
                    ) from exc
        return data

    @property
    def uses_emulator(self) -> bool:
        """No TikTok credentials: talk to the local emulator (DG-1)."""
        return not self.tiktok_client_key

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'directpost.db').as_posix()}"

    @property
    def resolved_media_public_base_url(self) -> str:
        return (self.media_public_base_url or self.public_base_url).rstrip("/")

    def require_production_secrets(self) -> None:
        """Refuse to start outside development with a missing or placeholder secret."""
        if self.environment == "development":
            return
        missing = [
            f"{ENV_PREFIX}{name.upper()} (or {ENV_PREFIX}{name.upper()}_FILE)"
            for name in ("token_encryption_key", "session_secret")
            if getattr(self, name).get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ]
        if not self.uses_emulator and (
            self.tiktok_client_secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ):
            missing.append(
                f"{ENV_PREFIX}TIKTOK_CLIENT_SECRET (or {ENV_PREFIX}TIKTOK_CLIENT_SECRET_FILE)"
            )
        if missing:
            raise SettingsError(
                "These secrets must be set to real values outside development: "
                + ", ".join(missing)
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests override the FastAPI dependency instead)."""
    return Settings()
