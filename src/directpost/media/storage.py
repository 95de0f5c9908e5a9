"""Where media bytes live: a local folder by default, an S3-compatible bucket at scale (`s3.py`).

Both stores keep objects by key and share one protocol, `MediaStore`:

- resumable writes: `append(key, offset, data)` adds bytes only at the offset the store already
  holds, so an interrupted upload resumes from `upload_size(key)` and never duplicates or loses a
  byte; `finalize(key)` makes the object readable, at once and whole;
- streaming reads: `iter_bytes(key, start, stop)` yields pieces of at most `READ_PIECE_BYTES`,
  so memory does not grow with the file; `open_binary(key)` gives a seekable reader (probing,
  preview frames);
- `stat`, `delete`, and `iter_keys()`: every key the store holds, finished or not (a purge lists
  the whole store, so nothing outlives it unseen).

Stored bytes are never changed after `finalize` (UX-5b): what the creator gave is what TikTok gets.
One writer per key at a time: the web part serialises the chunks of one upload.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    from directpost.config import Settings

__all__ = [
    "READ_PIECE_BYTES",
    "InvalidKeyError",
    "LocalMediaStore",
    "MediaNotFoundError",
    "MediaStore",
    "MediaStoreError",
    "OffsetMismatchError",
    "StoredObject",
    "copy_to_file",
    "media_store_from_settings",
    "validate_key",
]

#: Largest piece a read yields or a copy holds in memory.
READ_PIECE_BYTES = 1024 * 1024

_KEY_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_KEY_PATTERN = re.compile(rf"{_KEY_SEGMENT}(?:/{_KEY_SEGMENT}){{0,7}}")

Chunk = bytes | IO[bytes]


class MediaStoreError(Exception):
    """A media store operation cannot be done; the message says why."""


class InvalidKeyError(MediaStoreError, ValueError):
    """The key is not a safe object name (letters, digits, `._-`, `/` between parts)."""


class MediaNotFoundError(MediaStoreError, KeyError):
    """No finished object (or no upload in progress) under this key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "media not found"


class OffsetMismatchError(MediaStoreError):
    """A chunk was offered at an offset other than the bytes the store holds: resume from `expected`."""

    def __init__(self, key: str, *, expected: int, given: int) -> None:
        super().__init__(
            f"The upload of {key!r} holds {expected} bytes, so the next chunk must start at byte "
            f"{expected}, not {given}. Resume from byte {expected}."
        )
        self.key = key
        self.expected = expected
        self.given = given


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A finished object: its size, a strong ETag (same ETag means same bytes) and change time."""

    key: str
    size_bytes: int
    etag: str
    last_modified: datetime


def validate_key(key: str) -> str:
    """Return `key` if it is a safe object name, else raise `InvalidKeyError`."""
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        raise InvalidKeyError(
            f"{key!r} is not a valid media key: use letters, digits, '.', '_' and '-', "
            "with '/' between up to 8 parts, each starting with a letter or digit."
        )
    return key


def chunk_pieces(data: Chunk) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), READ_PIECE_BYTES):
            yield bytes(view[start : start + READ_PIECE_BYTES])
        return
    while piece := data.read(READ_PIECE_BYTES):
        yield piece


@runtime_checkable
class MediaStore(Protocol):
    """Media bytes by key, with resumable writes and ranged streaming reads."""

    def upload_size(self, key: str) -> int | None:
        """Bytes received so far by an unfinished upload, or None when none is in progress."""
        ...

    def append(self, key: str, offset: int, data: Chunk) -> int:
        """Add `data` at `offset` (which must equal `upload_size`, 0 to start); return the new size."""
        ...

    def finalize(self, key: str, *, expected_size: int | None = None) -> StoredObject:
        """Make the upload a finished, readable object (idempotent once finished)."""
        ...

    def put(self, key: str, data: Chunk) -> StoredObject:
        """Store a whole object in one call (any unfinished upload of the key is discarded)."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """The finished object under `key`, or None."""
        ...

    def iter_bytes(self, key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Yield bytes `start` up to (not including) `stop`, in pieces of at most 1 MiB."""
        ...

    def open_binary(self, key: str) -> BinaryIO:
        """A seekable reader of the finished object; the caller closes it."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object and any unfinished upload of it; absent keys are fine."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every key held, finished objects and unfinished uploads alike, each once, sorted."""
        ...


# --- local folder ----------------------------------------------------------------------------------


