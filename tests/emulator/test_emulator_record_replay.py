"""Record and replay (`directpost emulator --record FILE --upstream URL`, `--replay FILE`).

The upstream is the session's emulator on loopback (never TikTok): a whole post (consent, token,
creator_info, init, upload, two status polls) goes through the recording proxy, then the same
client flow is served from the file by a replaying server that has no upstream at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from directpost.emulator.config import EmulatorConfig
from directpost.emulator.launch import StartupError, build
from directpost.emulator.recording import recording_app
from directpost.emulator.replay import replay_app
from directpost.emulator.server import run_server_in_thread
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.media_files import make_video

SECRET_ANSWER_KEYS = ("access_token", "refresh_token")


def whole_post(base_url: str, h: EmulatorHandle, video: Path) -> list[dict[str, Any]]:
    """A client's whole post against ``base_url``; every answer it saw, in order."""
    seen: list[dict[str, Any]] = []
    with httpx2.Client(base_url=base_url, timeout=30, trust_env=False) as client:

        def keep(label: str, response: httpx2.Response) -> httpx2.Response:
            body = response.json() if response.content else None
            seen.append(
                {
                    "call": label,
                    "status": response.status_code,
                    "location": response.headers.get("location"),
                    "content_range": response.headers.get("content-range"),
                    "body": body,
                }
            )
            return response

        consent_form = {
            "client_key": h.client_key,
            "scope": "user.info.basic,video.publish",
            "redirect_uri": h.redirect_uri,
            "state": "st-1",
            "response_type": "code",
            "open_id": "demo-public",
            "decision": "allow",
            "scope:user.info.basic": "on",
            "scope:video.publish": "on",
        }
        consent = keep("consent", client.post("/v2/auth/authorize/", data=consent_form))
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        token = keep(
            "token",
            client.post(
                "/v2/oauth/token/",
                data={
                    "client_key": h.client_key,
                    "client_secret": h.client_secret,
                    "code": code,
                    "grant_type": "authorization_code",
                    "redirect_uri": h.redirect_uri,
                },
            ),
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        keep("creator_info", client.post("/v2/post/publish/creator_info/query/", headers=bearer))
        size = video.stat().st_size
        init = keep(
            "init",
            client.post(
                "/v2/post/publish/video/init/",
                headers=bearer,
                json={
                    "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "replayed #cat"},
                    "source_info": {
                        "source": "FILE_UPLOAD",
                        "video_size": size,
                        "chunk_size": size,
                        "total_chunk_count": 1,
                    },
                },
            ),
        ).json()["data"]
        keep(
            "upload",
            client.put(
                init["upload_url"],
                content=video.read_bytes(),
                headers={
                    "Content-Type": "video/mp4",
                    "Content-Range": f"bytes 0-{size - 1}/{size}",
                },
            ),
        )
        for poll in (1, 2):
            keep(
                f"status {poll}",
                client.post(
                    "/v2/post/publish/status/fetch/",
                    headers=bearer,
                    json={"publish_id": init["publish_id"]},
                ),
            )
    return seen


def comparable(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers with what a recording cannot keep made equal: secrets (redacted in the file)
    and the upload URL's host (each server points it at itself)."""
    out = json.loads(json.dumps(answers))
    for answer in out:
        if answer["location"]:
            answer["location"] = answer["location"].split("?")[0]
        data = (answer["body"] or {}).get("data") if isinstance(answer["body"], dict) else None
        for key in SECRET_ANSWER_KEYS:
            if isinstance(answer["body"], dict) and key in answer["body"]:
                answer["body"][key] = "<secret>"
        if isinstance(data, dict) and "upload_url" in data:
            parts = urlsplit(data["upload_url"])
            data["upload_url"] = (parts.path, parse_qs(parts.query)["upload_id"])
    return out


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4", seconds=1)


def test_a_recorded_whole_post_is_replayed_with_the_same_answers_and_no_upstream(
    emulator_server: EmulatorHandle, tmp_path: Path, video: Path
) -> None:
    h = emulator_server
    h.control("progression", {"mode": "polls", "value": 2})  # two polls: two recorded answers
    recording = tmp_path / "post.jsonl"
    with run_server_in_thread(app=recording_app(recording, h.base_url)) as proxy:
        recorded = whole_post(proxy.base_url, h, video)
    assert [a["status"] for a in recorded] == [302, 200, 200, 200, 201, 200, 200]
    statuses = [a["body"]["data"]["status"] for a in recorded[-2:]]
    assert statuses == ["PROCESSING_UPLOAD", "PUBLISH_COMPLETE"]
    # The upload went through the proxy, so it is in the file like every other call.
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [(x["request"]["method"], x["request"]["path"]) for x in lines][3:5] == [
        ("POST", "/v2/post/publish/video/init/"),
        ("PUT", "/upload/video/"),
    ]
    assert lines[4]["request"]["bytes"]["length"] == video.stat().st_size

    upstream_calls = len(h.control("requests", method="GET")["requests"])
    with run_server_in_thread(app=replay_app(recording)) as replaying:
        replayed = whole_post(replaying.base_url, h, video)
    assert comparable(replayed) == comparable(recorded)
    assert len(h.control("requests", method="GET")["requests"]) == upstream_calls


def test_the_recording_keeps_no_secret(
    emulator_server: EmulatorHandle, tmp_path: Path, video: Path
) -> None:
    h = emulator_server
    recording = tmp_path / "post.jsonl"
    with run_server_in_thread(app=recording_app(recording, h.base_url)) as proxy:
        answers = whole_post(proxy.base_url, h, video)
    text = recording.read_text()
    token_answer = answers[1]["body"]
    code = parse_qs(urlsplit(answers[0]["location"]).query)["code"][0]
    upload_token = parse_qs(urlsplit(answers[3]["body"]["data"]["upload_url"]).query)[
        "upload_token"
    ][0]
    for secret in (
        h.client_secret,
        token_answer["access_token"],
        token_answer["refresh_token"],
        code,
        upload_token,
    ):
        assert secret not in text
    first_token_line = json.loads(text.splitlines()[1])
    assert first_token_line["request"]["form"]["client_secret"] == "<redacted>"
    assert first_token_line["request"]["form"]["grant_type"] == "authorization_code"
    assert first_token_line["answer"]["json"]["access_token"] == "<redacted>"
    assert json.loads(text.splitlines()[2])["request"]["headers"]["authorization"] == (
        "Bearer <redacted>"
    )


def test_a_request_the_recording_cannot_answer_gets_a_501_that_names_it(
    emulator_server: EmulatorHandle, tmp_path: Path, video: Path
) -> None:
    h = emulator_server
    recording = tmp_path / "post.jsonl"
    with run_server_in_thread(app=recording_app(recording, h.base_url)) as proxy:
        recorded = whole_post(proxy.base_url, h, video)
    publish_id = recorded[3]["body"]["data"]["publish_id"]
    status_body = {"publish_id": publish_id}
    headers = {"Authorization": "Bearer anything"}
    with (
        run_server_in_thread(app=replay_app(recording)) as replaying,
        httpx2.Client(base_url=replaying.base_url, trust_env=False) as client,
    ):
        never = client.post("/v2/post/publish/cancel/", json=status_body, headers=headers)
        assert never.status_code == 501
        error = never.json()["error"]
        assert error["code"] == "replay_not_recorded"
        assert "POST /v2/post/publish/cancel/" in error["message"]
        assert "nothing was recorded" in error["message"]

        other = client.post(
            "/v2/post/publish/video/init/",
            json={"post_info": {"title": "another"}},
            headers=headers,
        )
        assert other.status_code == 501
        assert "different query or body" in other.json()["error"]["message"]

        fetch = "/v2/post/publish/status/fetch/"
        served = [client.post(fetch, json=status_body, headers=headers) for _ in range(3)]
        assert [r.status_code for r in served] == [200, 200, 501]
        assert "served already" in served[2].json()["error"]["message"]

        # A reset rewinds the recording: the recorded polls are served again, in order.
        assert client.post("/_emulator/reset").status_code == 200
        again = client.post(fetch, json={"publish_id": "another-id"}, headers=headers)
        assert again.json() == served[0].json()  # ids never decide a match
        assert client.get("/_emulator/health").json() == {"ok": True, "mode": "replay"}


def test_a_bad_recording_line_or_option_is_refused_before_serving(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"v": 1, "request": {"method": "GET", "path": "/"}, "answer": {"status": 200}}\n{oops\n'
    )
    with pytest.raises(StartupError, match=r"bad\.jsonl:2: not valid JSON"):
        build(_config(), replay=bad)
    with pytest.raises(StartupError, match="--record FILE and --upstream URL go together"):
        build(_config(), record=tmp_path / "x.jsonl")
    with pytest.raises(StartupError, match="--seed do not apply with --replay"):
        build(_config(), replay=bad, seed=tmp_path / "seed.json")
    with pytest.raises(StartupError, match="must be an http"):
        build(_config(), record=tmp_path / "x.jsonl", upstream="ftp://nowhere")


def _config() -> EmulatorConfig:
    return EmulatorConfig()
