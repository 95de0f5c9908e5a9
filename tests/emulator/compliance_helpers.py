"""Helpers for the compliance-log tests: read the log, switch strict mode, a compliant post."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.emulator.helpers import put_chunk, video_init_body
from tests.fixtures.emulator import EmulatorHandle

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
STATUS = "/v2/post/publish/status/fetch/"


def log(h: EmulatorHandle, **params: str) -> dict[str, Any]:
    """GET /_emulator/compliance (as JSON)."""
    response = h.client.get("/_emulator/compliance", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def entries_for(h: EmulatorHandle, path: str) -> list[dict[str, Any]]:
    return [e for e in log(h)["entries"] if e["path"] == path]


def last_entry(h: EmulatorHandle, path: str) -> dict[str, Any]:
    found = entries_for(h, path)
    assert found, f"no request to {path} in the log"
    return found[-1]


def kinds(entry: dict[str, Any]) -> list[str]:
    return [v["kind"] for v in entry["verdicts"]]


def all_kinds(h: EmulatorHandle) -> list[str]:
    return [k for e in log(h)["entries"] for k in kinds(e)]


def set_strict(h: EmulatorHandle, on: bool = True) -> None:
    h.control("config", {"strict": on})


def creator_info(h: EmulatorHandle, token: str) -> dict[str, Any]:
    response = h.api(CREATOR_INFO, token)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def error_of(response: httpx2.Response) -> tuple[int, str, str]:
    """HTTP status, TikTok's error.code and message of an envelope answer."""
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def compliant_file_post(h: EmulatorHandle, token: str, media: bytes) -> str:
    """The documented flow, as the guidelines want it: creator_info, then an init that follows
    it (a privacy level it offered, interactions it allows, no branded SELF_ONLY), the upload in
    one chunk, and status/fetch until the final status. Returns the publish_id."""
    info = creator_info(h, token)
    post_info = {
        "disable_comment": info["comment_disabled"],
        "disable_duet": info["duet_disabled"],
        "disable_stitch": info["stitch_disabled"],
    }
    init = h.api(
        VIDEO_INIT,
        token,
        video_init_body(privacy=info["privacy_level_options"][0], size=len(media), **post_info),
    )
    assert init.status_code == 200, init.text
    data = init.json()["data"]
    answer = put_chunk(data["upload_url"], media, 0, len(media))
    assert answer.status_code == 201, answer.text
    h.wait_for_status(data["publish_id"])
    status = h.api(STATUS, token, {"publish_id": data["publish_id"]})
    assert status.json()["data"]["status"] == "PUBLISH_COMPLETE", status.text
    return str(data["publish_id"])
