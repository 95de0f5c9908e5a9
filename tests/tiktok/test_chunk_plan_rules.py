"""`chunk_plan` follows the Media Transfer Guide exactly (TECH-2)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directpost.tiktok import (
    MAX_CHUNK_COUNT,
    MAX_CHUNK_SIZE,
    MAX_LAST_CHUNK_SIZE,
    MAX_VIDEO_SIZE,
    MIN_CHUNK_SIZE,
    ByteRange,
    FileUploadSource,
    RequestValidationError,
    chunk_plan,
)

MiB = 1024 * 1024


def test_tech2_worked_example_from_the_guide_gives_five_chunks_the_last_larger() -> None:
    plan = chunk_plan(50_000_123, 10_000_000)
    assert plan.total_chunk_count == 5 and plan.chunk_size == 10_000_000
    assert plan.chunks == (
        ByteRange(0, 9_999_999),
        ByteRange(10_000_000, 19_999_999),
        ByteRange(20_000_000, 29_999_999),
        ByteRange(30_000_000, 39_999_999),
        ByteRange(40_000_000, 50_000_122),
    )
    assert plan.chunks[-1].length == 10_000_123


def test_tech2_small_files_go_whole() -> None:
    plan = chunk_plan(4_194_304)
    assert (plan.chunk_size, plan.total_chunk_count, plan.chunks) == (
        4_194_304,
        1,
        (ByteRange(0, 4_194_303),),
    )
    assert chunk_plan(4 * MiB, 5 * MiB).total_chunk_count == 1


def test_tech2_files_above_64_mib_are_chunked_and_bad_chunk_sizes_are_refused() -> None:
    assert chunk_plan(64 * MiB).total_chunk_count == 1
    assert chunk_plan(64 * MiB + 1).total_chunk_count > 1
    with pytest.raises(RequestValidationError, match="5–64 MiB"):
        chunk_plan(100 * MiB, 4 * MiB)
    with pytest.raises(RequestValidationError, match="5–64 MiB"):
        chunk_plan(200 * MiB, 65 * MiB)
    with pytest.raises(RequestValidationError, match="4 GB"):
        chunk_plan(MAX_VIDEO_SIZE + 1)
    with pytest.raises(RequestValidationError, match="empty"):
        chunk_plan(0)


def test_file_upload_source_for_size_matches_the_plan() -> None:
    src = FileUploadSource.for_size(50_000_123, 10_000_000)
    assert src.to_json() == {
        "source": "FILE_UPLOAD",
        "video_size": 50_000_123,
        "chunk_size": 10_000_000,
        "total_chunk_count": 5,
    }


@settings(max_examples=400, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=MAX_VIDEO_SIZE),
    chunk_size=st.one_of(
        st.none(), st.integers(min_value=MIN_CHUNK_SIZE, max_value=MAX_CHUNK_SIZE)
    ),
)
def test_tech2_any_plan_covers_the_file_exactly_within_the_size_rules(
    size: int, chunk_size: int | None
) -> None:
    try:
        plan = chunk_plan(size, chunk_size)
    except RequestValidationError as exc:
        # Legitimate refusals only: an explicit chunk size that would make more than 1000
        # chunks, or a single chunk for a file above 64 MiB.
        assert chunk_size is not None, exc
        assert size // chunk_size > MAX_CHUNK_COUNT or (
            size > MAX_CHUNK_SIZE and size // chunk_size < 2
        ), exc
        return
    chunks = plan.chunks
    assert chunks[0].first == 0 and chunks[-1].last == size - 1
    assert all(a.last + 1 == b.first for a, b in itertools.pairwise(chunks))
    assert sum(c.length for c in chunks) == size
    assert 1 <= plan.total_chunk_count == len(chunks) <= MAX_CHUNK_COUNT
    if size < MIN_CHUNK_SIZE:
        assert plan.total_chunk_count == 1 and plan.chunk_size == size
        return
    assert plan.total_chunk_count == size // plan.chunk_size
    assert MIN_CHUNK_SIZE <= plan.chunk_size <= MAX_CHUNK_SIZE
    assert all(c.length == plan.chunk_size for c in chunks[:-1])
    assert plan.chunk_size <= chunks[-1].length <= MAX_LAST_CHUNK_SIZE
    if size > MAX_CHUNK_SIZE:
        assert plan.total_chunk_count > 1
