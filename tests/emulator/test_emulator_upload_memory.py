"""The upload host streams each chunk to disk: its memory does not grow with the upload.

Measured with tracemalloc around one 64 MiB chunk sent to the real server (same process, so
every allocation of the server thread is traced); the client streams from a generator. The
1 GiB figure (peak RSS of a separate emulator process) is in bench/emulator.py.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import httpx2

from tests.emulator.helpers import MIB, video_init_body
from tests.fixtures.emulator import EmulatorHandle

SIZE = 64 * MIB


def pieces(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    block = b"\x01" * size
    sent = 0
    while sent < total:
        step = min(size, total - sent)
        yield block[:step]
        sent += step


def test_a_64_mib_chunk_is_received_without_holding_it_in_memory(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    init = h.api(
        "/v2/post/publish/video/init/",
        h.token("demo-public"),
        video_init_body(size=SIZE, chunk=SIZE, count=1),
    )
    url = init.json()["data"]["upload_url"]
    tracemalloc.start()
    try:
        answer = httpx2.put(
            url,
            content=pieces(SIZE),
            headers={
                "Content-Type": "video/mp4",
                "Content-Length": str(SIZE),
                "Content-Range": f"bytes 0-{SIZE - 1}/{SIZE}",
            },
            trust_env=False,
            timeout=60,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 201, answer.text
    assert h.publish(init.json()["data"]["publish_id"])["uploaded_bytes"] == SIZE
    assert peak < SIZE // 8, f"peak traced memory {peak / MIB:.1f} MiB for a 64 MiB chunk"
