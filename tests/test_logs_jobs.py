"""A publish job's log lines carry its post id and the creator's open_id hash (never the open_id
itself) and TikTok's log_id when the post ends with one: the context `pipeline.advance` sets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from directpost import logs
from directpost.publishing import pipeline
from directpost.store import posts as store
from tests.publishing.harness import Bench, bench

__all__ = ["bench"]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def json_buffer() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logs.build_handler("json", buffer)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_a_job_line_names_its_post_and_the_creator_by_hash_only(
    bench: Bench, json_buffer: io.StringIO
) -> None:
    open_id = "logged-creator"
    bench.emulator.control("creators", {"open_id": open_id, "nickname": open_id})
    facts = await bench.creator_facts(open_id)
    post_id = bench.submit(open_id, facts, media=bench.media_video(), privacy_level="SELF_ONLY")
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        assert post is not None
        post.cancel_requested = True  # the job ends it at once: one line, known content
    await pipeline.advance(bench.ctx, post_id)
    lines = [json.loads(line) for line in json_buffer.getvalue().splitlines() if line]
    ended = [line for line in lines if line["message"].startswith("post ended")]
    assert len(ended) == 1, lines
    assert ended[0]["post_id"] == str(post_id)
    assert ended[0]["open_id_hash"] == logs.hash_open_id(open_id)
    assert open_id not in json_buffer.getvalue()
    assert logs.current_context() == {}, "the job's context ends with the job"
