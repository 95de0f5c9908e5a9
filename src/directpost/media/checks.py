"""Check probed media against TikTok's limits (TECH-3) and the creator's maximum duration (UX-1c).

Every check runs before anything is sent to TikTok, and each problem found comes back as a
`MediaProblem` whose message says, in plain words, what is wrong and what the creator can do.
An empty list means the media may go. The numbers live in `directpost.rules.limits`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from directpost.media.probe import (
    ImageProbe,
    MediaProbeError,
    MediaSource,
    VideoProbe,
    probe_image,
    probe_video,
)
from directpost.rules import limits

__all__ = [
    "MediaProblem",
    "check_photo",
    "check_photo_set",
    "check_video",
    "inspect_photo",
    "inspect_video",
]


@dataclass(frozen=True, slots=True)
class MediaProblem:
    """One reason the media cannot be posted as it is."""

    code: str
    """Stable machine-readable name, e.g. `video_codec` or `video_longer_than_creator_max`."""
    message: str
    """What is wrong and what to do, in plain words for the creator."""


def _duration_words(seconds: float) -> str:
    # Rounded up to a tenth, so a video just over a limit never reads as equal to it.
    tenths = math.ceil(round(seconds * 10, 6))
    minutes, rest_tenths = divmod(tenths, 600)
    rest = f"{rest_tenths / 10:g} s"
    if minutes and rest_tenths:
        return f"{minutes} min {rest}"
    if minutes:
        return f"{minutes} min"
    return rest


def _bytes_words(count: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def check_video(probe: VideoProbe, *, max_duration_s: int | None) -> list[MediaProblem]:
    """Every way this video breaks TikTok's video limits or the creator's maximum duration.

    `max_duration_s` is `max_video_post_duration_sec` from this creator's fresh creator_info
    (UX-1c); `None` applies only TikTok's overall limit.
    """
    found: list[MediaProblem] = []
    if probe.container not in limits.VIDEO_CONTAINERS:
        found.append(
            MediaProblem(
                "video_container",
                f"TikTok does not take {probe.container.upper()} files. "
                "Export or save the video as MP4 (or MOV or WebM) and upload it again.",
            )
        )
    if probe.video_codec not in limits.VIDEO_CODECS:
        found.append(
            MediaProblem(
                "video_codec",
                f"The video is encoded with {probe.video_codec}, which TikTok does not take. "
                "Export it with H.264 (or H.265, VP8 or VP9) and upload it again.",
            )
        )
    if probe.fps <= 0:
        found.append(
            MediaProblem(
                "video_fps_unknown",
                "We could not read the video's frame rate. "
                "Export it again at 30 frames per second and upload it again.",
            )
        )
    elif not limits.VIDEO_MIN_FPS <= probe.fps <= limits.VIDEO_MAX_FPS:
        found.append(
            MediaProblem(
                "video_fps",
                f"The video plays at {probe.fps:g} frames per second; TikTok takes "
                f"{limits.VIDEO_MIN_FPS} to {limits.VIDEO_MAX_FPS}. "
                "Export it at 30 frames per second and upload it again.",
            )
        )
    sides = (probe.width, probe.height)
    if min(sides) < limits.VIDEO_MIN_SIDE_PX:
        found.append(
            MediaProblem(
                "video_too_small",
                f"The video is {probe.width}x{probe.height} pixels; each side must be at least "
                f"{limits.VIDEO_MIN_SIDE_PX} pixels. Export it at a higher resolution "
                "(for example 1080x1920) and upload it again.",
            )
        )
    if max(sides) > limits.VIDEO_MAX_SIDE_PX:
        found.append(
            MediaProblem(
                "video_too_large",
                f"The video is {probe.width}x{probe.height} pixels; each side can be at most "
                f"{limits.VIDEO_MAX_SIDE_PX} pixels. Export it at a lower resolution "
                "(for example 1080x1920) and upload it again.",
            )
        )
    if probe.size_bytes > limits.VIDEO_MAX_BYTES:
        found.append(
            MediaProblem(
                "video_file_too_big",
                f"The file is {_bytes_words(probe.size_bytes)}; TikTok takes videos up to "
                f"{_bytes_words(limits.VIDEO_MAX_BYTES)}. Export it at a lower bitrate or "
                "shorten it, then upload it again.",
            )
        )
    found.extend(_duration_problems(probe.duration_s, max_duration_s))
    return found


def _duration_problems(duration_s: float, max_duration_s: int | None) -> list[MediaProblem]:
    if duration_s <= 0:
        return [
            MediaProblem(
                "video_duration_unknown",
                "We could not tell how long the video is, so we cannot check it against your "
                "maximum. Export it again as MP4 (H.264) and upload it again.",
            )
        ]
    allowed = limits.VIDEO_MAX_DURATION_S
    if max_duration_s is not None and max_duration_s < allowed:
        if duration_s > max_duration_s:
            return [
                MediaProblem(
                    "video_longer_than_creator_max",
                    f"The video is {_duration_words(duration_s)} long, and this TikTok account "
                    f"can post videos of up to {_duration_words(max_duration_s)}. "
                    "Trim it and upload it again.",
                )
            ]
        return []
    if duration_s > allowed:
        return [
            MediaProblem(
                "video_too_long",
                f"The video is {_duration_words(duration_s)} long; TikTok takes videos of up to "
                f"{_duration_words(allowed)} through this app. Trim it and upload it again.",
            )
        ]
    return []


def check_photo(probe: ImageProbe) -> list[MediaProblem]:
    """Every way this photo breaks TikTok's photo limits (format, bytes, 1080p)."""
    found: list[MediaProblem] = []
    if probe.format not in limits.PHOTO_FORMATS:
        found.append(
            MediaProblem(
                "photo_format",
                f"TikTok does not take {probe.format or 'this kind of'} photos. "
                "Save it as JPEG (or WebP) and add it again.",
            )
        )
    if probe.size_bytes > limits.PHOTO_MAX_BYTES:
        found.append(
            MediaProblem(
                "photo_file_too_big",
                f"The photo is {_bytes_words(probe.size_bytes)}; TikTok takes photos up to "
                f"{_bytes_words(limits.PHOTO_MAX_BYTES)}. Save it at a lower quality and add "
                "it again.",
            )
        )
    short_side, long_side = sorted((probe.width, probe.height))
    if short_side > limits.PHOTO_MAX_SHORT_SIDE_PX or long_side > limits.PHOTO_MAX_LONG_SIDE_PX:
        found.append(
            MediaProblem(
                "photo_too_large",
                f"The photo is {probe.width}x{probe.height} pixels; TikTok takes photos up to "
                f"1080p ({limits.PHOTO_MAX_LONG_SIDE_PX}x{limits.PHOTO_MAX_SHORT_SIDE_PX} or "
                f"{limits.PHOTO_MAX_SHORT_SIDE_PX}x{limits.PHOTO_MAX_LONG_SIDE_PX}). "
                "Resize it and add it again.",
            )
        )
    return found


