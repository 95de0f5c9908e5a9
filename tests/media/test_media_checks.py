"""TECH-3 and UX-1c: media is checked against TikTok's limits before anything is sent.

Each check is provoked with a real file made for it; only sizes no test should write (4 GB,
20 MB) and an over-ten-minute video are reached by changing one field of a real file's probe.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from directpost.media.checks import (
    MediaProblem,
    check_photo,
    check_photo_set,
    check_video,
    inspect_photo,
    inspect_video,
)
from directpost.media.probe import probe_image, probe_video
from directpost.rules import limits
from tests.fixtures.media_files import make_bad_video, make_photo, make_video


def codes(problems: list[MediaProblem]) -> list[str]:
    return [p.code for p in problems]


@pytest.mark.parametrize(
    ("codec", "container"),
    [("h264", "mp4"), ("hevc", "mp4"), ("h264", "mov"), ("vp9", "webm"), ("vp8", "webm")],
)
def test_tech3_every_accepted_container_and_codec_passes(
    tmp_path: Path, codec: str, container: str
) -> None:
    path = make_video(tmp_path / f"ok.{container}", codec=codec, container=container, seconds=0.3)  # type: ignore[arg-type]
    assert check_video(probe_video(path), max_duration_s=60) == []


@pytest.mark.parametrize("container", ["mkv", "avi", "3gp"])
def test_tech3_a_container_tiktok_does_not_take_is_refused(tmp_path: Path, container: str) -> None:
    codec = "mpeg4" if container == "avi" else "h264"
    path = make_video(tmp_path / f"clip.{container}", container=container, codec=codec)  # type: ignore[arg-type]
    problems = check_video(probe_video(path), max_duration_s=None)
    assert "video_container" in codes(problems)
    message = next(p.message for p in problems if p.code == "video_container")
    assert "MP4" in message and "upload it again" in message


def test_tech3_a_codec_tiktok_does_not_take_is_refused(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.mp4", codec="mpeg4")
    problems = check_video(probe_video(path), max_duration_s=None)
    assert codes(problems) == ["video_codec"]
    assert "mpeg4" in problems[0].message and "H.264" in problems[0].message


@pytest.mark.parametrize(("fps", "ok"), [(20, False), (23, True), (60, True), (61, False)])
def test_tech3_frame_rate_must_be_23_to_60(tmp_path: Path, fps: int, ok: bool) -> None:
    path = make_video(tmp_path / "clip.mp4", fps=fps, seconds=0.5)
    problems = check_video(probe_video(path), max_duration_s=None)
    assert codes(problems) == ([] if ok else ["video_fps"])
    if not ok:
        assert f"{fps} frames per second" in problems[0].message


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (358, 640, ["video_too_small"]),
        (360, 640, []),
        (4096, 360, []),
        (4098, 360, ["video_too_large"]),
    ],
)
def test_tech3_each_side_must_be_360_to_4096_pixels(
    tmp_path: Path, width: int, height: int, expected: list[str]
) -> None:
    path = make_video(tmp_path / "clip.mp4", width=width, height=height, seconds=0.1)
    assert codes(check_video(probe_video(path), max_duration_s=None)) == expected


def test_tech3_a_file_over_4_gib_is_refused(video_mp4: Path) -> None:
    probe = probe_video(video_mp4)
    at_limit = dataclasses.replace(probe, size_bytes=limits.VIDEO_MAX_BYTES)
    over = dataclasses.replace(probe, size_bytes=limits.VIDEO_MAX_BYTES + 1)
    assert check_video(at_limit, max_duration_s=None) == []
    problems = check_video(over, max_duration_s=None)
    assert codes(problems) == ["video_file_too_big"]
    assert "4.0 GB" in problems[0].message


def test_ux1c_a_video_longer_than_the_creators_maximum_is_refused(tmp_path: Path) -> None:
    path = make_video(tmp_path / "two_seconds.mp4", seconds=2.0)
    probe = probe_video(path)
    problems = check_video(probe, max_duration_s=1)
    assert codes(problems) == ["video_longer_than_creator_max"]
    assert "up to 1 s" in problems[0].message and "Trim" in problems[0].message
    assert check_video(probe, max_duration_s=2) == []


def test_ux1c_a_video_just_over_the_maximum_reads_as_longer_than_it(video_mp4: Path) -> None:
    probe = dataclasses.replace(probe_video(video_mp4), duration_s=60.02)
    problems = check_video(probe, max_duration_s=60)
    assert codes(problems) == ["video_longer_than_creator_max"]
    assert "1 min 0.1 s long" in problems[0].message


def test_tech3_without_a_creator_maximum_ten_minutes_still_applies(video_mp4: Path) -> None:
    probe = probe_video(video_mp4)
    ten = dataclasses.replace(probe, duration_s=float(limits.VIDEO_MAX_DURATION_S))
    longer = dataclasses.replace(probe, duration_s=limits.VIDEO_MAX_DURATION_S + 0.5)
    assert check_video(ten, max_duration_s=None) == []
    assert codes(check_video(longer, max_duration_s=None)) == ["video_too_long"]
    # A creator maximum above TikTok's overall limit does not lift it.
    assert codes(check_video(longer, max_duration_s=3600)) == ["video_too_long"]


def test_a_video_whose_length_or_rate_cannot_be_read_is_refused(video_mp4: Path) -> None:
    probe = dataclasses.replace(probe_video(video_mp4), duration_s=0.0, fps=0.0)
    assert codes(check_video(probe, max_duration_s=60)) == [
        "video_fps_unknown",
        "video_duration_unknown",
    ]


def test_every_problem_of_a_video_is_reported_at_once(tmp_path: Path) -> None:
    path = make_video(
        tmp_path / "bad.avi", container="avi", codec="mpeg4", fps=15, width=320, height=240
    )
    assert codes(check_video(probe_video(path), max_duration_s=None)) == [
        "video_container",
        "video_codec",
        "video_fps",
        "video_too_small",
    ]


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_tech3_jpeg_and_webp_photos_up_to_1080p_pass(tmp_path: Path, fmt: str) -> None:
    for width, height in ((1080, 1920), (1920, 1080), (1080, 1080)):
        path = make_photo(tmp_path / f"p{width}.{fmt.lower()}", width=width, height=height, fmt=fmt)  # type: ignore[arg-type]
        assert check_photo(probe_image(path)) == []


def test_tech3_a_png_photo_is_refused_with_what_to_do(photo_png: Path) -> None:
    problems = check_photo(probe_image(photo_png))
    assert codes(problems) == ["photo_format"]
    assert "PNG" in problems[0].message and "JPEG" in problems[0].message


@pytest.mark.parametrize(("width", "height"), [(1081, 1081), (1080, 1922), (2000, 1000)])
def test_tech3_a_photo_above_1080p_is_refused(tmp_path: Path, width: int, height: int) -> None:
    path = make_photo(tmp_path / "big.jpg", width=width, height=height)
    problems = check_photo(probe_image(path))
    assert codes(problems) == ["photo_too_large"]
    assert f"{width}x{height}" in problems[0].message


def test_tech3_a_photo_over_20_mib_is_refused(photo_jpeg: Path) -> None:
    probe = probe_image(photo_jpeg)
    assert check_photo(dataclasses.replace(probe, size_bytes=limits.PHOTO_MAX_BYTES)) == []
    over = dataclasses.replace(probe, size_bytes=limits.PHOTO_MAX_BYTES + 1)
    assert codes(check_photo(over)) == ["photo_file_too_big"]


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, ["photo_set_empty"]), (1, []), (35, []), (36, ["photo_set_too_many"])],
)
def test_tech3_a_photo_post_holds_1_to_35_photos(count: int, expected: list[str]) -> None:
    assert codes(check_photo_set(count)) == expected


def test_too_many_photos_says_how_many_to_remove() -> None:
    assert "Remove 5" in check_photo_set(40)[0].message


def test_inspect_turns_an_unreadable_file_into_a_problem(tmp_path: Path) -> None:
    probe, problems = inspect_video(make_bad_video(tmp_path / "x.mp4"), max_duration_s=60)
    assert probe is None
    assert codes(problems) == ["video_unreadable"]
    assert "x.mp4" in problems[0].message
    photo_probe, photo_problems = inspect_photo(tmp_path / "x.mp4")
    assert photo_probe is None and codes(photo_problems) == ["photo_unreadable"]


def test_inspect_returns_the_probe_with_its_problems(tmp_path: Path, photo_png: Path) -> None:
    path = make_video(tmp_path / "long.mp4", seconds=1.5)
    probe, problems = inspect_video(path, max_duration_s=1)
    assert probe is not None and probe.container == "mp4"
    assert codes(problems) == ["video_longer_than_creator_max"]
    photo_probe, photo_problems = inspect_photo(photo_png)
    assert photo_probe is not None and codes(photo_problems) == ["photo_format"]
