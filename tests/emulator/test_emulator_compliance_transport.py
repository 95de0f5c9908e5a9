"""The compliance log's transfer and traffic verdicts: TECH-1, TECH-2, CAP-4, UX-5e.

Like test_emulator_compliance_log.py: each verdict is triggered (logged; under strict mode the
error TikTok would give, or a 400 where it gives none) and a client that does it right gets none.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.emulator.compliance_helpers import (
    CREATOR_INFO,
    STATUS,
    VIDEO_INIT,
    all_kinds,
    compliant_file_post,
    creator_info,
    error_of,
    kinds,
    last_entry,
    log,
    set_strict,
)
from tests.emulator.helpers import authorize_query, put_chunk, video_init_body
from tests.fixtures.emulator import EmulatorHandle, MediaHost
from tests.fixtures.media_files import make_video

MIB = 1024 * 1024
USER_INFO = "/v2/user/info/"
UPLOAD = "/upload/video/"


# --- TECH-1: client_secret never in a URL a browser sees --------------------------------------


def test_tech_1_client_secret_in_a_query_or_referer_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    headers = {"Authorization": f"Bearer {token}"}
    leaked = {"fields": "open_id", "client_secret": h.client_secret}
    assert h.client.get(USER_INFO, params=leaked, headers=headers).status_code == 200
    entry = last_entry(h, USER_INFO)
    assert kinds(entry) == ["client_secret_exposed"]
    assert entry["verdicts"][0]["rule"] == "TECH-1"
    assert "in the query string" in entry["verdicts"][0]["detail"]
    referer = {"Referer": f"http://127.0.0.1:8000/compose?k={h.client_secret}"}
    page = h.client.get("/v2/auth/authorize/", params=authorize_query(h), headers=referer)
    assert page.status_code == 200, page.text
    entry = last_entry(h, "/v2/auth/authorize/")
    assert kinds(entry) == ["client_secret_exposed"] and entry["client_key"] == h.client_key
    assert "Referer" in entry["verdicts"][0]["detail"]
    assert h.client_secret not in json.dumps(log(h))  # the log never repeats the secret

    set_strict(h)
    api = h.client.get(USER_INFO, params=leaked, headers=headers)
    status, code, message = error_of(api)
    assert (status, code) == (400, "compliance_verdict") and "[TECH-1]" in message
    assert h.client_secret not in api.text
    token_call = h.client.post("/v2/oauth/token/", params={"client_secret": h.client_secret})
    assert token_call.status_code == 400
    assert token_call.json()["error"] == "invalid_request"  # the OAuth endpoints' flat shape
    assert "[TECH-1]" in token_call.json()["error_description"]
    consent = h.client.get("/v2/auth/authorize/", params=authorize_query(h), headers=referer)
    assert consent.status_code == 400 and "[TECH-1]" in consent.text


def test_tech_1_client_secret_in_the_token_form_body_gets_no_verdict(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    set_strict(h)
    refresh = h.control("tokens", {"open_id": "demo-public"})["refresh_token"]
    answer = h.client.post(
        "/v2/oauth/token/",
        data={
            "client_key": h.client_key,
            "client_secret": h.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh,
        },
        headers={"Referer": "http://127.0.0.1:8000/settings"},
    )
    assert answer.status_code == 200, answer.text
    assert all_kinds(h) == []


# --- CAP-4: requests over the rate limit -----------------------------------------------------


def test_cap_4_requests_over_the_rate_limit_are_flagged_with_tiktoks_429(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    set_strict(h)  # TikTok answers 429 anyway: strict changes nothing here
    token = h.token("demo-public")
    answers = [h.api(CREATOR_INFO, token).status_code for _ in range(21)]
    assert answers == [200] * 20 + [429]
    entries = [e for e in log(h)["entries"] if e["path"] == CREATOR_INFO]
    assert [kinds(e) for e in entries] == [[]] * 20 + [["over_rate_limit"]]
    verdict = entries[-1]["verdicts"][0]
    assert verdict["rule"] == "CAP-4" and "20 per minute" in verdict["detail"]
    assert entries[-1]["status"] == 429 and entries[-1]["open_id"] == "demo-public"


def test_cap_4_an_injected_429_and_requests_within_the_limit_get_no_verdict(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    h.control("faults", {"endpoint": "creator_info", "error": "rate_limit_exceeded"})
    assert h.api(CREATOR_INFO, token).status_code == 429  # the emulator's fault, not the app's
    h.control("clock", {"advance_s": 61})
    for _ in range(20):
        assert h.api(CREATOR_INFO, token).status_code == 200
    assert all_kinds(h) == []


# --- TECH-2: the chunk rules ------------------------------------------------------------------


def test_tech_2_chunk_rule_breaks_are_flagged_at_init_and_at_the_upload_host(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    set_strict(h)  # TikTok refuses these itself: the same answers, now with a verdict
    token = h.token("demo-public")
    creator_info(h, token)
    small_chunks = video_init_body(size=6 * MIB, chunk=1 * MIB, count=6)
    status, code, message = error_of(h.api(VIDEO_INIT, token, small_chunks))
    assert (status, code) == (400, "invalid_params") and "[TECH-2]" in message
    entry = last_entry(h, VIDEO_INIT)
    assert kinds(entry) == ["chunk_rule_break"] and entry["verdicts"][0]["rule"] == "TECH-2"
    assert "5 MB and 64 MB" in entry["verdicts"][0]["detail"]

    init = h.api(VIDEO_INIT, token, video_init_body(size=1000)).json()["data"]
    out_of_order = put_chunk(init["upload_url"], b"x" * 990, 10, 1000)
    wrong_type = put_chunk(init["upload_url"], b"x" * 1000, 0, 1000, content_type="text/plain")
    assert (out_of_order.status_code, wrong_type.status_code) == (416, 400)
    uploads = [e for e in log(h)["entries"] if e["path"] == UPLOAD]
    assert [kinds(e) for e in uploads] == [["chunk_rule_break"]] * 2
    assert (
        "answered 416: Expected the chunk starting at byte 0" in uploads[0]["verdicts"][0]["detail"]
    )
    assert uploads[1]["client_key"] == h.client_key and uploads[1]["open_id"] == "demo-public"


def test_tech_2_chunks_by_the_rules_get_no_verdict(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    set_strict(h)
    token = h.token("demo-public")
    creator_info(h, token)
    size = 11 * MIB + 5  # two chunks: 5 MiB, then 6 MiB + 5 bytes
    init = h.api(VIDEO_INIT, token, video_init_body(size=size, chunk=5 * MIB, count=2))
    assert init.status_code == 200, init.text
    url = init.json()["data"]["upload_url"]
    assert put_chunk(url, b"\0" * (5 * MIB), 0, size).status_code == 206
    # A client that lost the 206 (or restarted) resends from where it knew: the 416 tells it
    # how far the host got. TikTok has no other way to ask, so this is no rule break.
    resent = put_chunk(url, b"\0" * (5 * MIB), 0, size)
    assert resent.status_code == 416
    assert put_chunk(url, b"\0" * (size - 5 * MIB), 5 * MIB, size).status_code == 201
    assert all_kinds(h) == []
    resent_entry = [e for e in log(h)["entries"] if e["path"] == UPLOAD][1]
    assert resent_entry["status"] == 416 and resent_entry["publish_id"] is not None


# --- TECH-2: FILE_UPLOAD of media the client serves at a URL ----------------------------------


def _pull_then_upload(
    h: EmulatorHandle, host: MediaHost, pulled: Path, uploaded: Path
) -> tuple[int, str, str]:
    """Pull ``pulled`` (PULL_FROM_URL from the app's verified prefix), then FILE_UPLOAD
    ``uploaded``, both by the compliant flow; returns the last PUT's status and text, and the
    upload's publish_id."""
    h.register_app(verified_url_prefixes=[host.base_url])
    token = h.token("demo-public")
    creator_info(h, token)
    body = {
        "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "pulled"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": host.add("clip.mp4", pulled)},
    }
    pull = h.api(VIDEO_INIT, token, body)
    assert pull.status_code == 200, pull.text
    assert h.wait_for_status(pull.json()["data"]["publish_id"])["status"] == "PUBLISH_COMPLETE"
    media = uploaded.read_bytes()
    init = h.api(VIDEO_INIT, token, video_init_body(size=len(media))).json()["data"]
    answer = put_chunk(init["upload_url"], media, 0, len(media))
    return answer.status_code, answer.text, str(init["publish_id"])


