"""Encryption of TikTok tokens at rest (TOS-1), with key rotation.

`DIRECTPOST_TOKEN_ENCRYPTION_KEY` holds one or more Fernet keys separated by commas: the first
encrypts, every one of them decrypts. To rotate, put a new key first and keep the old one after
it; tokens are re-encrypted under the new key as they refresh, or at once with
`directpost.store.accounts.reencrypt_tokens`; then drop the old key.

In development with no key configured, a key is generated once into `data_dir` (mode 0600) and
reused on the next start; outside development the app refuses to start without one.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from directpost.config import Settings, SettingsError

log = logging.getLogger(__name__)

DEV_TOKEN_KEY_FILE = "token_encryption.key"  # noqa: S105 - a file name, not a secret
DEV_SESSION_SECRET_FILE = "session_secret"  # noqa: S105 - a file name


class TokenDecryptionError(Exception):
    """A stored token cannot be decrypted with any configured key (the key was changed)."""


class TokenCipher:
    """Encrypts and decrypts token strings; the first key encrypts, all keys decrypt."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SettingsError("At least one token encryption key is needed.")
        try:
            self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        except (ValueError, UnicodeEncodeError) as exc:
            raise SettingsError(
                "DIRECTPOST_TOKEN_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe "
                "base64-encoded bytes). Generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise TokenDecryptionError(
                "A stored TikTok token cannot be decrypted with the configured keys; keep the "
                "old key in DIRECTPOST_TOKEN_ENCRYPTION_KEY (after the new one) until "
                "`directpost rotate-keys` has run."
            ) from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt a stored value under the first (current) key."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise TokenDecryptionError("A stored token cannot be decrypted for rotation.") from exc

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")


def read_or_create_dev_secret(path: Path, *, make: str) -> tuple[str, bool]:
    """Read a development secret from `path`, creating it (mode 0600) when absent.

    Returns the secret and whether it was created now. The secret itself is never logged.
    """
    try:
        return path.read_text(encoding="ascii").strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="ascii").strip(), False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(make + "\n")
    return make, True


def token_cipher_from_settings(settings: Settings) -> TokenCipher:
    """The cipher for this deployment; a generated dev key in development, else a refusal."""
    raw = settings.token_encryption_key.get_secret_value().strip()
    if raw:
        return TokenCipher([part.strip() for part in raw.split(",") if part.strip()])
    if settings.environment != "development":
        raise SettingsError(
            "DIRECTPOST_TOKEN_ENCRYPTION_KEY (or DIRECTPOST_TOKEN_ENCRYPTION_KEY_FILE) must be "
            "set outside development: it encrypts TikTok tokens at rest."
        )
    path = settings.data_dir / DEV_TOKEN_KEY_FILE
    key, created = read_or_create_dev_secret(path, make=TokenCipher.generate_key())
    if created:
        log.warning(
            "No DIRECTPOST_TOKEN_ENCRYPTION_KEY set: generated a development key in %s "
            "(mode 0600). Set a real key before running outside development.",
            path,
        )
    return TokenCipher([key])


def session_secret_from_settings(settings: Settings) -> str:
    """The session-signing secret; a generated one in development, else a refusal."""
    raw = settings.session_secret.get_secret_value().strip()
    if raw:
        return raw
    if settings.environment != "development":
        raise SettingsError(
            "DIRECTPOST_SESSION_SECRET (or DIRECTPOST_SESSION_SECRET_FILE) must be set outside "
            "development: it signs session cookies."
        )
    path = settings.data_dir / DEV_SESSION_SECRET_FILE
    secret, created = read_or_create_dev_secret(path, make=secrets.token_urlsafe(48))
    if created:
        log.warning(
            "No DIRECTPOST_SESSION_SECRET set: generated a development secret in %s (mode 0600).",
            path,
        )
    return secret
