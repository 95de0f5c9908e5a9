"""MediaStore: resumable writes, ranged streaming reads, delete — on a folder and on real S3."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from directpost.config import Settings
from directpost.media.s3 import S3_MIN_PART_BYTES, S3MediaStore
from directpost.media.storage import (
    READ_PIECE_BYTES,
    InvalidKeyError,
    LocalMediaStore,
    MediaNotFoundError,
    MediaStore,
    MediaStoreError,
    OffsetMismatchError,
    copy_to_file,
    media_store_from_settings,
)
from tests.media.conftest import S3_CREDENTIALS, s3_client


def blob(size: int, seed: int = 7) -> bytes:
    """Deterministic, non-repeating-looking bytes of a given size."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def read_all(store: MediaStore, key: str, start: int = 0, stop: int | None = None) -> bytes:
    return b"".join(store.iter_bytes(key, start, stop))


def test_a_chunked_upload_reads_back_byte_for_byte(media_store: MediaStore) -> None:
    data = blob(300_000)
    offset = 0
    for start in range(0, len(data), 70_000):
        offset = media_store.append("u/clip.mp4", offset, data[start : start + 70_000])
    assert offset == len(data)
    assert media_store.stat("u/clip.mp4") is None  # not readable before finalize
    done = media_store.finalize("u/clip.mp4", expected_size=len(data))
    assert done.size_bytes == len(data)
    assert read_all(media_store, "u/clip.mp4") == data
    assert media_store.upload_size("u/clip.mp4") is None


def test_a_chunk_at_the_wrong_offset_is_refused_and_says_where_to_resume(
    media_store: MediaStore,
) -> None:
    media_store.append("clip.mp4", 0, b"a" * 1000)
    with pytest.raises(OffsetMismatchError) as caught:
        media_store.append("clip.mp4", 500, b"b" * 10)
    assert caught.value.expected == 1000
    assert "Resume from byte 1000" in str(caught.value)
    # Nothing was lost or added by the refused chunk.
    assert media_store.upload_size("clip.mp4") == 1000


def test_an_interrupted_upload_resumes_from_the_size_the_store_reports(
    media_store: MediaStore,
) -> None:
    data = blob(50_000)
    media_store.append("clip.mp4", 0, data[:20_000])
    # The client lost track (crash, dropped connection): it asks the store where to go on.
    resume_at = media_store.upload_size("clip.mp4")
    assert resume_at == 20_000
    media_store.append("clip.mp4", resume_at, io.BytesIO(data[resume_at:]))
    media_store.finalize("clip.mp4")
    assert read_all(media_store, "clip.mp4") == data


def test_finalize_refuses_a_size_other_than_what_was_received(media_store: MediaStore) -> None:
    media_store.append("clip.mp4", 0, b"x" * 10)
    with pytest.raises(OffsetMismatchError):
        media_store.finalize("clip.mp4", expected_size=11)
    assert media_store.upload_size("clip.mp4") == 10


def test_finalize_twice_answers_the_same_object(media_store: MediaStore) -> None:
    media_store.append("clip.mp4", 0, b"x" * 10)
    first = media_store.finalize("clip.mp4")
    assert media_store.finalize("clip.mp4") == first


def test_finalize_without_an_upload_is_a_clear_error(media_store: MediaStore) -> None:
    with pytest.raises(MediaNotFoundError, match="start it again"):
        media_store.finalize("never.mp4")


def test_a_finished_object_cannot_be_appended_to(media_store: MediaStore) -> None:
    media_store.put("clip.mp4", b"final bytes")
    with pytest.raises(MediaStoreError, match="already finished"):
        media_store.append("clip.mp4", 0, b"more")
    assert read_all(media_store, "clip.mp4") == b"final bytes"


@pytest.mark.parametrize(
    ("start", "stop"), [(0, 1), (10, 20), (999, 1000), (0, None), (400, None), (5, 5)]
)
def test_ranged_reads_give_exactly_the_bytes_asked_for(
    media_store: MediaStore, start: int, stop: int | None
) -> None:
    data = blob(1000)
    media_store.put("p.jpg", data)
    assert read_all(media_store, "p.jpg", start, stop) == data[start:stop]


def test_reads_stream_in_pieces_of_at_most_one_mib(media_store: MediaStore) -> None:
    data = blob(3 * READ_PIECE_BYTES + 123)
    media_store.put("big.mp4", io.BytesIO(data))
    pieces = list(media_store.iter_bytes("big.mp4"))
    assert max(len(p) for p in pieces) <= READ_PIECE_BYTES
    assert len(pieces) >= 4
    assert b"".join(pieces) == data


def test_the_seekable_reader_reads_anywhere(media_store: MediaStore) -> None:
    data = blob(20_000)
    media_store.put("clip.mp4", data)
    with media_store.open_binary("clip.mp4") as reader:
        reader.seek(-100, os.SEEK_END)
        assert reader.read() == data[-100:]
        reader.seek(1234)
        assert reader.read(10) == data[1234:1244]


def test_etag_is_stable_for_the_same_bytes_and_changes_with_new_ones(
    media_store: MediaStore,
) -> None:
    first = media_store.put("a.jpg", b"one")
    assert media_store.stat("a.jpg") == first
    second = media_store.put("a.jpg", b"other bytes")
    assert second.etag != first.etag
    assert second.size_bytes == len(b"other bytes")


