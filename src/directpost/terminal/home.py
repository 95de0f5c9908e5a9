"""The terminal's own folder: where it is, the key that encrypts what it keeps, private files.

The folder is the user's config folder (`platformdirs`), or `DIRECTPOST_CONFIG_DIR`. Tokens
and upload addresses are encrypted there with Fernet (the cipher the app uses for tokens at rest,
TOS-1) under a key from `DIRECTPOST_TERMINAL_KEY`, or else from a `key` file created beside
them with mode 0600. Every file is written whole (a temporary file, then a rename) so a Ctrl-C
never leaves half a token behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs
from cryptography.fernet import Fernet, InvalidToken

CONFIG_DIR_ENV = "DIRECTPOST_CONFIG_DIR"
KEY_ENV = "DIRECTPOST_TERMINAL_KEY"
KEY_FILE = "key"


class HomeError(Exception):
    """The config folder or its key cannot be used; the message says what to do."""


def config_dir() -> Path:
    """The folder the terminal keeps its accounts, uploads and consent records in (mode 0700)."""
    chosen = os.environ.get(CONFIG_DIR_ENV, "").strip()
    folder = Path(chosen) if chosen else Path(platformdirs.user_config_dir("directpost"))
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise HomeError(
            f"cannot use {folder} as directpost's config folder ({exc.strerror}); "
            f"point {CONFIG_DIR_ENV} at a folder you can write to."
        ) from exc
    return folder


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by this user only, all at once (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _key(folder: Path) -> bytes:
    given = os.environ.get(KEY_ENV, "").strip()
    if given:
        return given.encode("ascii")
    path = folder / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    key = Fernet.generate_key()
    try:
        # O_EXCL: two commands started at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


class Vault:
    """Encrypted JSON files in the config folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_dir()
        try:
            self._fernet = Fernet(_key(self.folder))
        except (ValueError, UnicodeEncodeError) as exc:
            raise HomeError(
                f"{KEY_ENV} (or {self.folder / KEY_FILE}) is not a Fernet key; make one with: "
                'python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from exc

    def save(self, relative: str, value: dict[str, Any]) -> Path:
        """Encrypt `value` as JSON into `relative` under the folder."""
        path = self.folder / relative
        write_private(path, self._fernet.encrypt(json.dumps(value).encode("utf-8")))
        return path

    def load(self, relative: str) -> dict[str, Any] | None:
        """The JSON object kept in `relative`, or None when there is none."""
        path = self.folder / relative
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise HomeError(
                f"{path} cannot be decrypted with this key (was {KEY_ENV} or the key file "
                "changed?); sign in again with `directpost login`."
            ) from exc
        return data

    def delete(self, relative: str) -> bool:
        """Remove `relative`; whether there was anything to remove."""
        path = self.folder / relative
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def names(self, folder: str, suffix: str) -> list[str]:
        """The names (without `suffix`) of the files kept in `folder`."""
        where = self.folder / folder
        if not where.is_dir():
            return []
        return sorted(p.name[: -len(suffix)] for p in where.glob(f"*{suffix}"))
