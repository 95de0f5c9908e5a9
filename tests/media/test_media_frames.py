"""Preview frames for the cover picker and posters; the original bytes never change (UX-5b)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from directpost.media.frames import frame_at_jpeg, photo_thumbnail_jpeg, video_poster_jpeg
from directpost.media.probe import MediaProbeError
from directpost.media.storage import LocalMediaStore
from tests.fixtures.media_files import frame_color, make_bad_video, make_photo, make_video


def mean_color(jpeg: bytes) -> tuple[float, float, float]:
    with Image.open(io.BytesIO(jpeg)) as picture:
        assert picture.format == "JPEG"
        small = picture.convert("RGB").resize((1, 1), Image.Resampling.BOX)
        red, green, blue = small.getpixel((0, 0))  # type: ignore[misc]
        return (float(red), float(green), float(blue))


def assert_close(seen: tuple[float, float, float], expected: tuple[int, int, int]) -> None:
    assert all(abs(a - b) <= 12 for a, b in zip(seen, expected, strict=True)), (seen, expected)


@pytest.mark.parametrize("at_ms", [0, 500, 1200, 1900])
def test_the_frame_shown_is_the_one_at_the_asked_moment(tmp_path: Path, at_ms: int) -> None:
    # Every frame of the test video has its own colour, so the colour tells the moment.
    video = make_video(tmp_path / "clip.mp4", seconds=2.0, fps=25)
    frame_index = int(at_ms / 1000 * 25)
    expected = frame_color(frame_index / 25, 2.0)
    assert_close(mean_color(frame_at_jpeg(video, at_ms=at_ms)), expected)


def test_frames_come_from_webm_too(video_webm: Path) -> None:
    assert_close(mean_color(frame_at_jpeg(video_webm, at_ms=800)), frame_color(24 / 30, 1.0))


@pytest.mark.parametrize("at_ms", [-5, 5000])
def test_a_moment_outside_the_video_gives_the_first_frame_like_tiktok(
    video_mp4: Path, at_ms: int
) -> None:
    assert_close(mean_color(frame_at_jpeg(video_mp4, at_ms=at_ms)), frame_color(0, 1.0))


def test_the_poster_is_the_first_frame_scaled_down(tmp_path: Path) -> None:
    video = make_video(tmp_path / "tall.mp4", width=1080, height=1920, seconds=0.2)
    poster = video_poster_jpeg(video)
    with Image.open(io.BytesIO(poster)) as picture:
        assert picture.size == (405, 720)
    assert_close(mean_color(poster), frame_color(0, 0.2))


def test_ux5b_making_previews_never_changes_the_original(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mov", container="mov", audio=True)
    photo = make_photo(tmp_path / "p.jpg")
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (video, photo)]
    frame_at_jpeg(video, at_ms=300)
    video_poster_jpeg(video)
    photo_thumbnail_jpeg(photo)
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in (video, photo)] == before


def test_frames_can_be_taken_from_a_stored_object(tmp_path: Path, video_mp4: Path) -> None:
    store = LocalMediaStore(tmp_path / "store")
    store.put("c/clip.mp4", video_mp4.read_bytes())
    with store.open_binary("c/clip.mp4") as reader:
        jpeg = frame_at_jpeg(reader, at_ms=500)
    assert_close(mean_color(jpeg), frame_color(15 / 30, 1.0))


def test_a_photo_thumbnail_is_a_small_jpeg(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "p.webp", width=1080, height=1350, fmt="WEBP")
    with Image.open(io.BytesIO(photo_thumbnail_jpeg(photo, max_side=200))) as picture:
        assert (picture.format, picture.size) == ("JPEG", (160, 200))


def test_previews_of_a_bad_file_fail_with_a_clear_reason(tmp_path: Path) -> None:
    bad = make_bad_video(tmp_path / "broken.mp4")
    with pytest.raises(MediaProbeError, match=r"broken\.mp4 could not be read to make a preview"):
        frame_at_jpeg(bad, at_ms=0)
    with pytest.raises(MediaProbeError, match="not a photo"):
        photo_thumbnail_jpeg(bad)
