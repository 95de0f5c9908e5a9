"""probe_video / probe_image read real files made by the test media makers."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import pytest

from directpost.media.probe import (
    ImageProbe,
    MediaProbeError,
    VideoProbe,
    probe_image,
    probe_video,
)
from tests.fixtures.media_files import make_bad_video, make_photo, make_video


def test_probe_reads_an_h264_mp4(video_mp4: Path) -> None:
    probe = probe_video(video_mp4)
    assert probe == VideoProbe(
        container="mp4",
        video_codec="h264",
        width=640,
        height=360,
        fps=30.0,
        duration_s=pytest.approx(1.0, abs=0.05),  # type: ignore[arg-type]
        size_bytes=video_mp4.stat().st_size,
        has_audio=False,
    )


def test_probe_tells_webm_from_matroska(video_webm: Path, tmp_path: Path) -> None:
    assert probe_video(video_webm).container == "webm"
    assert probe_video(video_webm).video_codec == "vp9"
    mkv = make_video(tmp_path / "clip.mkv", container="mkv")
    assert probe_video(mkv).container == "matroska"


def test_probe_tells_mov_from_mp4_and_sees_sound(video_mov: Path) -> None:
    probe = probe_video(video_mov)
    assert probe.container == "mov"
    assert probe.has_audio is True


@pytest.mark.parametrize(
    ("codec", "container", "expected_container"),
    [
        ("hevc", "mp4", "mp4"),
        ("vp8", "webm", "webm"),
        ("mpeg4", "avi", "avi"),
        ("h264", "3gp", "3gp"),
    ],
)
def test_probe_reports_each_codec_and_container(
    tmp_path: Path, codec: str, container: str, expected_container: str
) -> None:
    path = make_video(
        tmp_path / f"clip.{container}",
        codec=codec,  # type: ignore[arg-type]
        container=container,  # type: ignore[arg-type]
        seconds=0.3,
    )
    probe = probe_video(path)
    assert (probe.video_codec, probe.container) == (codec, expected_container)


def test_probe_reports_frame_rate_size_and_duration_as_made(tmp_path: Path) -> None:
    path = make_video(tmp_path / "odd.mp4", seconds=2.0, fps=24, width=480, height=854)
    probe = probe_video(path)
    assert (probe.width, probe.height, probe.fps) == (480, 854, 24.0)
    assert probe.duration_s == pytest.approx(2.0, abs=0.05)


def test_probe_reads_a_file_object_as_well_as_a_path(video_mp4: Path) -> None:
    from_path = probe_video(video_mp4)
    with video_mp4.open("rb") as handle:
        assert probe_video(handle) == from_path
    assert probe_video(io.BytesIO(video_mp4.read_bytes())) == from_path


def test_probe_never_changes_the_file(video_mov: Path) -> None:
    # UX-5b: reading media must leave its bytes exactly as given.
    before = hashlib.sha256(video_mov.read_bytes()).hexdigest()
    probe_video(video_mov)
    assert hashlib.sha256(video_mov.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("garbage", "could not be read as a video"),
        ("truncated", "could not be read as a video"),
        ("empty", "is empty"),
        ("audio_only", "has no picture"),
    ],
)
def test_probe_refuses_a_bad_video_with_a_clear_reason(
    tmp_path: Path, kind: str, words: str
) -> None:
    path = make_bad_video(tmp_path / f"{kind}.mp4", kind=kind)  # type: ignore[arg-type]
    with pytest.raises(MediaProbeError, match=words) as caught:
        probe_video(path)
    assert f"{kind}.mp4" in str(caught.value)


def test_probe_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaProbeError, match="cannot be opened"):
        probe_video(tmp_path / "nowhere.mp4")


def test_probe_results_are_frozen(video_mp4: Path) -> None:
    probe = probe_video(video_mp4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        probe.width = 1  # type: ignore[misc]


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_probe_reads_each_photo_format(tmp_path: Path, fmt: str) -> None:
    path = make_photo(tmp_path / f"p.{fmt.lower()}", width=800, height=600, fmt=fmt)  # type: ignore[arg-type]
    assert probe_image(path) == ImageProbe(
        format=fmt, width=800, height=600, size_bytes=path.stat().st_size
    )


def test_probe_refuses_a_photo_that_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"not a picture at all" * 10)
    with pytest.raises(MediaProbeError, match="could not be read as a photo"):
        probe_image(path)


def test_probe_refuses_a_cut_off_photo(photo_jpeg: Path) -> None:
    data = photo_jpeg.read_bytes()
    photo_jpeg.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaProbeError, match="damaged or incomplete"):
        probe_image(photo_jpeg)


def test_probe_refuses_an_empty_photo(tmp_path: Path) -> None:
    path = tmp_path / "empty.webp"
    path.write_bytes(b"")
    with pytest.raises(MediaProbeError, match="is empty"):
        probe_image(path)
