"""The upload host's rules: which publish an upload URL is for, and what chunk comes next.

Holds ``upload_target`` (404 and 403), ``expect_chunk`` (Content-Type, Content-Range, chunk sizes,
416 out of order), the progress header and where received media is kept. Follows spec §3.3
(``PUT {upload_url}``); the route is in ``emulator/upload_host.py``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..state import Publish
from .core import Core

VIDEO_UPLOAD_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})


@dataclass
class ChunkPlan:
    """What the upload host expects next for one publish."""

    offset: int
    length: int
    final: bool


class UploadRefused(Exception):
    """An upload-host refusal: an HTTP status with a short plain-text reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UploadsMixin(Core):
    """Checking upload URLs and chunks."""

    # ------------------------------------------------------------------ upload host

    def upload_target(self, upload_id: str | None, upload_token: str | None) -> Publish:
        """The publish an upload URL belongs to; raises UploadRefused with 404/403."""
        publish_id = self.uploads.get(upload_id or "")
        publish = self.publishes.get(publish_id or "")
        if publish is None or publish.upload_token is None:
            raise UploadRefused(404, "No upload task for this upload_url.")
        if not secrets.compare_digest(publish.upload_token, upload_token or ""):
            raise UploadRefused(404, "No upload task for this upload_url.")
        if self.now() > publish.upload_expires_at:
            raise UploadRefused(403, "This upload_url has expired (valid for one hour).")
        return publish

    def expect_chunk(
        self,
        publish: Publish,
        content_type: str | None,
        content_range: str | None,
        content_length: str | None,
    ) -> ChunkPlan:
        """Check a PUT's headers against the chunk rules and the upload's progress."""
        if publish.status != "PROCESSING_UPLOAD" or publish.media_ready:
            raise UploadRefused(416, "This upload is already complete.")
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime not in VIDEO_UPLOAD_TYPES:
            raise UploadRefused(
                400, "Content-Type must be video/mp4, video/quicktime or video/webm."
            )
        try:
            unit, _, spec = (content_range or "").partition(" ")
            span, _, total_s = spec.partition("/")
            first_s, _, last_s = span.partition("-")
            first, last, total = int(first_s), int(last_s), int(total_s)
        except ValueError:
            raise UploadRefused(
                400, "Content-Range must look like 'bytes FIRST-LAST/TOTAL'."
            ) from None
        if unit != "bytes" or first < 0 or last < first:
            raise UploadRefused(400, "Content-Range must look like 'bytes FIRST-LAST/TOTAL'.")
        if total != publish.video_size:
            raise UploadRefused(
                400, f"TOTAL must be the video_size given at init ({publish.video_size})."
            )
        length = last - first + 1
        if content_length is None or not content_length.isdigit() or int(content_length) != length:
            raise UploadRefused(400, "Content-Length must equal the size of the Content-Range.")
        if first != publish.uploaded_bytes:
            raise UploadRefused(
                416, f"Expected the chunk starting at byte {publish.uploaded_bytes}."
            )
        index = publish.chunks_received
        final = index == publish.total_chunk_count - 1
        expected_len = publish.video_size - first if final else publish.chunk_size
        if length != expected_len:
            raise UploadRefused(
                400,
                f"Chunk {index + 1} of {publish.total_chunk_count} must be {expected_len} bytes.",
            )
        return ChunkPlan(offset=first, length=length, final=final)

    def chunk_received(self, publish: Publish, plan: ChunkPlan) -> None:
        publish.uploaded_bytes = plan.offset + plan.length
        publish.chunks_received += 1

    def progress_header(self, publish: Publish) -> str:
        """The ``Content-Range`` progress header, in the configured reading of spec §3.3.

        TikTok documents ``bytes 0-{UPLOADED_BYTES}/{TOTAL}`` and calls the number "the bytes
        uploaded", while a range's end is an inclusive byte index elsewhere in the same call. By
        default the emulator sends the index (``*`` before any byte); ``bytes_uploaded`` sends
        the count as written, so a client can be tried against both readings.
        """
        received, total = publish.uploaded_bytes, publish.video_size
        if self.config.upload_progress_header == "bytes_uploaded":
            return f"bytes 0-{received}/{total}"
        if received == 0:
            return f"bytes */{total}"
        return f"bytes 0-{received - 1}/{total}"

    def media_path(self, publish: Publish, index: int = 0) -> Path:
        folder = (
            self.data_dir / "media" / hashlib.sha256(publish.publish_id.encode()).hexdigest()[:32]
        )
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{index}.bin"