def test_tech_2_file_upload_of_media_pulled_from_the_apps_url_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost, video_mp4: Path
) -> None:
    h = emulator_server
    status, _, _ = _pull_then_upload(h, emulator_media_host, video_mp4, video_mp4)
    assert status == 201  # TikTok cannot tell
    entry = last_entry(h, UPLOAD)
    assert kinds(entry) == ["file_upload_of_served_media"]
    assert entry["verdicts"][0]["rule"] == "TECH-2"
    assert "do not use FILE_UPLOAD" in entry["verdicts"][0]["sentence"]
    assert emulator_media_host.base_url in entry["verdicts"][0]["detail"]

    h.reset()
    set_strict(h)
    status, text, publish_id = _pull_then_upload(h, emulator_media_host, video_mp4, video_mp4)
    assert status == 400 and "[TECH-2]" in text
    failed = h.wait_for_status(publish_id)
    assert (failed["status"], failed["fail_reason"]) == ("FAILED", "spam_risk")


def test_tech_2_uploading_other_media_or_pulling_what_was_uploaded_gets_no_verdict(
    emulator_server: EmulatorHandle,
    emulator_media_host: MediaHost,
    video_mp4: Path,
    tmp_path: Path,
) -> None:
    h = emulator_server
    set_strict(h)
    other = make_video(tmp_path / "other.mp4", seconds=1.5)
    status, text, _ = _pull_then_upload(h, emulator_media_host, video_mp4, other)
    assert status == 201, text
    # The reverse: media first uploaded from a device, later pulled from the app's server.
    compliant_file_post(h, h.token("demo-public"), (tmp_path / "other.mp4").read_bytes())
    token = h.token("demo-public")
    creator_info(h, token)
    body = {
        "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "pulled later"},
        "source_info": {
            "source": "PULL_FROM_URL",
            "video_url": emulator_media_host.add("later.mp4", other),
        },
    }
    pull = h.api(VIDEO_INIT, token, body).json()["data"]["publish_id"]
    assert h.wait_for_status(pull)["status"] == "PUBLISH_COMPLETE"
    assert all_kinds(h) == []


