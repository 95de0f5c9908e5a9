"""Real media files for the audit's browser to upload, made on the spot with PyAV and Pillow.

The screenshots and the walk-through show the Post page with a real upload (preview, cover
picker, carousel), so the files must pass the app's checks (TECH-3): an H.264 MP4 at 30 fps with
sides of at least 360 px, and JPEG photos.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw


def _frame(width: int, height: int, share: float, caption: str) -> Image.Image:
    """A frame whose colour moves with time, so the cover picker visibly changes the frame."""
    red = round(40 + 180 * share)
    picture = Image.new("RGB", (width, height), (red, 90, 220 - round(160 * share)))
    draw = ImageDraw.Draw(picture)
    size = width // 3
    left = round((width - size) * share)
    draw.ellipse((left, height // 3, left + size, height // 3 + size), fill=(250, 250, 250))
    draw.text((16, 16), caption, fill=(255, 255, 255))
    return picture


def make_clip(path: Path, *, seconds: float = 2.0, width: int = 540, height: int = 960) -> Path:
    """An H.264 MP4 of `seconds` at 30 fps (portrait, like most TikTok videos)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(30)
    frames = round(seconds * 30)
    with av.open(str(path), mode="w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=rate, options={"preset": "ultrafast"})
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        pictures = (
            _frame(width, height, index / max(frames - 1, 1), "my own clip")
            for index in range(frames)
        )
        write_frames(box, stream, pictures, rate)
    return path


def write_frames(box: Any, stream: Any, pictures: Iterable[Image.Image], rate: Fraction) -> None:
    """Encode `pictures` one per frame at `rate` into `stream`, mux them into `box`, flush."""
    for index, picture in enumerate(pictures):
        frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
        frame.pts = index
        frame.time_base = 1 / rate
        for packet in stream.encode(frame):
            box.mux(packet)
    for packet in stream.encode(None):
        box.mux(packet)


def make_photo(path: Path, *, share: float = 0.3, caption: str = "my own photo") -> Path:
    """A 1080x1080 JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _frame(1080, 1080, share, caption).save(path, format="JPEG", quality=85)
    return path