class LocalMediaStore:
    """Media in a local folder: finished objects in `objects/`, unfinished uploads in `partial/`.

    An append writes straight to the end of the partial file under an exclusive lock, so the
    file's size is always the exact number of bytes received; `finalize` renames it into
    `objects/` atomically.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._partial = self.root / "partial"

    def _object_path(self, key: str) -> Path:
        return self._objects / validate_key(key)

    def _partial_path(self, key: str) -> Path:
        return self._partial / validate_key(key)

    def upload_size(self, key: str) -> int | None:
        try:
            return self._partial_path(key).stat().st_size
        except FileNotFoundError:
            return None

    def append(self, key: str, offset: int, data: Chunk) -> int:
        partial = self._partial_path(key)
        if self._object_path(key).exists() and not partial.exists():
            raise MediaStoreError(
                f"{key!r} is already finished; delete it first to upload it again."
            )
        partial.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("ab") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            held = os.fstat(handle.fileno()).st_size
            if offset != held:
                raise OffsetMismatchError(key, expected=held, given=offset)
            for piece in chunk_pieces(data):
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
            return handle.tell()

    def finalize(self, key: str, *, expected_size: int | None = None) -> StoredObject:
        partial = self._partial_path(key)
        target = self._object_path(key)
        if not partial.exists():
            done = self.stat(key)
            if done is None:
                raise MediaNotFoundError(f"No upload of {key!r} to finish: start it again.")
            return done
        held = partial.stat().st_size
        if expected_size is not None and held != expected_size:
            raise OffsetMismatchError(key, expected=held, given=expected_size)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # a concurrent finalize got there first
            os.replace(partial, target)
        done = self.stat(key)
        assert done is not None
        return done

    def put(self, key: str, data: Chunk) -> StoredObject:
        self.delete(key)
        self.append(key, 0, data)
        return self.finalize(key)

    def stat(self, key: str) -> StoredObject | None:
        try:
            info = self._object_path(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(
            key=key,
            size_bytes=info.st_size,
            # Objects never change after finalize, so size + change time identify the bytes.
            etag=f'"{info.st_size:x}-{info.st_mtime_ns:x}"',
            last_modified=datetime.fromtimestamp(info.st_mtime, tz=UTC),
        )

    def iter_bytes(self, key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        path = self._object_path(key)
        if not path.is_file():  # raise before the first next(), so callers can answer 404
            raise MediaNotFoundError(f"No media stored under {key!r}.")
        return self._read_lazily(path, start, stop)

    @staticmethod
    def _read_lazily(path: Path, start: int, stop: int | None) -> Iterator[bytes]:
        # The file is opened by the first next(): a response that is never iterated (a HEAD, a
        # client gone before the body) leaves no open handle behind.
        with path.open("rb") as handle:
            yield from _read_range(handle, start, stop)

    def open_binary(self, key: str) -> BinaryIO:
        try:
            return self._object_path(key).open("rb")
        except FileNotFoundError:
            raise MediaNotFoundError(f"No media stored under {key!r}.") from None

    def delete(self, key: str) -> None:
        for path in (self._partial_path(key), self._object_path(key)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def iter_keys(self) -> Iterator[str]:
        # Any file under either folder counts, even one whose name is not a valid key (put
        # there by hand): a purge must see it, and `delete` will say why it cannot remove it.
        found: set[str] = set()
        for folder in (self._objects, self._partial):
            if folder.is_dir():
                found.update(
                    path.relative_to(folder).as_posix()
                    for path in folder.rglob("*")
                    if not path.is_dir()
                )
        return iter(sorted(found))


def _read_range(handle: IO[bytes], start: int, stop: int | None) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        remaining = None if stop is None else max(0, stop - start)
        while remaining is None or remaining > 0:
            want = READ_PIECE_BYTES if remaining is None else min(READ_PIECE_BYTES, remaining)
            piece = handle.read(want)
            if not piece:
                return
            if remaining is not None:
                remaining -= len(piece)
            yield piece


# --- from settings ---------------------------------------------------------------------------------


def media_store_from_settings(settings: Settings) -> MediaStore:
    """The store the operator chose: `s3://bucket/prefix` in `media_storage_url`, else a folder.

    A `file:///path` URL or a plain path picks a local folder there; empty picks
    `data_dir/media`. S3 credentials come from boto3's usual sources (AWS_* environment, files).
    """
    url = settings.media_storage_url.strip()
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise MediaStoreError(
                f"DIRECTPOST_MEDIA_STORAGE_URL={url!r} names no bucket: use s3://bucket/prefix."
            )
        from directpost.media.s3 import S3MediaStore  # boto3 only when S3 is chosen

        return S3MediaStore(bucket, prefix, settings.s3_endpoint_url or None)
    if url.startswith("file://"):
        return LocalMediaStore(Path(url.removeprefix("file://")))
    if "://" in url:
        raise MediaStoreError(
            f"DIRECTPOST_MEDIA_STORAGE_URL={url!r} is not understood: use s3://bucket/prefix, "
            "file:///path, or leave it empty for a folder in the data directory."
        )
    return LocalMediaStore(Path(url) if url else settings.data_dir / "media")


def copy_to_file(store: MediaStore, key: str, target: IO[bytes]) -> int:
    """Copy a finished object into an open file in 1 MiB pieces; return the bytes copied."""
    copied = 0
    for piece in store.iter_bytes(key):
        target.write(piece)
        copied += len(piece)
    return copied