# --- UX-5e: status polled until final, not after ----------------------------------------------


def test_ux_5e_fetching_a_final_status_again_and_again_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    publish_id = compliant_file_post(h, token, video_mp4.read_bytes())  # 1st final answer
    for _ in range(2):  # tolerated: a webhook and a poll can cross, a person may ask again
        assert h.api(STATUS, token, {"publish_id": publish_id}).status_code == 200
    assert all_kinds(h) == []
    assert h.api(STATUS, token, {"publish_id": publish_id}).status_code == 200
    entry = last_entry(h, STATUS)
    assert kinds(entry) == ["polling_after_final"] and entry["verdicts"][0]["rule"] == "UX-5e"

    set_strict(h)
    status, code, message = error_of(h.api(STATUS, token, {"publish_id": publish_id}))
    assert (status, code) == (400, "compliance_verdict") and "[UX-5e]" in message


def test_ux_5e_a_slow_look_after_the_final_status_gets_no_verdict(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    """A client still waiting for a public post id may ask again, a minute apart."""
    h = emulator_server
    set_strict(h)
    token = h.token("demo-public")
    publish_id = compliant_file_post(h, token, video_mp4.read_bytes())
    for _ in range(3):
        h.control("clock", {"advance_s": 61})
        assert h.api(STATUS, token, {"publish_id": publish_id}).status_code == 200
    assert all_kinds(h) == []
