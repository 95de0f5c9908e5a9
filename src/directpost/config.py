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
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "DIRECTPOST_"

#: Secrets that may be given as `DIRECTPOST_<NAME>_FILE`.
SECRET_FIELDS = (
    "tiktok_client_secret",
    "token_encryption_key",
    "session_secret",
    "operator_token",
    "smtp_url",
)

#: TikTok's own hosts: a client key with base URLs elsewhere (the emulator) is demo mode.
TIKTOK_DOMAINS = ("tiktok.com", "tiktokapis.com")

#: Values that must never be accepted as real secrets outside development.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})


class SettingsError(ValueError):
    """The configuration cannot work; the message says which setting to fix and how."""


def local_base_url(host: str, port: int | str) -> str:
    """The URL a browser on this machine uses for an app listening on host:port: a wildcard
    address (0.0.0.0, ::) is reached through loopback, an IPv6 address goes in brackets."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _is_tiktok_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith("." + domain) for domain in TIKTOK_DOMAINS)


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
    port: int = Field(8000, ge=0, le=65535)
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="the app's public URL (OAuth redirect, media URLs for PULL_FROM_URL); "
        "unset, it follows host and port",
    )
    media_public_base_url: str = Field(
        "",
        description="verified URL prefix that TikTok pulls media from; defaults to public_base_url",
    )
    media_check_url: str = Field(
        "",
        description="the address a worker asks before each pull publish to see that the media "
        "service answers; default the media URL prefix itself, 'off' to skip the check (when "
        "this machine cannot reach its own public address)",
    )
    transfer_mode: Literal["pull", "file_upload"] = Field(
        "pull", description="pull (PULL_FROM_URL, default) or file_upload when no public URL exists"
    )
    media_retention_days: int = Field(
        30,
        ge=0,
        description="days the media of a post that ended stays stored (TikTok keeps the post); "
        "0 keeps it until the creator deletes it",
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
    # Server-side sessions (TOS-1): ended on sign-out, and after these many seconds.
    session_idle_timeout_seconds: int = Field(12 * 3600, ge=1, description="since last use")
    session_absolute_timeout_seconds: int = Field(14 * 24 * 3600, ge=1, description="since sign-in")

    # Operator text for the public pages (DG-4).
    operator_name: str = "the operator of this directpost instance"
    operator_contact: str = "Contact the operator of this site."

    # Notifications by e-mail (docs/operations.md "Notifications"); unset: no e-mail channel.
    smtp_url: SecretStr = Field(
        SecretStr(""),
        description="smtp://user:password@host:587?starttls=true (or smtps://… for TLS from "
        "the start); also as DIRECTPOST_SMTP_URL_FILE; empty: notifications by e-mail are off",
    )
    smtp_from: str = Field(
        "", description="the From address of notification e-mails, e.g. directpost@example.org"
    )

    # The prepared-posts API (docs/api.md): requests per personal access token per minute.
    api_rate_per_minute: int = Field(
        120, ge=1, le=100_000, description="API requests per token per sliding minute (429 past it)"
    )
    api_upload_rate_per_minute: int = Field(
        1200,
        ge=1,
        le=1_000_000,
        description="media chunks (PUT) per token per sliding minute, counted apart",
    )

    # Logs: plain lines for a terminal, JSON lines for a log shipper (see `directpost.logs`).
    log_format: Literal["text", "json"] = Field(
        "text", description="text (plain lines, default) or json (one JSON object per line)"
    )

    # Emulator used by `directpost run` when no TikTok credentials are set.
    emulator_host: str = "127.0.0.1"
    emulator_port: int = Field(9100, ge=0, le=65535)

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

    @model_validator(mode="before")
    @classmethod
    def _public_url_follows_the_port(cls, data: Any) -> Any:
        """With only DIRECTPOST_PORT (or HOST) set, the sign-in callback and the media URLs
        must name the port the app listens on, not the default :8000."""
        if isinstance(data, dict) and not data.get("public_base_url"):
            fields = cls.model_fields
            host = data.get("host") or fields["host"].default
            port = data.get("port")
            port = fields["port"].default if port is None or port == "" else port
            data["public_base_url"] = local_base_url(str(host), str(port))
        return data

    @property
    def starts_local_emulator(self) -> bool:
        """No TikTok credentials at all: `directpost run` starts the local emulator (DG-1)."""
        return not self.tiktok_client_key

    @property
    def uses_emulator(self) -> bool:
        """This instance talks to an emulator, not to TikTok: no credentials (`directpost run`
        then starts one and registers a generated client key there), or TikTok base URLs
        that point anywhere but TikTok's own hosts. Pages show "Demo mode" on this."""
        if self.starts_local_emulator:
            return True
        return not (
            _is_tiktok_host(self.tiktok_auth_base_url) and _is_tiktok_host(self.tiktok_api_base_url)
        )

    def listening_on(
        self, *, host: str | None = None, port: int | None = None, emulator_port: int | None = None
    ) -> Settings:
        """These settings moved to another address (`directpost run --host/--port`, or the port
        the system picked for port 0). The public URL follows when it was this machine's own
        address for the old host and port; one the operator pointed elsewhere stays."""
        update: dict[str, Any] = {}
        if host is not None:
            update["host"] = host
        if port is not None:
            update["port"] = port
        if emulator_port is not None:
            update["emulator_port"] = emulator_port
        if update and self.public_base_url.rstrip("/") == local_base_url(self.host, self.port):
            update["public_base_url"] = local_base_url(
                update.get("host", self.host), update.get("port", self.port)
            )
        return self.model_copy(update=update)

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
        if not self.starts_local_emulator and (
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
        if self.environment == "production":
            refuse_weak_secrets(self)


#: The shortest operator token or session secret production accepts, and values never accepted.
STRONG_SECRET_LENGTH = 32
WEAK_SECRETS = PLACEHOLDER_SECRETS | {"a", "abc", "admin", "password", "operator", "test", "1234"}


def refuse_weak_secrets(settings: Settings) -> None:
    """Production only: the operator token (when set) and the session secret must be long and
    not a known weak value; the error names the setting and how to make a strong one."""
    for name, required in (("session_secret", True), ("operator_token", False)):
        value = getattr(settings, name).get_secret_value().strip()
        if not value and not required:
            continue  # no operator token: no operator page
        if len(value) < STRONG_SECRET_LENGTH or value.lower() in WEAK_SECRETS:
            raise SettingsError(
                f"{ENV_PREFIX}{name.upper()} is too weak for production (it needs at least "
                f"{STRONG_SECRET_LENGTH} random characters); make one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests override the FastAPI dependency instead)."""
    return Settings()
