"""Upload host (spec §3.3) and processing: the emulator really reads what it receives (spec §4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.emulator.helpers import (
    MIB,
    error_code,
    put_chunk,
    sha256,
    upload_whole,
    video_init_body,
)
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.media_files import make_bad_video, make_video

VIDEO_INIT = "/v2/post/publish/video/init/"
STATUS = "/v2/post/publish/status/fetch/"


def status_of(h: EmulatorHandle, token: str, publish_id: str) -> dict[str, object]:
    answer = h.api(STATUS, token, {"publish_id": publish_id})
    assert error_code(answer) == (200, "ok")
    data: dict[str, object] = answer.json()["data"]
    return data


def test_chunked_upload_answers_206_then_201_with_progress_and_keeps_the_bytes(
    emulator_server: EmulatorHandle, tmp_path: Path
) -> None:
    h = emulator_server
    video = make_video(tmp_path / "v.mp4", seconds=1)
    data = video.read_bytes() + b"\0" * (11 * MIB)  # padding after the moov box stays playable
    chunk = 5 * MIB
    count = len(data) // chunk
    token = h.token("demo-public")
    init = h.api(VIDEO_INIT, token, video_init_body(size=len(data), chunk=chunk, count=count))
    assert error_code(init) == (200, "ok")
    url = init.json()["data"]["upload_url"]
    assert len(url) <= 256
    first = put_chunk(url, data[:chunk], 0, len(data))
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-{chunk - 1}/{len(data)}"
    publish_id = init.json()["data"]["publish_id"]
    assert status_of(h, token, publish_id) == {
        "status": "PROCESSING_UPLOAD",
        "publicaly_available_post_id": [],
        "uploaded_bytes": chunk,
    }
    # The final chunk absorbs the trailing bytes (larger than chunk_size).
    last = put_chunk(url, data[chunk:], chunk, len(data))
    assert last.status_code == 201
    assert last.headers["content-range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    received = h.publish(publish_id)
    assert received["sha256"] == sha256(data)
    assert received["probe"]["video_codec"] == "h264"


def test_out_of_order_chunk_gets_416_with_the_progress_header(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    size = 10 * MIB
    init = h.api(
        VIDEO_INIT, h.token("demo-public"), video_init_body(size=size, chunk=5 * MIB, count=2)
    )
    url = init.json()["data"]["upload_url"]
    skipped = put_chunk(url, b"x" * (5 * MIB), 5 * MIB, size)
    assert skipped.status_code == 416
    assert skipped.headers["content-range"] == f"bytes */{size}"
    assert put_chunk(url, b"x" * (5 * MIB), 0, size).status_code == 206
    repeated = put_chunk(url, b"x" * (5 * MIB), 0, size)
    assert repeated.status_code == 416
    assert repeated.headers["content-range"] == f"bytes 0-{5 * MIB - 1}/{size}"


def test_malformed_chunks_get_400_and_change_nothing(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    size = 10 * MIB
    init = h.api(
        VIDEO_INIT, h.token("demo-public"), video_init_body(size=size, chunk=5 * MIB, count=2)
    )
    url = init.json()["data"]["upload_url"]
    assert put_chunk(url, b"x" * 100, 0, size).status_code == 400  # wrong chunk length
    assert put_chunk(url, b"x" * (5 * MIB), 0, size, content_type="text/plain").status_code == 400
    assert put_chunk(url, b"x" * (5 * MIB), 0, size + 1).status_code == 400  # wrong total
    bad_range = h.client.put(
        url, content=b"x", headers={"Content-Type": "video/mp4", "Content-Range": "0-0"}
    )
    assert bad_range.status_code == 400
    publish_id = init.json()["data"]["publish_id"]
    assert h.publish(publish_id)["uploaded_bytes"] == 0


def test_unknown_or_forged_upload_url_is_404(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    init = h.api(VIDEO_INIT, h.token("demo-public"), video_init_body(size=10))
    url = init.json()["data"]["upload_url"]
    assert put_chunk(url + "x", b"0123456789", 0, 10).status_code == 404
    assert put_chunk(h.base_url + "/upload/video/?upload_id=1", b"0" * 10, 0, 10).status_code == 404


def test_upload_url_expires_after_one_hour_of_emulator_time(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    init = h.api(VIDEO_INIT, h.token("demo-public"), video_init_body(size=10))
    h.control("clock", {"advance_s": 3601})
    answer = put_chunk(init.json()["data"]["upload_url"], b"0123456789", 0, 10)
    assert answer.status_code == 403


def test_dropped_connection_mid_upload_keeps_no_bytes_and_the_upload_resumes(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    size = 10 * MIB
    init = h.api(
        VIDEO_INIT, h.token("demo-public"), video_init_body(size=size, chunk=5 * MIB, count=2)
    )
    url = init.json()["data"]["upload_url"]
    h.control("faults", {"endpoint": "upload", "drop": True, "drop_after_bytes": MIB})
    with pytest.raises(Exception):  # noqa: B017 - any transport error: the connection broke
        put_chunk(url, b"x" * (5 * MIB), 0, size)
    publish_id = init.json()["data"]["publish_id"]
    assert h.publish(publish_id)["uploaded_bytes"] == 0
    assert put_chunk(url, b"x" * (5 * MIB), 0, size).status_code == 206
    h.control("faults", {"endpoint": "upload", "status": 503})
    assert put_chunk(url, b"y" * (5 * MIB), 5 * MIB, size).status_code == 503
    assert put_chunk(url, b"y" * (5 * MIB), 5 * MIB, size).status_code == 201


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: make_video(p, fps=15), "frame_rate_check_failed"),
        (lambda p: make_video(p, width=320, height=240), "picture_size_check_failed"),
        (lambda p: make_video(p, codec="mpeg4", container="mp4"), "file_format_check_failed"),
        (lambda p: make_video(p, container="mkv"), "file_format_check_failed"),
        (lambda p: make_bad_video(p, kind="garbage"), "file_format_check_failed"),
    ],
    ids=["fps", "picture-size", "codec", "container", "garbage"],
)
def test_uploaded_video_breaking_tiktok_rules_fails_with_the_documented_reason(
    emulator_server: EmulatorHandle, tmp_path: Path, make: object, reason: str
) -> None:
    h = emulator_server
    path = make(tmp_path / "clip.bin")  # type: ignore[operator]
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, Path(path).read_bytes())
    data = status_of(h, token, publish_id)
    assert data["status"] == "FAILED"
    assert data["fail_reason"] == reason


def test_video_longer_than_the_creators_maximum_fails_duration_check(
    emulator_server: EmulatorHandle, tmp_path: Path
) -> None:
    h = emulator_server
    h.control("creators", {"open_id": "demo-60s", "max_video_post_duration_sec": 2})
    video = make_video(tmp_path / "long.mp4", seconds=4, fps=24, width=360, height=360)
    token = h.token("demo-60s")
    publish_id = upload_whole(h, token, video.read_bytes())
    assert status_of(h, token, publish_id)["fail_reason"] == "duration_check_failed"
    ok_id = upload_whole(h, h.token("demo-public"), video.read_bytes())
    assert h.wait_for_status(ok_id)["status"] == "PUBLISH_COMPLETE"


def test_good_public_video_from_audited_app_gets_a_19_digit_post_id_as_a_bare_number(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    raw = h.api(STATUS, token, {"publish_id": publish_id}).text
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert data["status"] == "PUBLISH_COMPLETE"
    (post_id,) = data["publicaly_available_post_id"]
    assert isinstance(post_id, int) and len(str(post_id)) == 19 and post_id > 2**53
    assert f'"publicaly_available_post_id":[{post_id}]' in raw


def test_private_or_unaudited_posts_get_no_public_post_id(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    friends = upload_whole(h, token, video_mp4.read_bytes(), privacy="MUTUAL_FOLLOW_FRIENDS")
    assert status_of(h, token, friends)["publicaly_available_post_id"] == []
    h.register_app(audited=False)
    h.control("creators", {"open_id": "demo-public", "private_account": True})
    unaudited = h.token("demo-public")
    hidden = upload_whole(h, unaudited, video_mp4.read_bytes(), privacy="SELF_ONLY")
    data = status_of(h, unaudited, hidden)
    assert data["status"] == "PUBLISH_COMPLETE" and data["publicaly_available_post_id"] == []


def test_upload_is_streamed_to_disk_under_the_data_dir(
    emulator_server: EmulatorHandle, tmp_path: Path
) -> None:
    h = emulator_server
    data = os.urandom(6 * MIB)
    token = h.token("demo-public")
    init = h.api(VIDEO_INIT, token, video_init_body(size=len(data)))
    put_chunk(init.json()["data"]["upload_url"], data, 0, len(data))
    publish_id = init.json()["data"]["publish_id"]
    backend = h.app.state.runtime.backend  # type: ignore[attr-defined]
    stored = backend.publishes[publish_id].media_paths[0]
    assert stored.read_bytes() == data
    assert str(stored).startswith(str(backend.data_dir))
