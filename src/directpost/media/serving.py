"""Serve a stored object over HTTP the way TikTok's downloader needs it (TECH-2).

`serve_media(request, store, key)` answers GET and HEAD with Content-Length, Accept-Ranges,
ETag and Last-Modified; a single byte range gets 206 with Content-Range, a range beyond the end
gets 416 with `Content-Range: bytes */size`. It never redirects (TikTok treats a 3xx as a failed
pull) and never transforms the bytes (UX-5b). The body streams from the store in pieces of at
most 1 MiB, so memory does not grow with the file.

`on_last_byte`, when given, is called (in a worker thread) once a GET's body has been sent
through the file's last byte: the caller records that TikTok got the whole file.

The caller (the web part) decides *whether* to serve: it resolves the per-attempt token to a
key, checks expiry and revocation, and answers 404 itself when the URL is not (or no longer)
valid.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import PurePosixPath

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from directpost.media.storage import MediaStore, StoredObject

__all__ = [
    "ByteRange",
    "content_type_for",
    "http_date",
    "media_response",
    "parse_range",
    "serve_media",
]

log = logging.getLogger(__name__)

_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".png": "image/png",
}
_SINGLE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


def content_type_for(filename: str) -> str:
    """The media type to send for a file name (by extension); unknown -> octet-stream."""
    return _CONTENT_TYPES.get(PurePosixPath(filename).suffix.lower(), "application/octet-stream")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes `start` up to and including `end` of an object (`end` < size)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, or None to send the whole object.

    None also for a header we do not serve as a range (bad syntax, other units, several ranges),
    which HTTP allows us to ignore. Raises `ValueError` when the range cannot be satisfied.
    """
    if not header:
        return None
    match = _SINGLE_RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise ValueError("empty suffix range")
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid (last < first): ignore, as HTTP says
    end = size - 1 if not last else min(int(last), size - 1)
    if start >= size:
        raise ValueError("range starts past the end")
    return ByteRange(start, end)


def http_date(moment: datetime) -> str:
    """`moment` as an HTTP date (`Wed, 02 Dec 2026 11:25:03 GMT`).

    Stores hand out aware datetimes in whatever time zone their library chose (botocore's
    `LastModified` carries dateutil's `tzutc()`, which `format_datetime(usegmt=True)` refuses:
    every pull from S3 answered 500), so the moment is converted to `datetime.UTC` here, where
    the header is made; a naive one is taken as UTC, as the stores write them.
    """
    return format_datetime(_as_utc(moment), usegmt=True)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _if_range_holds(header: str | None, found: StoredObject) -> bool:
    """A Range only applies if If-Range (when sent) still names these exact bytes."""
    if not header:
        return True
    value = header.strip()
    if value.startswith(("W/", '"')):
        return value == found.etag  # strong comparison: weak tags never match
    try:
        # A date without a zone (an obsolete form) is GMT, as every HTTP date is.
        given = _as_utc(parsedate_to_datetime(value))
        return given >= _as_utc(found.last_modified).replace(microsecond=0)
    except (TypeError, ValueError):
        return False


def _etag_listed(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag.removeprefix("W/") in tags


def media_response(
    store: MediaStore,
    found: StoredObject,
    *,
    method: str,
    headers: dict[str, str],
    filename: str | None = None,
    content_type: str | None = None,
    on_last_byte: Callable[[], None] | None = None,
) -> Response:
    """Build the response for `found` (already looked up) given the request's method and headers.

    `headers` keys are lower case (`range`, `if-range`, `if-none-match`).
    """
    method = method.upper()
    base = {
        "accept-ranges": "bytes",
        "etag": found.etag,
        "last-modified": http_date(found.last_modified),
        "content-type": content_type or content_type_for(filename or found.key),
        # Per-attempt URLs expire: nothing may keep a copy, and nothing may alter the bytes.
        "cache-control": "private, no-store, no-transform",
        "x-content-type-options": "nosniff",
    }
    if method not in {"GET", "HEAD"}:
        return Response(
            "Only GET and HEAD are allowed here.\n",
            status_code=405,
            headers={"allow": "GET, HEAD"},
            media_type="text/plain",
        )
    if _etag_listed(headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers={k: base[k] for k in ("etag", "cache-control")})
    size = found.size_bytes
    wanted: ByteRange | None = None
    if _if_range_holds(headers.get("if-range"), found):
        try:
            wanted = parse_range(headers.get("range"), size)
        except ValueError:
            return Response(
                f"The requested range is outside the file, which has {size} bytes.\n",
                status_code=416,
                headers={"content-range": f"bytes */{size}", "accept-ranges": "bytes"},
                media_type="text/plain",
            )
    if wanted is None:
        status, start, stop = 200, 0, size
    else:
        status, start, stop = 206, wanted.start, wanted.end + 1
        base["content-range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    base["content-length"] = str(stop - start)
    if method == "HEAD":
        return Response(status_code=status, headers=base)
    body = store.iter_bytes(found.key, start, stop)
    if on_last_byte is not None and stop == size:
        body = _then(body, on_last_byte)
    return StreamingResponse(body, status_code=status, headers=base)


def _then(chunks: Iterator[bytes], done: Callable[[], None]) -> Iterator[bytes]:
    """The chunks, then `done()` once the last one was taken: a client that went away earlier
    stops the iteration, and `done` is not called."""
    yield from chunks
    try:
        done()
    except Exception:  # a record that could not be written must not break the transfer
        log.exception("recording a completed media transfer failed")


async def serve_media(
    request: Request,
    store: MediaStore,
    key: str,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    on_last_byte: Callable[[], None] | None = None,
) -> Response:
    """Answer a GET/HEAD for the object under `key`; 404 when it is not stored.

    Store calls run in a worker thread, so a slow disk or S3 never blocks the event loop.
    """
    found = await run_in_threadpool(store.stat, key)
    if found is None:
        return Response("No such media.\n", status_code=404, media_type="text/plain")
    # Opening the body (a GET to S3) is blocking too.
    return await run_in_threadpool(
        lambda: media_response(
            store,
            found,
            method=request.method,
            headers={k.lower(): v for k, v in request.headers.items()},
            filename=filename,
            content_type=content_type,
            on_last_byte=on_last_byte,
        )
    )
