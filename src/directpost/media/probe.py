"""Read what a media file really is: container, codec, size, frame rate, duration.

A leaf module: it imports nothing else of directpost, so the emulator can use it to judge the
bytes it receives exactly as the app does (architecture.md). It only reads; it never changes a
byte of the file (UX-5b).

`probe_video(source)` and `probe_image(source)` take a path or a seekable binary file object
and answer a frozen dataclass, or raise `MediaProbeError` whose message says what is wrong with
the file and what the creator can do about it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import av
from PIL import Image, UnidentifiedImageError

__all__ = [
    "ImageProbe",
    "MediaProbeError",
    "MediaSource",
    "VideoProbe",
    "probe_image",
    "probe_video",
]

#: A path on disk or an open, seekable binary file.
MediaSource = str | os.PathLike[str] | IO[bytes]

# Decoding a whole image to prove it is intact is bounded to this many pixels; larger images are
# refused by the photo checks anyway, so only their header is read.
_FULL_DECODE_MAX_PIXELS = 40_000_000


class MediaProbeError(ValueError):
    """The file cannot be read as the kind of media expected; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What a video file holds, as far as TikTok's requirements are concerned."""

    container: str
    """`mp4`, `mov`, `webm`, or another demuxer name (`matroska`, `avi`, ...) for other formats."""
    video_codec: str
    """ffmpeg's codec name of the first video stream: `h264`, `hevc`, `vp8`, `vp9`, ..."""
    width: int
    """Coded picture width in pixels."""
    height: int
    """Coded picture height in pixels."""
    fps: float
    """Average frames per second (0.0 when the file does not say)."""
    duration_s: float
    """Playing time in seconds (0.0 when the file does not say)."""
    size_bytes: int
    """Size of the file in bytes."""
    has_audio: bool
    """Whether the file has at least one sound stream."""


@dataclass(frozen=True, slots=True)
class ImageProbe:
    """What a still image holds."""

    format: str
    """Pillow's format name: `JPEG`, `WEBP`, `PNG`, `GIF`, ..."""
    width: int
    """Width in pixels."""
    height: int
    """Height in pixels."""
    size_bytes: int
    """Size of the file in bytes."""


def _name_of(source: MediaSource) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return str(getattr(source, "name", "the file"))


def _size_of(source: MediaSource) -> int:
    if isinstance(source, str | os.PathLike):
        try:
            return os.stat(source).st_size
        except OSError as exc:
            raise MediaProbeError(
                f"{Path(source).name}: the file cannot be opened ({exc.strerror}). "
                "Check that it exists and try choosing it again."
            ) from exc
    position = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(position)
    return size


def _open_target(source: MediaSource) -> Any:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    source.seek(0)
    return source


def _container_name(box: Any, source: MediaSource) -> str:
    """Tell MP4 from MOV and WebM from Matroska, which ffmpeg's demuxers lump together."""
    demuxer = str(box.format.name)
    if demuxer.startswith("mov,mp4"):
        brand = str(box.metadata.get("major_brand", "")).strip().lower()
        if brand == "qt":
            return "mov"
        if brand.startswith(("3gp", "3g2")):
            return "3gp"  # a phone format TikTok does not list
        return "mp4"
    if demuxer.startswith("matroska"):
        head = _read_head(source, 64)
        return "webm" if b"webm" in head else "matroska"
    return demuxer.split(",")[0]


def _read_head(source: MediaSource, count: int) -> bytes:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            return handle.read(count)
    position = source.tell()
    source.seek(0)
    head = source.read(count)
    source.seek(position)
    return head


def probe_video(source: MediaSource, *, name: str | None = None) -> VideoProbe:
    """Read a video's container, codec, size, frame rate, duration and whether it has sound.

    Raises `MediaProbeError` when the file is empty, is not a video, is damaged or incomplete,
    or has no picture.
    """
    name = name or _name_of(source)  # the creator's file name, never where it is stored
    size = _size_of(source)
    if size == 0:
        raise MediaProbeError(
            f"{name} is empty (0 bytes). The upload may have been interrupted: choose the file again."
        )
    try:
        box = av.open(_open_target(source), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaProbeError(
            f"{name} could not be read as a video: it is damaged, incomplete, or not a video file. "
            "Export it again as MP4 (H.264) and try once more."
        ) from exc
    try:
        container = _container_name(box, source)
        pictures = [s for s in box.streams.video if s.codec_context is not None]
        if not pictures:
            raise MediaProbeError(
                f"{name} has no picture (only sound or data). Choose a video file with an image track."
            )
        stream = pictures[0]
        codec = stream.codec_context.name
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if width <= 0 or height <= 0:
            raise MediaProbeError(
                f"{name}: the size of its picture cannot be read. Export it again as MP4 (H.264)."
            )
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if box.duration is not None and box.duration > 0:
            duration = box.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        # Decoding one picture proves the stream is usable, not just its header.
        try:
            next(box.decode(stream))
        except (StopIteration, av.FFmpegError) as exc:
            raise MediaProbeError(
                f"{name} is damaged: its pictures cannot be decoded. "
                "Export it again as MP4 (H.264) and try once more."
            ) from exc
        has_audio = len(box.streams.audio) > 0
    finally:
        box.close()
    return VideoProbe(
        container=container,
        video_codec=codec,
        width=width,
        height=height,
        fps=round(fps, 3),
        duration_s=round(duration, 3),
        size_bytes=size,
        has_audio=has_audio,
    )


def probe_image(source: MediaSource, *, name: str | None = None) -> ImageProbe:
    """Read a still image's format, size in pixels and size in bytes.

    Raises `MediaProbeError` when the file is empty, not an image, or damaged.
    """
    name = name or _name_of(source)  # the creator's file name, never where it is stored
    size = _size_of(source)
    if size == 0:
        raise MediaProbeError(
            f"{name} is empty (0 bytes). The upload may have been interrupted: choose the photo again."
        )
    target = _open_target(source)
    try:
        with warnings.catch_warnings():
            # Huge pictures are refused by the photo checks with a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(target) as picture:
                fmt = str(picture.format or "")
                width, height = picture.size
                if width * height <= _FULL_DECODE_MAX_PIXELS:
                    picture.load()
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise MediaProbeError(
            f"{name} could not be read as a photo. Save it as JPEG or WebP and try again."
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaProbeError(
            f"{name} is damaged or incomplete. Save it again as JPEG or WebP and try once more."
        ) from exc
    return ImageProbe(format=fmt, width=int(width), height=int(height), size_bytes=size)
