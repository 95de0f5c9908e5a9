"""TikTok's verification-free sample video for PULL_FROM_URL, served without the network.

TikTok's Media Transfer Guide names one TikTok-hosted video that can be pulled "without any
verification" to try PULL_FROM_URL (spec §4). The emulator accepts that URL from any app (no
verified prefix needed) and, instead of downloading it, hands the pull a video it makes itself:
a real 3-minute H.264 MP4 (360×640, 24 fps, one flat colour), as long as TikTok's file is said
to be, so a creator whose maximum is shorter sees `duration_check_failed` as with TikTok's.
"""

from __future__ import annotations

import io
from fractions import Fraction
from functools import cache
from typing import Any
from urllib.parse import unquote

import av
from PIL import Image

#: The URL as the Media Transfer Guide prints it (the `[[` is part of TikTok's path).
SAMPLE_VIDEO_URL = "https://sf16-va.tiktokcdn.com/obj/eden-va2/uvpapzpbxjH-aulauvJ-WV[[/ljhwZthlaukjlkulzlp/3min.mp4"
SAMPLE_SECONDS = 180
_FPS = 24
_WIDTH, _HEIGHT = 360, 640


def is_sample_video_url(url: str) -> bool:
    """Whether ``url`` is the sample, as printed or with its brackets percent-encoded."""
    return url == SAMPLE_VIDEO_URL or unquote(url) == SAMPLE_VIDEO_URL


@cache
def sample_video_bytes() -> bytes:
    """The stand-in for TikTok's sample (made once per process, ~0.1 s).

    One second of video is encoded (a key frame, then frames that repeat it) and its packets are
    written 180 times with shifted timestamps: a real, decodable 3-minute file for the price of
    24 encoded frames.
    """
    rate = Fraction(_FPS)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as box:
        stream = box.add_stream(
            "libx264",
            rate=rate,
            options={
                "preset": "ultrafast",
                # Every second starts with a key frame and stands alone, so it can be repeated.
                "x264-params": f"keyint={_FPS}:min-keyint={_FPS}:scenecut=0:bframes=0",
            },
        )
        stream.width, stream.height, stream.pix_fmt = _WIDTH, _HEIGHT, "yuv420p"
        stream.codec_context.time_base = 1 / rate
        picture = Image.new("RGB", (_WIDTH, _HEIGHT), (37, 244, 238))
        frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
        second: list[tuple[bytes, bool, int, int]] = []
        for index in range(_FPS):
            frame.pts = index
            second += [_packet_parts(p) for p in stream.encode(frame)]
        second += [_packet_parts(p) for p in stream.encode(None)]
        for offset in range(0, SAMPLE_SECONDS * _FPS, _FPS):
            for data, key, pts, dts in second:
                packet = av.Packet(data)
                packet.stream = stream
                packet.time_base = 1 / rate
                packet.pts, packet.dts = pts + offset, dts + offset
                packet.is_keyframe = key
                box.mux(packet)
    return out.getvalue()


def _packet_parts(packet: Any) -> tuple[bytes, bool, int, int]:
    return bytes(packet), bool(packet.is_keyframe), int(packet.pts or 0), int(packet.dts or 0)
