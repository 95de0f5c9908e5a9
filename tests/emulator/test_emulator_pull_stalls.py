"""PULL_FROM_URL against a server that sends part of the file and then stalls (spec §3.6, §3.7).

The emulator reports the bytes that arrived so far as ``downloaded_bytes``, and a stalled
download still ends: after the 1-hour window of emulator time or on cancel, the publish fails
and the emulator closes the connection instead of waiting for bytes that never come.
"""

from __future__ import annotations

import http.server
import select
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.emulator.helpers import error_code
from tests.fixtures.emulator import EmulatorHandle

SENT = 300_000
TOTAL = 5_000_000
STATUS = "/v2/post/publish/status/fetch/"


@dataclass
class StallingHost:
    """Answers every GET with ``SENT`` of ``TOTAL`` bytes, then sends nothing more."""

    base_url: str
    closed_by_client: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def stalling_host() -> Iterator[StallingHost]:
    host = StallingHost(base_url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(TOTAL))
            self.end_headers()
            self.wfile.write(b"\0" * SENT)
            self.wfile.flush()
            # Stall; note when the client hangs up (the socket reads as closed).
            while not host.release.is_set():
                readable, _, _ = select.select([self.connection], [], [], 0.05)
                if readable and self.connection.recv(1) == b"":
                    host.closed_by_client.set()
                    return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host.base_url = f"http://127.0.0.1:{server.server_address[1]}/media/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.release.set()
        server.shutdown()
        server.server_close()


def start_pull(h: EmulatorHandle, host: StallingHost) -> tuple[str, str]:
    h.register_app(verified_url_prefixes=[host.base_url])
    token = h.token("demo-public")
    body = {
        "post_info": {"privacy_level": "SELF_ONLY", "title": "slow"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": host.base_url + "slow.mp4"},
    }
    init = h.api("/v2/post/publish/video/init/", token, body)
    assert error_code(init) == (200, "ok"), init.text
    publish_id = str(init.json()["data"]["publish_id"])
    h.wait_for(
        lambda s: any(
            p["publish_id"] == publish_id and p["downloaded_bytes"] == SENT for p in s["publishes"]
        )
    )
    return token, publish_id


def test_pull_reports_the_bytes_downloaded_so_far(
    emulator_server: EmulatorHandle, stalling_host: StallingHost
) -> None:
    h = emulator_server
    token, publish_id = start_pull(h, stalling_host)
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert (data["status"], data["downloaded_bytes"]) == ("PROCESSING_DOWNLOAD", SENT)


def test_stalled_pull_fails_after_one_hour_of_emulator_time_and_hangs_up(
    emulator_server: EmulatorHandle, stalling_host: StallingHost
) -> None:
    h = emulator_server
    token, publish_id = start_pull(h, stalling_host)
    h.control("clock", {"advance_s": 3599})
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert data["status"] == "PROCESSING_DOWNLOAD"
    h.control("clock", {"advance_s": 2})
    failed = h.wait_for_status(publish_id)
    assert (failed["status"], failed["fail_reason"]) == ("FAILED", "video_pull_failed")
    assert stalling_host.closed_by_client.wait(10), "the emulator kept the stalled download open"


def test_cancelling_a_stalled_pull_hangs_up_the_download(
    emulator_server: EmulatorHandle, stalling_host: StallingHost
) -> None:
    h = emulator_server
    token, publish_id = start_pull(h, stalling_host)
    assert error_code(h.api("/v2/post/publish/cancel/", token, {"publish_id": publish_id})) == (
        200,
        "ok",
    )
    assert stalling_host.closed_by_client.wait(10), "the emulator kept the cancelled download open"
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert (data["status"], data["fail_reason"]) == ("FAILED", "publish_cancelled")
