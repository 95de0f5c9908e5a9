"""Processing: the emulator really reads the media it receives, as TikTok does (spec §4).

``judge_video``/``judge_photos`` are pure checks over files on disk (run in a worker thread);
``pull`` downloads PULL_FROM_URL media with progress, the 1-hour timeout and cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import hashlib
import io
from pathlib import Path
from typing import Any

import anyio
import av

from directpost.media.probe import MediaProbeError, probe_image, probe_video

from . import _outbound
from .backend import Backend
from .sample_video import is_sample_video_url, sample_video_bytes
from .state import Publish

VIDEO_CONTAINERS = frozenset({"mp4", "mov", "webm"})
VIDEO_CODECS = frozenset({"h264", "hevc", "h265", "vp8", "vp9"})
PHOTO_FORMATS = frozenset({"JPEG", "WEBP"})
MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_API_DURATION_S = 600


def judge_video(path: Path, max_duration_s: int) -> tuple[str | None, dict[str, Any] | None]:
    """The fail_reason TikTok would give this video (None when it passes) and what was read."""
    try:
        probe = probe_video(path)
    except MediaProbeError as exc:
        return "file_format_check_failed", {"error": str(exc)}
    found = dataclasses.asdict(probe)
    if probe.container not in VIDEO_CONTAINERS or probe.video_codec not in VIDEO_CODECS:
        return "file_format_check_failed", found
    if not 23 <= probe.fps <= 60:
        return "frame_rate_check_failed", found
    if not (360 <= probe.width <= 4096 and 360 <= probe.height <= 4096):
        return "picture_size_check_failed", found
    if probe.duration_s > min(max_duration_s, MAX_API_DURATION_S) + 0.5:
        return "duration_check_failed", found
    return None, found


def judge_photos(paths: list[Path]) -> tuple[str | None, dict[str, Any] | None]:
    """The fail_reason for a set of photos: JPEG/WebP, ≤ 20 MB, at most 1080p (short side)."""
    found: list[dict[str, Any]] = []
    for path in paths:
        try:
            probe = probe_image(path)
        except MediaProbeError as exc:
            return "file_format_check_failed", {"images": found, "error": str(exc)}
        found.append(dataclasses.asdict(probe))
        if probe.format not in PHOTO_FORMATS:
            return "file_format_check_failed", {"images": found}
        too_big = min(probe.width, probe.height) > 1080 or max(probe.width, probe.height) > 1920
        if probe.size_bytes > MAX_PHOTO_BYTES or too_big:
            return "picture_size_check_failed", {"images": found}
    return None, {"images": found}


def cover_jpeg(path: Path, at_ms: int) -> bytes:
    """A video's cover as a JPEG: the frame at ``at_ms`` (the first one when out of range),
    as TikTok picks it from ``video_cover_timestamp_ms``."""
    image = None
    try:
        with av.open(str(path)) as box:
            frame: Any
            for frame in box.decode(box.streams.video[0]):
                if image is not None and (frame.time or 0) * 1000 > at_ms:
                    break
                image = frame.to_image()
    except (av.FFmpegError, IndexError) as exc:
        raise MediaProbeError(f"the video cannot be read: {exc}") from exc
    if image is None:
        raise MediaProbeError("the video has no frame to show")
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=80)
    return out.getvalue()


def sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while piece := handle.read(1024 * 1024):
                digest.update(piece)
    return digest.hexdigest()


#: Verdicts by (content digest, media type, max duration): the same bytes always get the same
#: verdict, and probing a video with PyAV was a third of the emulator's CPU when a test bench
#: posted one file a thousand times. Bounded; the oldest verdict goes first.
_VERDICTS: dict[tuple[str, str, int], tuple[str | None, dict[str, Any] | None]] = {}
_VERDICTS_KEPT = 256


async def judge(backend: Backend, publish: Publish) -> None:
    """Probe the publish's media in a worker thread and let the backend plan what follows."""
    creator = backend.creators.get(publish.open_id)
    max_duration = creator.max_video_post_duration_sec if creator else MAX_API_DURATION_S
    paths = list(publish.media_paths)
    if publish.sha256 is None:  # whoever received the media did not hash it on the way
        publish.sha256 = await anyio.to_thread.run_sync(sha256_of, paths)
    key = (publish.sha256, publish.media_type, max_duration) if publish.sha256 else None
    verdict = _VERDICTS.get(key) if key else None
    if verdict is None:
        if publish.media_type == "VIDEO":
            verdict = await anyio.to_thread.run_sync(judge_video, paths[0], max_duration)
        else:
            verdict = await anyio.to_thread.run_sync(judge_photos, paths)
        if key:
            if len(_VERDICTS) >= _VERDICTS_KEPT:
                del _VERDICTS[next(iter(_VERDICTS))]
            _VERDICTS[key] = verdict
    reason, found = verdict
    backend.media_processed(publish, reason, copy.deepcopy(found))


async def pull(backend: Backend, publish: Publish) -> None:
    """Download every URL of a PULL_FROM_URL publish, then judge the media."""
    generation = backend.generation
    photo = publish.media_type == "PHOTO"
    failure = "photo_pull_failed" if photo else "video_pull_failed"

    def gone() -> bool:
        return backend.generation != generation or publish.is_final

    fault = backend.take_fault("pull")
    if fault is not None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.error or fault.status or fault.drop:
            if not gone():
                backend.fail_now(publish, failure)
            return
    limit = MAX_PHOTO_BYTES * 2 if photo else backend.config.max_video_bytes
    deadline = (publish.download_started_at or backend.now()) + backend.config.pull_timeout_s
    paths: list[Path] = []

    def overdue() -> bool:
        return backend.now() > deadline

    async def fetch_all() -> None:
        for index, url in enumerate(publish.urls):
            path = backend.media_path(publish, index)
            paths.append(path)
            with path.open("wb") as handle:

                def sink(piece: bytes, handle: Any = handle) -> None:
                    if gone():
                        raise _outbound.PullFailed("the publish ended while downloading")
                    if overdue():
                        raise _outbound.PullFailed("the 1-hour download window passed")
                    handle.write(piece)
                    publish.downloaded_bytes += len(piece)

                if is_sample_video_url(url) and not photo:
                    # TikTok's own sample (spec §4): made here, nothing leaves the machine.
                    sample = await anyio.to_thread.run_sync(sample_video_bytes)
                    sink(sample)
                    continue
                await _outbound.download(
                    url, sink, max_bytes=limit, timeout_s=backend.config.pull_timeout_s
                )

    # A stalled server sends nothing, so the sink alone cannot notice a cancel or the end of
    # the 1-hour window (emulator time): watch the download and abort it, closing the socket.
    download = asyncio.ensure_future(fetch_all())
    try:
        while not download.done():
            await asyncio.wait({download}, timeout=backend.config.tick_interval_s)
            if not download.done() and (gone() or overdue()):
                download.cancel()
                with contextlib.suppress(asyncio.CancelledError, _outbound.PullFailed):
                    await download
                raise _outbound.PullFailed("cancelled or past the 1-hour download window")
        download.result()
    except _outbound.PullFailed:
        if not gone():
            backend.fail_now(publish, failure)
        return
    finally:
        if not download.done():  # this task itself was cancelled (reset, shutdown)
            download.cancel()
    if gone():
        return
    publish.media_paths = paths
    publish.sha256 = await anyio.to_thread.run_sync(sha256_of, paths)
    if gone():
        return
    await judge(backend, publish)
