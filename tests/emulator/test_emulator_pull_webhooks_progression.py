"""PULL_FROM_URL downloads, cancel, signed webhooks with retries, and publish progression as data."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.helpers import error_code, upload_whole
from tests.fixtures.emulator import EmulatorHandle, MediaHost, WebhookSink
from tests.fixtures.media_files import make_photo, make_video

VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
CONTENT_INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CANCEL = "/v2/post/publish/cancel/"


def verified_app(h: EmulatorHandle, host: MediaHost, sink: WebhookSink | None = None) -> None:
    h.register_app(
        verified_url_prefixes=[host.base_url],
        webhook_url=sink.url if sink else None,
    )


def pull(h: EmulatorHandle, token: str, url: str, privacy: str = "PUBLIC_TO_EVERYONE") -> str:
    body = {
        "post_info": {"privacy_level": privacy, "title": "pulled #video"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": url},
    }
    init = h.api(VIDEO_INIT, token, body)
    assert error_code(init) == (200, "ok"), init.text
    assert set(init.json()["data"]) == {"publish_id"}
    return str(init.json()["data"]["publish_id"])


def events(sink: WebhookSink) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in sink.received:
        body = json.loads(item["body"])
        out.append((body["event"], json.loads(body["content"])))
    return out


def test_pull_downloads_the_url_and_publishes_it(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost, video_mp4: Path
) -> None:
    h = emulator_server
    verified_app(h, emulator_media_host)
    url = emulator_media_host.add("clip.mp4", video_mp4)
    token = h.token("demo-public")
    publish_id = pull(h, token, url)
    done = h.wait_for_status(publish_id)
    assert done["status"] == "PUBLISH_COMPLETE"
    assert done["downloaded_bytes"] == video_mp4.stat().st_size
    assert done["sha256"] == hashlib.sha256(video_mp4.read_bytes()).hexdigest()
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert data["downloaded_bytes"] == video_mp4.stat().st_size
    assert "uploaded_bytes" not in data


def test_pull_of_a_missing_or_redirecting_url_fails_video_pull_failed(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost
) -> None:
    h = emulator_server
    verified_app(h, emulator_media_host)
    token = h.token("demo-public")
    missing = pull(h, token, emulator_media_host.base_url + "nope.mp4")
    # The media host answers a folder without a trailing slash with a 301 redirect.
    (emulator_media_host.root / "folder").mkdir(exist_ok=True)
    redirect = pull(h, token, emulator_media_host.base_url + "folder")
    for publish_id in (missing, redirect):
        failed = h.wait_for_status(publish_id)
        assert (failed["status"], failed["fail_reason"]) == ("FAILED", "video_pull_failed")


def test_pull_that_does_not_finish_within_an_hour_fails(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost
) -> None:
    h = emulator_server
    verified_app(h, emulator_media_host)
    h.control("faults", {"endpoint": "pull", "delay_s": 30})
    publish_id = pull(h, h.token("demo-public"), emulator_media_host.base_url + "x.mp4")
    h.control("clock", {"advance_s": 3601})
    failed = h.wait_for_status(publish_id)
    assert failed["fail_reason"] == "video_pull_failed"


def test_cancel_stops_a_download_and_sends_the_failure_webhook(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    verified_app(h, emulator_media_host, webhook_sink)
    h.control("faults", {"endpoint": "pull", "delay_s": 30})
    token = h.token("demo-public")
    publish_id = pull(h, token, emulator_media_host.base_url + "slow.mp4")
    answer = h.api(CANCEL, token, {"publish_id": publish_id})
    assert error_code(answer) == (200, "ok")
    assert "data" not in answer.json()
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert (data["status"], data["fail_reason"]) == ("FAILED", "publish_cancelled")
    webhook_sink.wait(1)
    assert events(webhook_sink) == [
        (
            "post.publish.failed",
            {
                "publish_id": publish_id,
                "publish_type": "DIRECT_PUBLISH",
                "reason": "publish_cancelled",
            },
        )
    ]
    again = h.api(CANCEL, token, {"publish_id": publish_id})
    assert error_code(again) == (400, "publish_not_cancellable")


def test_webhooks_are_signed_with_the_client_secret_as_documented(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink, video_mp4: Path
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    h.control("clock", {"advance_s": 7200})
    publish_id = upload_whole(h, h.token("demo-public"), video_mp4.read_bytes())
    received = webhook_sink.wait(2)
    for item in received:
        header = item["headers"]["TikTok-Signature"]
        parts = dict(p.split("=", 1) for p in header.split(","))
        # t is wall-clock time so receivers' freshness checks pass after a clock advance.
        assert abs(int(parts["t"]) - time.time()) < 600
        expected = hmac.new(
            h.client_secret.encode(), parts["t"].encode() + b"." + item["body"], hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(parts["s"], expected)
        body = json.loads(item["body"])
        assert set(body) == {"client_key", "event", "create_time", "user_openid", "content"}
        assert body["client_key"] == h.client_key and body["user_openid"] == "demo-public"
        assert isinstance(body["content"], str)
    kinds = dict(events(webhook_sink))
    assert kinds["post.publish.complete"] == {
        "publish_id": publish_id,
        "publish_type": "DIRECT_PUBLISH",
    }
    assert len(str(kinds["post.publish.publicly_available"]["post_id"])) == 19


def test_webhooks_are_retried_until_200_and_every_attempt_is_recorded(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    webhook_sink.statuses = [500, 404]
    token = h.token("demo-public")
    h.client.post(
        "/v2/oauth/revoke/",
        data={"client_key": h.client_key, "client_secret": h.client_secret, "token": token},
    )
    webhook_sink.wait(3)
    state = h.wait_for(lambda s: s["webhooks"] and s["webhooks"][0]["delivered"])
    delivery = state["webhooks"][0]
    assert delivery["event"] == "authorization.removed"
    assert json.loads(delivery["body"]["content"]) == {"reason": 5}
    assert [a["status"] for a in delivery["attempts"]] == [500, 404, 200]


def test_webhook_retries_are_bounded(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    h.control("config", {"webhook_retry_delays_s": [0.01, 0.01]})
    webhook_sink.statuses = [500] * 10
    h.control("creators/demo-public/deauthorize", {"client_key": h.client_key, "reason": 1})
    state = h.wait_for(lambda s: s["webhooks"] and s["webhooks"][0]["gave_up"])
    assert len(state["webhooks"][0]["attempts"]) == 3


def test_revoke_during_processing_fails_the_publish_with_auth_removed(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost
) -> None:
    h = emulator_server
    verified_app(h, emulator_media_host)
    h.control("faults", {"endpoint": "pull", "delay_s": 30})
    token = h.token("demo-public")
    publish_id = pull(h, token, emulator_media_host.base_url + "slow.mp4")
    h.control("creators/demo-public/deauthorize", {"client_key": h.client_key, "reason": 1})
    assert h.publish(publish_id)["fail_reason"] == "auth_removed"


def test_progression_after_n_polls(emulator_server: EmulatorHandle, video_mp4: Path) -> None:
    h = emulator_server
    h.control("progression", {"mode": "polls", "value": 3})
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    seen = [
        h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]["status"] for _ in range(4)
    ]
    assert seen == [
        "PROCESSING_UPLOAD",
        "PROCESSING_UPLOAD",
        "PUBLISH_COMPLETE",
        "PUBLISH_COMPLETE",
    ]


def test_progression_after_t_seconds_follows_the_emulator_clock(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    h.register_app(progression={"mode": "seconds", "value": 120})
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    assert h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]["status"] == (
        "PROCESSING_UPLOAD"
    )
    h.control("clock", {"advance_s": 121})
    assert h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]["status"] == (
        "PUBLISH_COMPLETE"
    )


@pytest.mark.parametrize(
    "reason",
    [
        "internal",
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "spam_risk_text",
        "spam_risk",
    ],
)
def test_forced_fail_reason_through_the_processing_fault(
    emulator_server: EmulatorHandle, video_mp4: Path, reason: str
) -> None:
    h = emulator_server
    h.control("faults", {"endpoint": "processing", "fail_reason": reason})
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    data = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert (data["status"], data["fail_reason"]) == ("FAILED", reason)


def test_inbox_upload_goes_to_the_inbox_and_the_creator_can_post_it(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink, video_mp4: Path
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    token = h.token("demo-public")
    data = video_mp4.read_bytes()
    source = {"source": "FILE_UPLOAD", "video_size": len(data), "chunk_size": len(data)}
    init = h.api(INBOX_INIT, token, {"source_info": {**source, "total_chunk_count": 1}})
    publish_id = init.json()["data"]["publish_id"]
    assert publish_id.startswith("v_inbox_file~")
    from tests.emulator.helpers import put_chunk

    assert put_chunk(init.json()["data"]["upload_url"], data, 0, len(data)).status_code == 201
    status = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]["status"]
    assert status == "SEND_TO_USER_INBOX"
    post = h.control(
        f"publishes/{publish_id}/post",
        {"title": "posted from the app", "privacy_level": "PUBLIC_TO_EVERYONE"},
    )
    assert post["via_inbox"] and post["title"] == "posted from the app"
    final = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"]
    assert final["status"] == "PUBLISH_COMPLETE" and len(final["publicaly_available_post_id"]) == 1
    webhook_sink.wait(3)
    # Deliveries run concurrently (TikTok promises no order either).
    assert sorted(e for e, _ in events(webhook_sink)) == [
        "post.publish.complete",
        "post.publish.inbox_delivered",
        "post.publish.publicly_available",
    ]
    assert all(c["publish_type"] == "INBOX_SHARE" for _, c in events(webhook_sink))


def test_photo_post_is_pulled_checked_and_shown_on_the_profile(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost, tmp_path: Path
) -> None:
    h = emulator_server
    verified_app(h, emulator_media_host)
    urls = [
        emulator_media_host.add("p1.jpg", make_photo(tmp_path / "p1.jpg", width=1080, height=1080)),
        emulator_media_host.add(
            "p2.webp", make_photo(tmp_path / "p2.webp", width=800, height=600, fmt="WEBP")
        ),
    ]
    body: dict[str, Any] = {
        "post_info": {
            "title": "two photos",
            "description": "a #photo post",
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": True,
            "brand_organic_toggle": True,
        },
        "source_info": {"source": "PULL_FROM_URL", "photo_images": urls, "photo_cover_index": 1},
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
        "is_aigc": True,
    }
    init = h.api(CONTENT_INIT, h.token("demo-public"), body)
    publish_id = init.json()["data"]["publish_id"]
    assert publish_id.startswith("p_pub_url~")
    assert h.wait_for_status(publish_id)["status"] == "PUBLISH_COMPLETE"
    page = h.client.get("/_emulator/creators/demo-public").text
    assert "two photos" in page and "Promotional content" in page
    assert "Creator labeled as AI-generated" in page and "Comments off" in page
    assert page.count('class="media"') == 2
    photo = h.client.get(f"/_emulator/media/{publish_id}/1")
    assert photo.headers["content-type"] == "image/webp"
    png = emulator_media_host.add("p3.png", make_photo(tmp_path / "p3.png", fmt="PNG"))
    big = emulator_media_host.add(
        "p4.jpg", make_photo(tmp_path / "p4.jpg", width=2000, height=1500)
    )
    for url, reason in ((png, "file_format_check_failed"), (big, "picture_size_check_failed")):
        body["source_info"] = {
            "source": "PULL_FROM_URL",
            "photo_images": [url],
            "photo_cover_index": 0,
        }
        pid = h.api(CONTENT_INIT, h.token("demo-public"), body).json()["data"]["publish_id"]
        assert h.wait_for_status(pid)["fail_reason"] == reason
    body["source_info"]["photo_images"] = [emulator_media_host.base_url + "none.jpg"]
    pid = h.api(CONTENT_INIT, h.token("demo-public"), body).json()["data"]["publish_id"]
    assert h.wait_for_status(pid)["fail_reason"] == "photo_pull_failed"


def test_pulled_media_is_probed_like_uploaded_media(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost, tmp_path: Path
) -> None:
    """A pulled 15 fps video and a pulled photo over 20 MB fail with the documented reasons."""
    h = emulator_server
    verified_app(h, emulator_media_host)
    slow = emulator_media_host.add("slow.mp4", make_video(tmp_path / "slow.mp4", fps=15))
    failed = h.wait_for_status(pull(h, h.token("demo-public"), slow))
    assert (failed["status"], failed["fail_reason"]) == ("FAILED", "frame_rate_check_failed")
    assert failed["probe"]["fps"] == 15
    photo = make_photo(tmp_path / "heavy.jpg", width=1080, height=1080).read_bytes()
    heavy = emulator_media_host.add("heavy.jpg", photo + b"\0" * (20 * 1024 * 1024))
    body = {
        "post_info": {"privacy_level": "SELF_ONLY"},
        "source_info": {"source": "PULL_FROM_URL", "photo_images": [heavy], "photo_cover_index": 0},
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }
    pid = h.api(CONTENT_INIT, h.token("demo-public"), body).json()["data"]["publish_id"]
    assert h.wait_for_status(pid)["fail_reason"] == "picture_size_check_failed"


def test_making_a_post_private_sends_no_longer_publicaly_available(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink, video_mp4: Path
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    (post_id,) = h.api(STATUS, token, {"publish_id": publish_id}).json()["data"][
        "publicaly_available_post_id"
    ]
    h.control(f"posts/{post_id}/privacy", {"privacy_level": "SELF_ONLY"})
    webhook_sink.wait(3)
    assert "post.publish.no_longer_publicaly_available" in [e for e, _ in events(webhook_sink)]
    assert (
        h.api(STATUS, token, {"publish_id": publish_id}).json()["data"][
            "publicaly_available_post_id"
        ]
        == []
    )
