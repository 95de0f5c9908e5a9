"""Preview pictures: a video's frame at a moment (cover-frame picker), its poster, photo thumbnails.

Previews are new, small JPEGs made for the page; the creator's original bytes are only read, never
changed (UX-5b). A frame is the one on screen at the asked moment, the way TikTok picks a cover
from `video_cover_timestamp_ms`: a moment outside the video gives the first frame, as TikTok does.
"""

from __future__ import annotations

import io
from typing import Any

import av
from PIL import Image, ImageOps

from directpost.media.probe import MediaProbeError, MediaSource, _name_of, _open_target

__all__ = ["frame_at_jpeg", "photo_thumbnail_jpeg", "video_poster_jpeg"]

#: Longest side of a preview unless the caller asks otherwise.
PREVIEW_MAX_SIDE_PX = 720


def _to_jpeg(picture: Image.Image, max_side: int | None, quality: int) -> bytes:
    if max_side is not None:
        picture.thumbnail((max_side, max_side))
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _upright(frame: Any) -> Image.Image:
    picture: Image.Image = frame.to_image()
    # Phones store portrait video as landscape plus a rotation; show it the way players do.
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    if rotation:
        picture = picture.rotate(rotation, expand=True)
    return picture


def frame_at_jpeg(
    source: MediaSource,
    *,
    at_ms: int,
    max_side: int | None = PREVIEW_MAX_SIDE_PX,
    quality: int = 85,
) -> bytes:
    """JPEG of the frame on screen `at_ms` milliseconds into the video.

    Negative moments and moments past the end give the first frame (TikTok's fallback for an
    invalid `video_cover_timestamp_ms`). Raises `MediaProbeError` for an unreadable video.
    """
    name = _name_of(source)
    try:
        with av.open(_open_target(source), mode="r") as box:
            if not box.streams.video:
                raise MediaProbeError(f"{name} has no picture to take a frame from.")
            stream = box.streams.video[0]
            duration_s = box.duration / av.time_base if box.duration else None
            wanted_s = at_ms / 1000
            if at_ms < 0 or (duration_s is not None and wanted_s > duration_s):
                wanted_s = 0.0
            if wanted_s > 0 and stream.time_base is not None:
                start = stream.start_time or 0
                box.seek(start + int(wanted_s / stream.time_base), stream=stream, backward=True)
            chosen = None
            for frame in box.decode(stream):
                if chosen is not None and frame.time is not None and frame.time > wanted_s + 1e-6:
                    break
                chosen = frame
            if chosen is None:
                raise MediaProbeError(f"{name} has no frame that can be decoded.")
            picture = _upright(chosen)
    except av.FFmpegError as exc:
        raise MediaProbeError(
            f"{name} could not be read to make a preview: it is damaged or not a video."
        ) from exc
    return _to_jpeg(picture, max_side, quality)


def video_poster_jpeg(
    source: MediaSource, *, max_side: int | None = PREVIEW_MAX_SIDE_PX, quality: int = 85
) -> bytes:
    """JPEG of the video's first frame: the poster shown before it plays, and TikTok's default cover."""
    return frame_at_jpeg(source, at_ms=0, max_side=max_side, quality=quality)


def photo_thumbnail_jpeg(source: MediaSource, *, max_side: int = 360, quality: int = 85) -> bytes:
    """Small JPEG of a photo for the carousel, turned upright by its EXIF orientation."""
    name = _name_of(source)
    try:
        with Image.open(_open_target(source)) as opened:
            upright = ImageOps.exif_transpose(opened)
            picture = upright if upright is not None else opened.copy()
            return _to_jpeg(picture, max_side, quality)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaProbeError(
            f"{name} could not be read to make a preview: it is damaged or not a photo."
        ) from exc
