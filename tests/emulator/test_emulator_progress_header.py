"""The upload host's progress header in both readings of spec §3.3 (``upload_progress_header``).

TikTok documents ``Content-Range: bytes 0-{UPLOADED_BYTES}/{TOTAL}`` and calls the number the
bytes uploaded; the emulator sends the last byte's index by default and the count when asked.
"""

from __future__ import annotations

import pytest

from tests.emulator.helpers import MIB, put_chunk, video_init_body
from tests.fixtures.emulator import EmulatorHandle

CHUNK = 5 * MIB
SIZE = 2 * CHUNK + 7


def _headers_of_an_upload(h: EmulatorHandle) -> list[tuple[int, str]]:
    """Status and progress header of: a chunk out of order, both chunks, one chunk too many."""
    init = h.api(
        "/v2/post/publish/video/init/",
        h.token(),
        video_init_body(privacy="SELF_ONLY", size=SIZE, chunk=CHUNK, count=2),
    )
    url = init.json()["data"]["upload_url"]
    sent = [
        put_chunk(url, b"\0" * (SIZE - CHUNK), CHUNK, SIZE),
        put_chunk(url, b"\0" * CHUNK, 0, SIZE),
        put_chunk(url, b"\0" * (SIZE - CHUNK), CHUNK, SIZE),
        put_chunk(url, b"\0" * CHUNK, 0, SIZE),
    ]
    return [(r.status_code, r.headers["content-range"]) for r in sent]


def test_by_default_the_progress_header_names_the_last_received_byte(
    emulator_server: EmulatorHandle,
) -> None:
    assert _headers_of_an_upload(emulator_server) == [
        (416, f"bytes */{SIZE}"),
        (206, f"bytes 0-{CHUNK - 1}/{SIZE}"),
        (201, f"bytes 0-{SIZE - 1}/{SIZE}"),
        (416, f"bytes 0-{SIZE - 1}/{SIZE}"),
    ]


def test_the_literal_reading_sends_the_number_of_bytes_uploaded(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    changed = h.control("config", {"upload_progress_header": "bytes_uploaded"})
    assert changed["upload_progress_header"] == "bytes_uploaded"
    assert _headers_of_an_upload(h) == [
        (416, f"bytes 0-0/{SIZE}"),
        (206, f"bytes 0-{CHUNK}/{SIZE}"),
        (201, f"bytes 0-{SIZE}/{SIZE}"),
        (416, f"bytes 0-{SIZE}/{SIZE}"),
    ]
    h.control("reset")
    assert h.control("config", method="GET")["upload_progress_header"] == "last_byte_index"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"upload_progress_header": "bytes"}, "last_byte_index or bytes_uploaded"),
        ({"upload_progress_header": 1}, "must be a string"),
    ],
)
def test_a_bad_progress_header_reading_is_refused_with_a_reason(
    emulator_server: EmulatorHandle, change: dict[str, object], says: str
) -> None:
    answer = emulator_server.client.post("/_emulator/config", json=change)
    assert answer.status_code == 400
    assert says in answer.json()["error"]
