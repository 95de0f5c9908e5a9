"""`upload_file`: sequential streamed chunks, resume after 416 / 5xx / drops, expired URLs."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directpost.tiktok import UploadError, UploadUrlExpiredError, chunk_plan

from .conftest import Driven
from .fake_tiktok import FakeTikTok, Fault

MiB = 1024 * 1024
SIZE = 23 * MiB + 12_345  # four 5 MiB chunks, the last one larger
CHUNK = 5 * MiB


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "clip.mp4"
    path.write_bytes(os.urandom(SIZE))
    return path


class ReadRecorder(io.RawIOBase):
    """A file object that records the size of every read (memory must stay flat)."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("rb")
        self.read_sizes: list[int] = []
        self.name = str(path)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.read_sizes.append(size)
        return self._f.read(size)

    def readinto(self, buffer: memoryview) -> int:
        self.read_sizes.append(len(buffer))
        return self._f.readinto(buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()
        super().close()


def _puts(fake: FakeTikTok) -> list[dict[str, Any]]:
    return [r.headers for r in fake.requests if r.method == "PUT"]


def test_tech2_chunks_go_in_order_with_content_range_and_the_content_type(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    url = fake.new_upload("u1", SIZE)
    seen: list[tuple[int, int]] = []
    tk.upload_file(
        upload_url=url, file=video, chunk_size=CHUNK, progress=lambda a, b: seen.append((a, b))
    )
    plan = chunk_plan(SIZE, CHUNK)
    headers = _puts(fake)
    assert [h["content-range"] for h in headers] == [
        f"bytes {c.first}-{c.last}/{SIZE}" for c in plan.chunks
    ]
    assert [int(h["content-length"]) for h in headers] == [c.length for c in plan.chunks]
    assert {h["content-type"] for h in headers} == {"video/mp4"}
    assert all("authorization" not in h for h in headers)
    assert fake.uploads["u1"].data.getvalue() == video.read_bytes()
    assert seen == [(c.last + 1, SIZE) for c in plan.chunks]


def test_upload_reads_the_file_at_most_one_mib_at_a_time(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    url = fake.new_upload("u2", SIZE)
    recorder = ReadRecorder(video)
    with recorder:
        tk.upload_file(upload_url=url, file=recorder, chunk_size=CHUNK, content_type="video/webm")
    assert recorder.read_sizes and max(recorder.read_sizes) <= MiB
    assert all(s > 0 for s in recorder.read_sizes)  # never "read everything" (-1)
    assert _puts(fake)[0]["content-type"] == "video/webm"
    assert fake.uploads["u2"].data.getvalue() == video.read_bytes()


def test_an_expired_upload_url_is_its_own_error(tk: Driven, fake: FakeTikTok, video: Path) -> None:
    url = fake.new_upload("u3", SIZE)
    fake.uploads["u3"].expired = True
    with pytest.raises(UploadUrlExpiredError, match="expired"):
        tk.upload_file(upload_url=url, file=video, chunk_size=CHUNK)
    assert fake.uploads["u3"].puts == 1


def test_an_unknown_upload_task_is_an_upload_error_without_retries(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    with pytest.raises(UploadError, match="HTTP 404"):
        tk.upload_file(upload_url="http://upload.test/upload/nope/", file=video, chunk_size=CHUNK)
    assert len(_puts(fake)) == 1


def test_upload_errors_never_show_the_upload_token(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    url = fake.new_upload("u4", SIZE)
    fake.faults = [Fault("500", 0) for _ in range(10)]
    with pytest.raises(UploadError) as info:
        tk.upload_file(upload_url=url, file=video, chunk_size=CHUNK, max_attempts=3)
    assert "secret-token" not in str(info.value)
    assert len(_puts(fake)) == 3


faults = st.lists(
    st.tuples(
        st.sampled_from(["416", "500", "drop_before", "drop_after"]),
        st.integers(min_value=0, max_value=SIZE - 1),
    ),
    max_size=4,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(injected=faults)
def test_tech2_upload_resumes_after_failures_at_random_offsets_and_delivers_the_file_once(
    tk: Driven, fake: FakeTikTok, video: Path, injected: list[tuple[str, int]]
) -> None:
    upload_id = f"h{len(fake.uploads)}"
    url = fake.new_upload(upload_id, SIZE)
    fake.faults = [Fault(kind, at) for kind, at in injected]
    tk.upload_file(upload_url=url, file=video, chunk_size=CHUNK)
    task = fake.uploads[upload_id]
    assert task.complete
    received = task.data.getvalue()
    assert len(received) == SIZE
    assert hashlib.sha256(received).digest() == hashlib.sha256(video.read_bytes()).digest()


def test_a_host_that_accepts_without_progress_does_not_loop_forever(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    for _ in range(10):
        fake.reply("/upload-stuck/", 206, b"", {"Content-Range": f"bytes */{SIZE}"})
    with pytest.raises(UploadError, match="without progress"):
        tk.upload_file(
            upload_url="http://upload.test/upload-stuck/",
            file=video,
            chunk_size=CHUNK,
            max_attempts=3,
        )


class ReadOnlyFile:
    """A minimal file-like with read/seek/tell but no readinto (the library's fallback path)."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)
        self.read_sizes: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.read_sizes.append(size)
        return self._f.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


def test_a_file_object_without_readinto_is_streamed_with_bounded_reads(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    url = fake.new_upload("u-plain", SIZE)
    plain = ReadOnlyFile(video.read_bytes())
    tk.upload_file(upload_url=url, file=plain, size=SIZE, chunk_size=CHUNK)  # type: ignore[arg-type]
    assert plain.read_sizes and max(plain.read_sizes) <= MiB
    assert fake.uploads["u-plain"].data.getvalue() == video.read_bytes()


def test_a_file_on_disk_is_read_by_offset_in_pieces_of_at_most_one_mib(
    tk: Driven, fake: FakeTikTok, video: Path
) -> None:
    url = fake.new_upload("u-pread", SIZE)
    with mock.patch("os.pread", autospec=True, side_effect=os.pread) as pread:
        tk.upload_file(upload_url=url, file=video, chunk_size=CHUNK)
    sizes = [c.args[1] for c in pread.call_args_list]
    assert sizes and max(sizes) <= MiB
    assert sum(sizes) == SIZE  # every byte read once: no read-ahead held in memory
    assert fake.uploads["u-pread"].data.getvalue() == video.read_bytes()


def test_a_wrapper_over_another_files_descriptor_is_read_through_its_own_read(
    tk: Driven, fake: FakeTikTok, tmp_path: Path
) -> None:
    # GzipFile.fileno() is the compressed file's: reading that descriptor by offset would send
    # the compressed bytes. Only plain files are read by descriptor.
    data = os.urandom(MiB + 123)
    packed = tmp_path / "clip.mp4.gz"
    with gzip.open(packed, "wb") as out:
        out.write(data)
    url = fake.new_upload("u-gzip", len(data))
    with gzip.open(packed, "rb") as unpacked:
        tk.upload_file(upload_url=url, file=unpacked, size=len(data))
    assert fake.uploads["u-gzip"].data.getvalue() == data
