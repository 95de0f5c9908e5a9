"""TECH-2: `upload_file` resumes from the offset the host's progress header proves, whichever way
the host reads TikTok's `Content-Range: bytes 0-{UPLOADED_BYTES}/{TOTAL}`.

The emulator serves either reading (`upload_progress_header`: the last byte's index, or the count
of bytes as the docs word it); the library must resume an interrupted upload under both, against
the real emulator server, and never by trusting one reading.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from directpost.emulator import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET
from directpost.tiktok import FileUploadSource, TikTokClient, VideoPostInfo, chunk_plan
from directpost.tiktok._http import Response
from directpost.tiktok._upload import progress_readings, proven_offset
from tests.fixtures.emulator import EmulatorHandle

MiB = 1024 * 1024
CHUNK = 5 * MiB
SIZE = 3 * CHUNK + 321  # three chunks, the last one 321 bytes longer
READINGS = ["last_byte_index", "bytes_uploaded"]


class Interrupted(Exception):
    """Stands for a crash of the uploading process after some chunks were accepted."""


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "clip.mp4"
    path.write_bytes(os.urandom(SIZE))
    return path


def _client(h: EmulatorHandle) -> TikTokClient:
    base = h.base_url.rstrip("/")
    return TikTokClient(
        client_key=DEMO_CLIENT_KEY,
        client_secret=DEMO_CLIENT_SECRET,
        auth_base_url=base,
        api_base_url=base,
    )


def _upload_puts(h: EmulatorHandle) -> int:
    return sum(1 for r in h.control("requests", method="GET")["requests"] if r["method"] == "PUT")


@pytest.mark.parametrize("reading", READINGS)
def test_tech2_an_interrupted_upload_resumes_at_the_first_chunk_the_host_lacks(
    emulator_server: EmulatorHandle, video: Path, reading: str
) -> None:
    h = emulator_server
    h.control("config", {"upload_progress_header": reading})
    token = h.token()
    with _client(h) as first_run:
        init = first_run.init_video(
            access_token=token,
            post_info=VideoPostInfo(privacy_level="SELF_ONLY", title="resume #test"),
            source=FileUploadSource.for_size(SIZE, CHUNK),
        )
        assert init.upload_url is not None

        def crash_after_two_chunks(sent: int, total: int) -> None:
            if sent >= 2 * CHUNK:
                raise Interrupted

        with pytest.raises(Interrupted):
            first_run.upload_file(
                upload_url=init.upload_url,
                file=video,
                chunk_size=CHUNK,
                progress=crash_after_two_chunks,
            )
    assert h.publish(init.publish_id)["uploaded_bytes"] == 2 * CHUNK
    puts_before = _upload_puts(h)
    seen: list[int] = []
    with _client(h) as second_run:  # a fresh process: it knows the upload_url, not the progress
        second_run.upload_file(
            upload_url=init.upload_url,
            file=video,
            chunk_size=CHUNK,
            progress=lambda sent, total: seen.append(sent),
        )
    # Chunk 1 again (refused with 416 and the progress header), then only chunk 3.
    assert _upload_puts(h) - puts_before == 2
    assert seen == [SIZE]
    received = h.publish(init.publish_id)  # hashed before the last chunk's 201
    assert received["uploaded_bytes"] == SIZE
    assert received["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()


@pytest.mark.parametrize("reading", READINGS)
def test_tech2_a_whole_upload_reads_every_206_under_either_reading(
    emulator_server: EmulatorHandle, video: Path, reading: str
) -> None:
    h = emulator_server
    h.control("config", {"upload_progress_header": reading})
    with _client(h) as client:
        init = client.init_video(
            access_token=h.token(),
            post_info=VideoPostInfo(privacy_level="SELF_ONLY"),
            source=FileUploadSource.for_size(SIZE, CHUNK),
        )
        assert init.upload_url is not None
        seen: list[int] = []
        client.upload_file(
            upload_url=init.upload_url,
            file=video,
            chunk_size=CHUNK,
            progress=lambda sent, total: seen.append(sent),
        )
    assert seen == [CHUNK, 2 * CHUNK, SIZE]
    assert _upload_puts(h) == 3  # no chunk sent twice


def _answer(status: int, header: str) -> Response:
    return Response(status=status, headers={"content-range": header})


@pytest.mark.parametrize("held_chunks", [0, 1, 2, 3])
def test_both_readings_of_the_header_prove_the_same_chunk_boundary(held_chunks: int) -> None:
    plan = chunk_plan(SIZE, CHUNK)
    held = SIZE if held_chunks == 3 else held_chunks * CHUNK
    as_index = f"bytes */{SIZE}" if held == 0 else f"bytes 0-{held - 1}/{SIZE}"
    as_count = f"bytes 0-{held}/{SIZE}"
    for header in (as_index, as_count):
        readings = progress_readings(_answer(416, header))
        assert readings is not None
        assert proven_offset(plan, readings, refused_at=None) == held


def test_a_one_byte_file_is_told_apart_by_the_offset_the_416_refused() -> None:
    plan = chunk_plan(1)
    readings = progress_readings(_answer(416, "bytes 0-0/1"))  # all of it, or nothing
    assert readings is not None
    assert proven_offset(plan, readings, refused_at=0) == 1  # 416 at 0: the host is not at 0
    assert proven_offset(plan, readings, refused_at=None) == 0  # otherwise the lower one


def test_a_host_reporting_part_of_a_chunk_is_sent_that_whole_chunk_again() -> None:
    plan = chunk_plan(SIZE, CHUNK)
    readings = progress_readings(_answer(416, f"bytes 0-{CHUNK + 1000}/{SIZE}"))
    assert readings is not None
    assert proven_offset(plan, readings, refused_at=0) == CHUNK