def test_delete_removes_objects_and_unfinished_uploads(media_store: MediaStore) -> None:
    media_store.put("done.mp4", b"done")
    media_store.append("half.mp4", 0, b"half")
    media_store.delete("done.mp4")
    media_store.delete("half.mp4")
    media_store.delete("never-was.mp4")
    assert media_store.stat("done.mp4") is None
    assert media_store.upload_size("half.mp4") is None
    with pytest.raises(MediaNotFoundError):
        read_all(media_store, "done.mp4")
    with pytest.raises(MediaNotFoundError):
        media_store.open_binary("done.mp4")


def test_an_empty_object_can_be_stored_and_read(media_store: MediaStore) -> None:
    done = media_store.put("empty.bin", b"")
    assert done.size_bytes == 0
    assert read_all(media_store, "empty.bin") == b""


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs", "a//b", ".hidden", "a/../b", "sp ace", "", "a\\b"]
)
def test_unsafe_keys_are_refused(media_store: MediaStore, key: str) -> None:
    with pytest.raises(InvalidKeyError, match="not a valid media key"):
        media_store.append(key, 0, b"x")


def test_local_store_keeps_nothing_outside_its_root(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    store.put("creator-1/video.mp4", b"bytes")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / "media" / "objects" / "creator-1" / "video.mp4"]


def test_s3_store_turns_many_small_chunks_into_valid_multipart_parts(
    s3_store: S3MediaStore,
) -> None:
    data = blob(2 * S3_MIN_PART_BYTES + 777)
    offset = 0
    step = 3 * 1024 * 1024
    for start in range(0, len(data), step):
        offset = s3_store.append("big.mp4", offset, data[start : start + step])
        assert s3_store.upload_size("big.mp4") == offset
    s3_store.finalize("big.mp4", expected_size=len(data))
    assert hashlib.sha256(read_all(s3_store, "big.mp4")).digest() == hashlib.sha256(data).digest()
    # Nothing of the unfinished upload is left behind in the bucket.
    listing = s3_store.client.list_objects_v2(Bucket=s3_store.bucket)
    assert [o["Key"] for o in listing.get("Contents", [])] == ["uploads/big.mp4"]


def test_s3_upload_resumes_from_another_process(s3_store: S3MediaStore, s3_endpoint: str) -> None:
    data = blob(S3_MIN_PART_BYTES + 10_000)
    s3_store.append("clip.mp4", 0, data[:S3_MIN_PART_BYTES])  # becomes a part
    s3_store.append("clip.mp4", S3_MIN_PART_BYTES, data[S3_MIN_PART_BYTES : S3_MIN_PART_BYTES + 10])
    # A second server process, with no memory of the first, picks the upload up.
    other = S3MediaStore(s3_store.bucket, "uploads", s3_endpoint, client=s3_client(s3_endpoint))
    held = other.upload_size("clip.mp4")
    assert held == S3_MIN_PART_BYTES + 10
    other.append("clip.mp4", held, data[held:])
    other.finalize("clip.mp4")
    assert read_all(s3_store, "clip.mp4") == data


def test_copy_to_file_writes_the_whole_object(media_store: MediaStore, tmp_path: Path) -> None:
    data = blob(5000)
    media_store.put("c.mp4", data)
    with (tmp_path / "copy.mp4").open("wb") as target:
        assert copy_to_file(media_store, "c.mp4", target) == 5000
    assert (tmp_path / "copy.mp4").read_bytes() == data


def test_settings_choose_a_folder_in_the_data_directory_by_default(tmp_path: Path) -> None:
    store = media_store_from_settings(Settings(data_dir=tmp_path, media_storage_url=""))
    assert isinstance(store, LocalMediaStore)
    assert store.root == tmp_path / "media"
    other = media_store_from_settings(Settings(media_storage_url=f"file://{tmp_path}/elsewhere"))
    assert isinstance(other, LocalMediaStore) and other.root == tmp_path / "elsewhere"


def test_settings_choose_s3_with_bucket_prefix_and_endpoint(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", S3_CREDENTIALS["region_name"])
    s3_client(s3_endpoint).create_bucket(Bucket="from-settings")
    store = media_store_from_settings(
        Settings(media_storage_url="s3://from-settings/app/media", s3_endpoint_url=s3_endpoint)
    )
    assert isinstance(store, S3MediaStore)
    assert (store.bucket, store.prefix) == ("from-settings", "app/media")
    store.put("k.jpg", b"jpeg bytes")
    listing = s3_client(s3_endpoint).list_objects_v2(Bucket="from-settings")
    assert [o["Key"] for o in listing["Contents"]] == ["app/media/k.jpg"]


@pytest.mark.parametrize("url", ["s3://", "ftp://host/x"])
def test_settings_with_a_storage_url_we_cannot_use_are_refused_clearly(url: str) -> None:
    with pytest.raises(MediaStoreError, match="DIRECTPOST_MEDIA_STORAGE_URL"):
        media_store_from_settings(Settings(media_storage_url=url))
