"""Processing that takes longer for bigger media (``processing_seconds_per_mib``, emulator clock).

Default 0: a publish leaves PROCESSING_* as soon as its media is checked (the other tests). With
a rate set, it stays in PROCESSING_UPLOAD / PROCESSING_DOWNLOAD until that many emulator seconds
per MiB received have passed, so moving the clock decides, never the wall clock.
"""

from __future__ import annotations

from tests.emulator.helpers import MIB, upload_whole
from tests.fixtures.emulator import EmulatorHandle, MediaHost

STATUS = "/v2/post/publish/status/fetch/"
PER_MIB = 100.0  # emulator seconds per MiB


def _status(h: EmulatorHandle, token: str, publish_id: str) -> str:
    answer = h.api(STATUS, token, {"publish_id": publish_id})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["status"])


def test_a_bigger_upload_stays_in_processing_longer_on_the_emulator_clock(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    h.control("config", {"processing_seconds_per_mib": PER_MIB})
    token = h.token()
    small = upload_whole(h, token, b"\0" * MIB, privacy_level="SELF_ONLY")  # 100 s
    big = upload_whole(h, token, b"\0" * (4 * MIB), privacy_level="SELF_ONLY")  # 400 s
    assert _status(h, token, small) == _status(h, token, big) == "PROCESSING_UPLOAD"

    h.control("clock", {"advance_s": 1.5 * PER_MIB})
    assert h.wait_for_status(small)["fail_reason"] == "file_format_check_failed"  # zeros
    assert _status(h, token, big) == "PROCESSING_UPLOAD"

    h.control("clock", {"advance_s": 3 * PER_MIB})
    assert h.wait_for_status(big)["status"] == "FAILED"


def test_a_pulled_file_is_held_in_processing_by_its_downloaded_size(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost
) -> None:
    h = emulator_server
    h.register_app(verified_url_prefixes=[emulator_media_host.base_url])
    h.control("config", {"processing_seconds_per_mib": PER_MIB})
    url = emulator_media_host.add("held/clip.mp4", b"\0" * (2 * MIB))  # 200 s
    token = h.token()
    init = h.api(
        "/v2/post/publish/video/init/",
        token,
        {
            "post_info": {"privacy_level": "SELF_ONLY", "title": "pulled"},
            "source_info": {"source": "PULL_FROM_URL", "video_url": url},
        },
    )
    assert init.status_code == 200, init.text
    publish_id = init.json()["data"]["publish_id"]
    h.wait_for(lambda s: any(p["media_ready"] for p in s["publishes"]))
    assert _status(h, token, publish_id) == "PROCESSING_DOWNLOAD"

    h.control("clock", {"advance_s": 2.5 * PER_MIB})
    assert h.wait_for_status(publish_id)["fail_reason"] == "file_format_check_failed"


def test_a_negative_processing_rate_is_refused(emulator_server: EmulatorHandle) -> None:
    answer = emulator_server.client.post(
        "/_emulator/config", json={"processing_seconds_per_mib": -1}
    )
    assert answer.status_code == 400
    assert "processing_seconds_per_mib must be a number >= 0" in answer.json()["error"]
