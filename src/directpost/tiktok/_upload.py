"""Chunked FILE_UPLOAD by the Media Transfer Guide: the chunk plan, streamed bodies and resume.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ._actions import Sleep
from ._errors import (
    RequestValidationError,
    ServerError,
    TikTokError,
    TransportError,
    UploadError,
    UploadUrlExpiredError,
)
from ._http import Request, Response

MiB = 1024 * 1024
MIN_CHUNK_SIZE = 5 * MiB
"""Every chunk but a whole-file upload is at least 5 MiB (the guide's "MB" is MiB)."""
MAX_CHUNK_SIZE = 64 * MiB
"""No chunk_size above 64 MiB; files above it must be chunked."""
MAX_LAST_CHUNK_SIZE = 128 * MiB
"""The final chunk absorbs the trailing bytes and may reach 128 MiB."""
MAX_CHUNK_COUNT = 1000
MAX_VIDEO_SIZE = 4 * 1024 * MiB
"""TikTok accepts videos up to 4 GB."""
DEFAULT_CHUNK_SIZE = 16 * MiB
"""Our default for files above 64 MiB: few requests, cheap to resend one chunk."""
READ_SIZE = 256 * 1024
"""Bodies are read from the file this many bytes at a time (at most 1 MiB: memory stays flat).

256 KiB measured cheapest per GiB sent (0.44 CPU-s against 0.49 at 1 MiB and 0.46 at 128 KiB,
same run): a piece still fits in a core's cache between the read and the send, while the
per-piece cost of the HTTP stack stays small."""

_CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}


@dataclass(frozen=True)
class ByteRange:
    """An inclusive, 0-based byte range, as in `Content-Range: bytes first-last/total`."""

    first: int
    last: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class ChunkPlan:
    """How a file of `size` bytes is cut: `chunk_size`, `total_chunk_count` and the ranges."""

    size: int
    chunk_size: int
    total_chunk_count: int
    chunks: tuple[ByteRange, ...]

    def chunk_at(self, offset: int) -> ByteRange:
        """The planned chunk that contains byte `offset`."""
        index = min(offset // self.chunk_size, self.total_chunk_count - 1)
        return self.chunks[index]


def chunk_plan(size: int, chunk_size: int | None = None) -> ChunkPlan:
    """Cut a file of `size` bytes into chunks exactly as TikTok's Media Transfer Guide says.

    Files under 5 MiB go whole. Otherwise chunks are 5–64 MiB, `total_chunk_count =
    floor(size / chunk_size)` (at most 1000) and the last chunk takes the remainder, so it may
    reach 128 MiB. A file of 5–64 MiB goes whole unless a `chunk_size` is given.
    """
    if size < 1:
        raise RequestValidationError("cannot upload an empty file (size must be at least 1 byte)")
    if size > MAX_VIDEO_SIZE:
        raise RequestValidationError(
            f"the file is {size} bytes; TikTok accepts videos up to {MAX_VIDEO_SIZE} bytes (4 GB)"
        )
    if size < MIN_CHUNK_SIZE:
        return ChunkPlan(size, size, 1, (ByteRange(0, size - 1),))
    if chunk_size is None:
        chunk_size = size if size <= MAX_CHUNK_SIZE else DEFAULT_CHUNK_SIZE
    if chunk_size >= size and size <= MAX_CHUNK_SIZE:
        return ChunkPlan(size, size, 1, (ByteRange(0, size - 1),))
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise RequestValidationError(
            f"chunk_size {chunk_size} is outside TikTok's {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE} bytes "
            "(5–64 MiB); files above 64 MiB must be chunked"
        )
    count = size // chunk_size
    if count < 2 and size > MAX_CHUNK_SIZE:
        # floor() would make one chunk above 64 MiB, but files above 64 MiB must be chunked.
        raise RequestValidationError(
            f"chunk_size {chunk_size} would send this {size}-byte file (over 64 MiB) as a single "
            f"chunk; files above 64 MiB must be chunked: use a chunk_size ≤ {size // 2}"
        )
    if count > MAX_CHUNK_COUNT:
        raise RequestValidationError(
            f"{size} bytes in chunks of {chunk_size} makes {count} chunks; TikTok allows at most "
            f"{MAX_CHUNK_COUNT}. Use a larger chunk_size."
        )
    chunks = [ByteRange(i * chunk_size, (i + 1) * chunk_size - 1) for i in range(count - 1)]
    chunks.append(ByteRange((count - 1) * chunk_size, size - 1))
    # The last chunk is chunk_size + (size mod chunk_size) < 2 * 64 MiB = 128 MiB by construction.
    return ChunkPlan(size, chunk_size, count, tuple(chunks))


def content_type_for(name: str) -> str:
    """The upload `Content-Type` for a file name (mp4, mov, webm); MP4 when unknown."""
    return _CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), "video/mp4")


