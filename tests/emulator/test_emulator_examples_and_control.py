"""Official request/response examples replayed against the emulator, the control plane, the
inspector pages and the in-process ASGI app."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from starlette.applications import Starlette

from tests.emulator.helpers import consent, error_code, exchange, put_chunk, upload_whole
from tests.fixtures.emulator import EmulatorHandle

STATUS = "/v2/post/publish/status/fetch/"


def test_official_video_init_example_and_worked_chunk_example_replay(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    example = {
        "post_info": {
            "title": "this will be a funny #cat video on your @tiktok #fyp",
            "privacy_level": "MUTUAL_FOLLOW_FRIENDS",
            "disable_duet": False,
            "disable_comment": True,
            "disable_stitch": False,
            "video_cover_timestamp_ms": 1000,
        },
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 50000123,
            "chunk_size": 10000000,
            "total_chunk_count": 5,
        },
    }
    init = h.api("/v2/post/publish/video/init/", token, example)
    body = init.json()
    assert set(body) == {"data", "error"} and set(body["data"]) == {"publish_id", "upload_url"}
    assert set(body["error"]) == {"code", "message", "log_id"} and body["error"]["message"] == ""
    assert body["error"]["log_id"][:8].isdigit() and len(body["error"]["log_id"]) == 34
    url = body["data"]["upload_url"]
    piece = b"\0" * 10000000
    ranges = [(0, piece), (10000000, piece), (20000000, piece), (30000000, piece)]
    answers = [put_chunk(url, data, first, 50000123).status_code for first, data in ranges]
    last = put_chunk(url, b"\0" * 10000123, 40000000, 50000123)
    assert [*answers, last.status_code] == [206, 206, 206, 206, 201]
    status = h.api(STATUS, token, {"publish_id": body["data"]["publish_id"]}).json()
    assert status["data"]["status"] == "FAILED"  # zeros are not a video
    assert status["data"]["fail_reason"] == "file_format_check_failed"
    assert status["data"]["uploaded_bytes"] == 50000123


def test_official_whole_upload_and_photo_examples_replay(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    token = h.token("demo-public")
    source = {"source": "FILE_UPLOAD", "video_size": 4194304, "chunk_size": 4194304}
    init = h.api(
        "/v2/post/publish/inbox/video/init/",
        token,
        {"source_info": {**source, "total_chunk_count": 1}},
    )
    whole = put_chunk(init.json()["data"]["upload_url"], b"\0" * 4194304, 0, 4194304)
    assert whole.status_code == 201
    # The photo example uses tiktokcdn.com; the pull is faulted so nothing leaves loopback.
    h.register_app(verified_domains=["tiktokcdn.com"])
    h.control("faults", {"endpoint": "pull", "error": "internal_error"})
    photo_example = {
        "post_info": {
            "title": "funny cat",
            "description": "this will be a #funny photo on your @tiktok #fyp",
            "disable_comment": True,
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "auto_add_music": True,
        },
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_cover_index": 1,
            "photo_images": [
                "https://tiktokcdn.com/obj/example-image-01.webp",
                "https://tiktokcdn.com/obj/example-image-02.webp",
            ],
        },
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }
    answer = h.api("/v2/post/publish/content/init/", token, photo_example)
    assert error_code(answer) == (200, "ok")
    assert answer.json()["data"]["publish_id"].startswith("p_pub_url~v2")
    failed = h.wait_for_status(answer.json()["data"]["publish_id"])
    assert failed["fail_reason"] == "photo_pull_failed"


def test_creator_info_example_shape(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    data = h.api("/v2/post/publish/creator_info/query/", h.token("demo-public")).json()["data"]
    assert set(data) == {
        "creator_avatar_url",
        "creator_username",
        "creator_nickname",
        "privacy_level_options",
        "comment_disabled",
        "duet_disabled",
        "stitch_disabled",
        "max_video_post_duration_sec",
    }


def test_official_token_user_info_status_and_revoke_examples_have_the_documented_shapes(
    emulator_server: EmulatorHandle,
) -> None:
    """Spec §2.2, §2.3, §2.5 and §3.6: the keys of each documented example, nothing more."""
    h = emulator_server
    callback = consent(h, scopes=("user.info.basic", "video.publish"))
    token = exchange(h, callback["code"][0]).json()
    assert set(token) == {
        "access_token",
        "expires_in",
        "open_id",
        "refresh_expires_in",
        "refresh_token",
        "scope",
        "token_type",
    }
    access = token["access_token"]
    fields = "open_id,union_id,avatar_url,display_name"
    info = h.client.get(
        "/v2/user/info/", params={"fields": fields}, headers={"Authorization": f"Bearer {access}"}
    ).json()
    assert set(info) == {"data", "error"} and set(info["data"]) == {"user"}
    assert set(info["data"]["user"]) == set(fields.split(","))
    h.control("faults", {"endpoint": "processing", "fail_reason": "picture_size_check_failed"})
    publish_id = upload_whole(h, access, b"\0" * 10000)
    status = h.api(STATUS, access, {"publish_id": publish_id}).json()
    assert status["data"] == {
        "status": "FAILED",
        "fail_reason": "picture_size_check_failed",
        "publicaly_available_post_id": [],
        "uploaded_bytes": 10000,
    }
    assert status["error"]["code"] == "ok" and status["error"]["message"] == ""
    revoked = h.client.post(
        "/v2/oauth/revoke/",
        data={"client_key": h.client_key, "client_secret": h.client_secret, "token": access},
    )
    assert (revoked.status_code, revoked.json()) == (200, {})


def test_control_plane_explains_bad_requests(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    cases = [
        ("apps", {"client_key": "k"}, "client_secret"),
        (
            "apps",
            {"client_key": "k", "client_secret": "s", "redirect_uris": ["http://x.example/cb"]},
            "https",
        ),
        (
            "apps",
            {
                "client_key": "k",
                "client_secret": "s",
                "verified_url_prefixes": ["https://x.example/a"],
            },
            "end with '/'",
        ),
        ("faults", {"endpoint": "nope", "error": "internal_error"}, "endpoint must be one of"),
        ("faults", {"endpoint": "video_init"}, "a fault needs one of"),
        ("progression", {"mode": "sometimes"}, "progression.mode"),
        ("config", {"no_such_knob": 1}, "unknown or read-only"),
        ("creators", {"open_id": "x", "posting_state": "sleepy"}, "posting_state"),
        ("tokens", {"open_id": "nobody"}, "no creator"),
        ("clock", {"advance_s": -5}, "advance_s"),
    ]
    for path, body, words in cases:
        answer = h.client.post(f"/_emulator/{path}", json=body)
        assert answer.status_code in (400, 404), (path, answer.text)
        assert words in answer.json()["error"], (path, answer.text)


def test_reset_brings_back_the_demo_world(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    h.control("creators", {"open_id": "extra", "nickname": "Extra"})
    h.control("clock", {"advance_s": 1000})
    h.reset()
    state = h.state()
    ids = [c["open_id"] for c in state["creators"]]
    assert ids == [
        "demo-public",
        "demo-private",
        "demo-no-comments",
        "demo-no-duet-stitch",
        "demo-60s",
        "demo-capped",
        "demo-banned",
    ]
    assert [a["client_key"] for a in state["apps"]] == [h.client_key]
    assert "client_secret" not in state["apps"][0]


def test_inspector_shows_what_landed_on_the_profile(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    token = h.token("demo-no-duet-stitch")
    publish_id = upload_whole(
        h,
        token,
        video_mp4.read_bytes(),
        title="my <b>video</b>",
        brand_content_toggle=True,
        disable_comment=True,
    )
    assert h.wait_for_status(publish_id)["status"] == "PUBLISH_COMPLETE"
    page = h.client.get("/_emulator/creators/demo-no-duet-stitch")
    assert page.status_code == 200
    assert "my &lt;b&gt;video&lt;/b&gt;" in page.text
    assert "Paid partnership" in page.text
    assert "Who can view: Everyone" in page.text
    assert "Duet off" in page.text and "Stitch off" in page.text and "Comments off" in page.text
    video = h.client.get(f"/_emulator/media/{publish_id}/0")
    assert video.headers["content-type"] == "video/mp4" and video.content == video_mp4.read_bytes()
    overview = h.client.get("/_emulator/")
    assert "/_emulator/creators/demo-banned" in overview.text
    assert h.client.get("/_emulator/creators/nobody").status_code == 404


def test_delay_fault_slows_the_next_call_only(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    h.control("faults", {"endpoint": "creator_info", "delay_s": 0.3})
    token = h.token("demo-public")
    with pytest.raises(httpx2.TimeoutException):
        h.client.post(
            "/v2/post/publish/creator_info/query/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.1,
        )
    assert error_code(h.api("/v2/post/publish/creator_info/query/", token)) == (200, "ok")


def test_dropped_answer_after_an_init_leaves_an_ambiguous_publish(
    emulator_server: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    h = emulator_server
    h.control("faults", {"endpoint": "video_init", "drop": True})
    token = h.token("demo-public")
    body = {
        "post_info": {"privacy_level": "SELF_ONLY"},
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 10,
            "chunk_size": 10,
            "total_chunk_count": 1,
        },
    }
    with pytest.raises(httpx2.TransportError):
        h.api("/v2/post/publish/video/init/", token, body)
    # The init happened although its answer was lost: a ghost publish exists.
    assert len(h.state()["publishes"]) == 1
    # The drop was asked for: the server does not log it as a crash.
    assert not [r for r in caplog.records if "Exception in ASGI" in r.getMessage()]


@pytest.mark.anyio
async def test_in_process_app_serves_a_whole_file_upload(
    emulator_app: Starlette, video_mp4: Path
) -> None:
    data = await anyio.Path(video_mp4).read_bytes()
    transport = httpx2.ASGITransport(app=emulator_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as client:
        tokens = await client.post("/_emulator/tokens", json={"open_id": "demo-public"})
        auth = {"Authorization": "Bearer " + tokens.json()["access_token"]}
        init = await client.post(
            "/v2/post/publish/video/init/",
            headers=auth,
            json={
                "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "in process"},
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": len(data),
                    "chunk_size": len(data),
                    "total_chunk_count": 1,
                },
            },
        )
        url = init.json()["data"]["upload_url"]
        assert url.startswith("http://emulator/upload/video/")
        put = await client.put(
            url,
            content=data,
            headers={
                "Content-Type": "video/mp4",
                "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
            },
        )
        assert put.status_code == 201
        status = await client.post(
            "/v2/post/publish/status/fetch/",
            headers=auth,
            json={"publish_id": init.json()["data"]["publish_id"]},
        )
        assert status.json()["data"]["status"] == "PUBLISH_COMPLETE"
    backend = emulator_app.state.runtime.backend
    assert [p.title for p in backend.posts] == ["in process"]