def check_photo_set(count: int) -> list[MediaProblem]:
    """Whether a photo post has an allowed number of photos (1 to 35)."""
    if count < limits.PHOTO_MIN_COUNT:
        return [
            MediaProblem(
                "photo_set_empty",
                "A photo post needs at least one photo. Add a photo to post.",
            )
        ]
    if count > limits.PHOTO_MAX_COUNT:
        return [
            MediaProblem(
                "photo_set_too_many",
                f"You chose {count} photos; a TikTok photo post holds up to "
                f"{limits.PHOTO_MAX_COUNT}. Remove {count - limits.PHOTO_MAX_COUNT} and try again.",
            )
        ]
    return []


def inspect_video(
    source: MediaSource, *, max_duration_s: int | None, name: str | None = None
) -> tuple[VideoProbe | None, list[MediaProblem]]:
    """Probe and check a video in one step; an unreadable file becomes a problem, not an error.

    `name`: the file's name as the creator knows it, for the messages (an opened file's own
    name is where the server stores it)."""
    try:
        probe = probe_video(source, name=name)
    except MediaProbeError as exc:
        return None, [MediaProblem("video_unreadable", str(exc))]
    return probe, check_video(probe, max_duration_s=max_duration_s)


def inspect_photo(
    source: MediaSource, *, name: str | None = None
) -> tuple[ImageProbe | None, list[MediaProblem]]:
    """Probe and check a photo in one step; an unreadable file becomes a problem, not an error
    (`name` as in `inspect_video`)."""
    try:
        probe = probe_image(source, name=name)
    except MediaProbeError as exc:
        return None, [MediaProblem("photo_unreadable", str(exc))]
    return probe, check_photo(probe)