#: File types whose descriptor holds exactly the bytes `read()` returns, with nothing buffered
#: for writing: their ranges can be read by offset (`os.pread`). Wrappers that transform bytes
#: (gzip, tempfile spoolers) expose another file's descriptor and must go through `read`.
_PLAIN_FILES = (io.BufferedReader, io.FileIO)


class StreamBody:
    """A byte range of an open file, produced lazily in reads of at most 1 MiB."""

    def __init__(self, file: BinaryIO, first: int, length: int) -> None:
        self._file = file
        self._first = first
        self._length = length

    def iter_sync(self) -> Iterator[bytes]:
        """Yield the range, from its first byte each time, so a retried request sends the same."""
        if type(self._file) in _PLAIN_FILES and hasattr(os, "pread"):
            return self._iter_pread(self._file.fileno())
        return self._iter_read()

    def _iter_pread(self, fd: int) -> Iterator[bytes]:
        # One read by offset straight into the bytes we yield: no seek, no buffer to copy out of
        # (readinto + bytes() cost a second pass over every byte), and nothing we yield is ever
        # reused, so the HTTP layer may hold a piece as long as it likes. httpx2's h11 sends an
        # exact `bytes` as it is, whereas a memoryview of a reused buffer would be copied there.
        position, end = self._first, self._first + self._length
        while position < end:
            data = os.pread(fd, min(READ_SIZE, end - position), position)
            if not data:
                raise UploadError(
                    f"the file ended {end - position} bytes early; was it changed during the "
                    "upload?"
                )
            position += len(data)
            yield data

    def _iter_read(self) -> Iterator[bytes]:
        # Any other file-like: seek, then read() pieces (each a fresh bytes object).
        self._file.seek(self._first)
        remaining = self._length
        while remaining > 0:
            data = self._file.read(min(READ_SIZE, remaining))
            if not data:
                raise UploadError(
                    f"the file ended {remaining} bytes early; was it changed during the upload?"
                )
            remaining -= len(data)
            yield data

    async def iter_async(self) -> AsyncIterator[bytes]:
        """The same as `iter_sync` for the async client (local disk reads are short)."""
        for data in self.iter_sync():
            yield data


_PROGRESS = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_NOTHING_YET = re.compile(r"bytes\s+\*/\d+")


def progress_readings(resp: Response) -> tuple[int, ...] | None:
    """How many bytes the upload host may hold, by each reading of its progress header.

    TikTok documents `Content-Range: bytes 0-{UPLOADED_BYTES}/{TOTAL}` and calls the number
    "the number of bytes uploaded", while the end of a range is an inclusive byte index
    everywhere else in the same call. So `bytes 0-N/T` holds N + 1 bytes (index) or N (count);
    `bytes */T` holds none. None when there is no readable header.
    """
    header = resp.headers.get("content-range") or resp.headers.get("range")
    if not header:
        return None
    m = _PROGRESS.search(header)
    if m is None:
        return (0,) if _NOTHING_YET.search(header) else None
    last = int(m.group(2))
    return (last + 1, last)


