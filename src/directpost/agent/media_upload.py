"""A local media file sent to the app through the API's resumable chunk protocol.

Announce the file (`POST /uploads`), send its bytes in chunks (`PUT .../files/{id}?offset=N`),
and have the app check it (`POST .../finish`). The app accepts a chunk only where its stored
bytes end and answers 409 with the offset to continue from otherwise; after a dropped
connection the upload's status says the same. So a retry never sends a byte twice or skips one,
and memory holds one chunk at a time whatever the file's size.
"""

from __future__ import annotations

import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import anyio.to_thread

from directpost.agent.app_api import ApiRefused, AppApi, AppUnreachable

#: What the app takes (rules/limits.py, docs/requirements.md TECH-3): the app probes the bytes,
#: so the suffix only picks the kind of post and the announced type.
VIDEO_TYPES: Final = {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}
PHOTO_TYPES: Final = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
CHUNK_BYTES: Final = 8 * 1024 * 1024
#: Dropped connections or out-of-place chunks in a row before giving up.
MAX_SETBACKS: Final = 5

Progress = Callable[[int, int], Awaitable[None]]


class MediaRefused(Exception):
    """The local file cannot be uploaded; the message says why and what to do."""


def media_kind(path: Path) -> tuple[str, str]:
    """("video" or "photos", the MIME type to announce) for the file's suffix."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_TYPES:
        return "video", VIDEO_TYPES[suffix]
    if suffix in PHOTO_TYPES:
        return "photos", PHOTO_TYPES[suffix]
    raise MediaRefused(
        f"{path.name} is not a kind of file TikTok takes: give a video (.mp4, .mov, .webm) or "
        "a photo (.jpg, .jpeg, .webp)."
    )


def local_file(raw: str) -> tuple[Path, int]:
    """The regular file at `raw` (with ~ expanded) and its size; refuses anything else."""
    if not raw.strip() or "\x00" in raw:
        raise MediaRefused("Give the path of a media file on this machine.")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MediaRefused(f"There is no file at {path}.") from None
    except OSError as exc:
        raise MediaRefused(f"Cannot read {path} ({exc.strerror or type(exc).__name__}).") from None
    if stat.S_ISDIR(info.st_mode):
        raise MediaRefused(f"{path} is a folder, not a file: give the path of one media file.")
    if not stat.S_ISREG(info.st_mode):
        raise MediaRefused(f"{path} is not a regular file (a device, a pipe or a socket).")
    if info.st_size == 0:
        raise MediaRefused(f"{path} is empty.")
    return path, info.st_size


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)


async def _held(api: AppApi, upload_id: str) -> int:
    """How many bytes of the (single) file the app holds now."""
    status = await api.upload_status(upload_id)
    return int(status["files"][0]["received"])


async def upload_file(
    api: AppApi,
    *,
    account_id: int,
    raw_path: str,
    chunk_bytes: int = CHUNK_BYTES,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Upload one local video or photo for `account_id` and have the app check it; the upload
    as the app answers it (state "ready" or "rejected", with problems in plain words)."""
    path, size = local_file(raw_path)
    kind, content_type = media_kind(path)
    try:
        readable = await anyio.to_thread.run_sync(_read_at, path, 0, 1)
    except OSError as exc:
        raise MediaRefused(f"Cannot read {path} ({exc.strerror or type(exc).__name__}).") from None
    if not readable:
        raise MediaRefused(f"{path} is empty.")
    announced = await api.announce_upload(
        account_id=account_id,
        kind=kind,
        files=[{"name": path.name, "size": size, "type": content_type}],
    )
    upload_id = str(announced["id"])
    file_id = str(announced["files"][0]["id"])
    offset = int(announced["files"][0]["received"])
    setbacks = 0
    while offset < size:
        data = await anyio.to_thread.run_sync(
            _read_at, path, offset, min(chunk_bytes, size - offset)
        )
        if not data:
            raise MediaRefused(
                f"{path} became shorter while it was being uploaded: upload it again once "
                "nothing writes to it."
            )
        try:
            answer = await api.send_chunk(upload_id, file_id, offset=offset, data=data)
        except ApiRefused as refused:
            # 409: not where the app's bytes end (or complete already): continue from there.
            if refused.status != 409 or refused.received is None or setbacks >= MAX_SETBACKS:
                raise
            setbacks += 1
            offset = refused.received
            continue
        except AppUnreachable:
            if setbacks >= MAX_SETBACKS:
                raise
            setbacks += 1
            offset = await _held(api, upload_id)
            continue
        setbacks = 0
        offset = int(answer["received"])
        if progress is not None:
            await progress(offset, size)
    finished: dict[str, Any] = await api.finish_upload(upload_id)
    return finished
