"""TikTok's media and caption limits, as constants (spec/tiktok-api.md §3, §4; TECH-2, TECH-3).

Constants only: no I/O, no imports of ours. `directpost.media.checks` compares probed files
against them and `directpost.rules` uses the caption and count limits, so each number lives in
one place. Where TikTok's documents leave room for reading, the comment says which reading we
took and why.
"""

from __future__ import annotations

from typing import Final

# --- video (Media Transfer Guide, "Video restrictions") ------------------------------------------

#: Containers TikTok takes, by the names `media.probe` reports (MP4 recommended).
VIDEO_CONTAINERS: Final = frozenset({"mp4", "mov", "webm"})

#: Codecs TikTok takes, by ffmpeg's names as `media.probe` reports them (H.264 recommended;
#: `hevc` is H.265).
VIDEO_CODECS: Final = frozenset({"h264", "hevc", "vp8", "vp9"})

#: Frames per second, inclusive.
VIDEO_MIN_FPS: Final = 23
VIDEO_MAX_FPS: Final = 60

#: Pixels on each side (width and height alike), inclusive.
VIDEO_MIN_SIDE_PX: Final = 360
VIDEO_MAX_SIDE_PX: Final = 4096

#: Largest video file: 4 GB, read as GiB like the chunk sizes ("MB" = MiB in the guide).
VIDEO_MAX_BYTES: Final = 4 * 1024**3

#: Longest video the API takes at all; each creator's own maximum
#: (`max_video_post_duration_sec` from creator_info) is usually lower and always applies (UX-1c).
VIDEO_MAX_DURATION_S: Final = 600

#: Duration every creator may post (some may post 5 or 10 minutes).
VIDEO_COMMON_DURATION_S: Final = 180

#: MIME type to send with each container on upload (§3.3).
VIDEO_MIME_TYPES: Final = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}

# --- FILE_UPLOAD chunks (§3.3) -------------------------------------------------------------------

CHUNK_MIN_BYTES: Final = 5 * 1024**2
CHUNK_MAX_BYTES: Final = 64 * 1024**2
#: The final chunk may absorb trailing bytes up to this size.
CHUNK_FINAL_MAX_BYTES: Final = 128 * 1024**2
CHUNK_MAX_COUNT: Final = 1000

# --- photos (Media Transfer Guide, "Image restrictions") ------------------------------------------

#: Pillow's format names for the formats TikTok takes (PNG is not among them).
PHOTO_FORMATS: Final = frozenset({"JPEG", "WEBP"})

#: Largest photo file: 20 MB, read as MiB like the rest of the guide.
PHOTO_MAX_BYTES: Final = 20 * 1024**2

#: "Max 1080p": we read it as a 1920x1080 frame in either orientation, so the short side is at
#: most 1080 px and the long side at most 1920 px.
PHOTO_MAX_SHORT_SIDE_PX: Final = 1080
PHOTO_MAX_LONG_SIDE_PX: Final = 1920

#: Photos per post.
PHOTO_MIN_COUNT: Final = 1
PHOTO_MAX_COUNT: Final = 35

#: MIME type to serve with each photo format (PULL_FROM_URL).
PHOTO_MIME_TYPES: Final = {"JPEG": "image/jpeg", "WEBP": "image/webp"}

# --- captions, in UTF-16 code units ("runes") -----------------------------------------------------

VIDEO_TITLE_MAX_UTF16: Final = 2200
PHOTO_TITLE_MAX_UTF16: Final = 90
PHOTO_DESCRIPTION_MAX_UTF16: Final = 4000

# --- transfer --------------------------------------------------------------------------------------

#: TikTok gives up on a PULL_FROM_URL download this long after it starts; a media URL must stay
#: reachable at least this long.
PULL_DOWNLOAD_TIMEOUT_S: Final = 3600

#: An upload_url is valid for this long after init; the whole upload must finish within it.
UPLOAD_URL_TTL_S: Final = 3600

# --- caps (CS caps, API reference; CAP-1, CAP-3, CAP-5) ------------------------------------------

#: Distinct creators an unaudited app may post for in any rolling 24 h (CAP-1).
UNAUDITED_CREATOR_CAP: Final = 5

#: Posts per creator per rolling 24 h: TikTok documents "around 15" (CAP-3).
POSTS_PER_CREATOR_PER_DAY: Final = 15

#: Pending inbox shares (drafts) per creator per rolling 24 h (CAP-5).
PENDING_SHARES_PER_DAY: Final = 5

#: The rolling window every cap counts over, in hours.
CAP_WINDOW_HOURS: Final = 24