def proven_offset(plan: ChunkPlan, readings: tuple[int, ...], *, refused_at: int | None) -> int:
    """Where to resume: the byte offset the host's header proves under either reading.

    We decide by the chunk plan rather than by trusting one reading: we only ever send whole
    planned chunks, and a host counts a chunk whole or not at all, so what it holds is always a
    chunk boundary (0, a chunk's first byte, or the size). Boundaries are at least 5 MiB apart
    (chunks are), so the two readings, one byte apart, cannot both land on one, except in a
    1-byte file (boundaries 0 and 1). There a 416 breaks the tie: it says the host is not at
    `refused_at`, the offset we just sent from; otherwise the lower reading, held under both.
    A host that reports neither reading on a boundary (one that kept part of a chunk) is sent
    the chunk holding the lower reading again: whole chunks below it are held either way, and
    a host that insists ends in an UploadError once `max_attempts` 416s have passed.
    """
    boundaries = {chunk.first for chunk in plan.chunks} | {plan.size}
    fits = sorted({r for r in readings if r in boundaries})
    if len(fits) > 1 and refused_at in fits:
        fits.remove(refused_at)
    if fits:
        return fits[0]
    low = min(readings)
    return plan.size if low >= plan.size else plan.chunk_at(low).first


def upload_op(
    *,
    upload_url: str,
    file: BinaryIO,
    plan: ChunkPlan,
    content_type: str,
    progress: Callable[[int, int], None] | None,
    max_attempts: int,
    backoff: Callable[[TikTokError, int], float | None],
) -> Generator[Request | Sleep, Response | None, None]:
    """PUT the chunks in order; after a 416, a 5xx or a lost connection resume where the host says.

    Sequential by design: TikTok requires chunks in order. Each PUT is safe to resend, unlike an
    init, so this is the one place that retries by itself.
    """
    offset = 0
    high_water = 0
    failures = 0
    while offset < plan.size:
        if offset > high_water:
            high_water, failures = offset, 0  # the host moved forward: count failures afresh
        chunk = plan.chunk_at(offset)
        first, last = offset, chunk.last
        # https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
        request = Request(
            "PUT",
            upload_url,
            headers={
                "Content-Type": content_type,
                "Content-Length": str(last - first + 1),
                "Content-Range": f"bytes {first}-{last}/{plan.size}",
            },
            body=StreamBody(file, first, last - first + 1),
        )
        error: TikTokError | None = None
        try:
            resp = yield request
        except TransportError as exc:
            error, resp = exc, None
        if resp is not None:
            if resp.status == 201:
                offset = plan.size
                if progress is not None:
                    progress(plan.size, plan.size)
                return
            if resp.status == 206:
                readings = progress_readings(resp)
                offset = (
                    last + 1 if readings is None else proven_offset(plan, readings, refused_at=None)
                )
                if offset <= first:  # "accepted" but the host holds nothing new
                    failures += 1
                    if failures >= max_attempts:
                        raise UploadError(
                            f"the upload host keeps answering 206 without progress at byte {first}",
                            http_status=206,
                        )
                    continue
                if progress is not None:
                    progress(offset, plan.size)
                continue
            if resp.status == 403:
                raise UploadUrlExpiredError(
                    "the upload host answered 403: the upload_url has expired (it is valid one "
                    "hour); this publish id will not receive its bytes",
                    http_status=403,
                )
            if resp.status == 416:
                readings = progress_readings(resp)
                if readings is None:
                    raise UploadError(
                        "the upload host answered 416 without telling how far it got; "
                        "cannot resume",
                        http_status=416,
                    )
                reported = proven_offset(plan, readings, refused_at=first)
                if reported >= plan.size:
                    if progress is not None:
                        progress(plan.size, plan.size)
                    return
                offset = reported
                failures += 1
                if failures >= max_attempts:
                    raise UploadError(
                        f"the upload host kept answering 416 at byte {offset}", http_status=416
                    )
                continue
            if resp.status >= 500:
                error = ServerError(
                    http_status=resp.status, code=f"http_{resp.status}", message="upload host error"
                )
                readings = progress_readings(resp)
                if readings is not None:
                    offset = proven_offset(plan, readings, refused_at=None)
            else:
                raise UploadError(
                    f"the upload host refused bytes {first}-{last}/{plan.size} with HTTP "
                    f"{resp.status}: {resp.content[:200].decode('utf-8', 'replace')}",
                    http_status=resp.status,
                )
        assert error is not None
        failures += 1
        delay = backoff(error, failures) if failures < max_attempts else None
        if delay is None:
            raise UploadError(
                f"gave up on bytes {first}-{last}/{plan.size} after {failures} failures: {error}",
                http_status=getattr(error, "http_status", None),
            ) from error
        yield Sleep(delay)
    if progress is not None:
        progress(plan.size, plan.size)
