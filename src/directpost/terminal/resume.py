"""Unfinished uploads, kept so `directpost post --resume` goes on without a second init.

TikTok has no idempotency key: a second init would be a second post. So the publish id and its
upload URL are stored (encrypted: the URL is a bearer of the upload) the moment the init
answers, before a byte is sent, with a fingerprint of the file; a resume checks the file is the
same one and PUTs to the same URL, starting where the upload host says it got to.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .home import Vault

_EDGE = 1024 * 1024


def fingerprint(path: Path) -> str:
    """Size, modification time and the SHA-256 of the first and last MiB: cheap even for 4 GB,
    and enough to tell an edited or replaced file from the one whose upload began."""
    stat = path.stat()
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_EDGE))
        if stat.st_size > _EDGE:
            handle.seek(max(stat.st_size - _EDGE, _EDGE))
            digest.update(handle.read(_EDGE))
    return digest.hexdigest()


@dataclass
class PendingUpload:
    """One upload TikTok has a publish id for, not yet finished."""

    account: str
    publish_id: str
    upload_url: str
    path: str
    size: int
    chunk_size: int
    fingerprint: str
    mode: str
    started_at: float
    acknowledged: int = 0
    """Bytes the upload host had confirmed when this was last written."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingUpload:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


class PendingUploads:
    """`uploads/<account>.json`: at most one unfinished upload per account."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @staticmethod
    def _file(account: str) -> str:
        return f"uploads/{account}.upload"

    def get(self, account: str) -> PendingUpload | None:
        data = self.vault.load(self._file(account))
        return PendingUpload.from_json(data) if data else None

    def save(self, pending: PendingUpload) -> None:
        self.vault.save(self._file(pending.account), pending.to_json())

    def drop(self, account: str) -> None:
        self.vault.delete(self._file(account))

    def find(self, publish_id: str) -> PendingUpload | None:
        for name in self.vault.names("uploads", ".upload"):
            pending = self.get(name)
            if pending is not None and pending.publish_id == publish_id:
                return pending
        return None


def same_file(pending: PendingUpload, path: Path) -> bool:
    """Whether `path` is still the very file whose upload began."""
    try:
        return os.path.getsize(path) == pending.size and fingerprint(path) == pending.fingerprint
    except OSError:
        return False
