"""Issue 19: public post ids come after moderation, and one inbox draft can become several posts.

Spec §3.6: `publicaly_available_post_id` is filled "only when the post is public and passed
moderation" and "can hold several ids (inbox draft reused for multiple posts)"; §6.3:
`post.publish.complete` "may fire more than once per publish_id" for inbox uploads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from directpost.emulator import EmulatorConfig
from tests.emulator.helpers import put_chunk, upload_whole
from tests.fixtures.emulator import EmulatorHandle, WebhookSink

STATUS = "/v2/post/publish/status/fetch/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"


def events(sink: WebhookSink) -> list[tuple[str, dict[str, Any]]]:
    return [
        (body["event"], json.loads(body["content"]))
        for body in (json.loads(item["body"]) for item in sink.received)
    ]


def status(h: EmulatorHandle, token: str, publish_id: str) -> dict[str, Any]:
    answer = h.api(STATUS, token, {"publish_id": publish_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


def test_public_post_id_and_its_webhook_wait_for_moderation_on_the_emulator_clock(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink, video_mp4: Path
) -> None:
    h = emulator_server
    assert EmulatorConfig().public_post_delay_s > 0  # the default keeps posts in moderation
    h.register_app(webhook_url=webhook_sink.url)
    h.control("config", {"public_post_delay_s": 120})
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    h.wait_for_status(publish_id)
    first = status(h, token, publish_id)
    assert first["status"] == "PUBLISH_COMPLETE"
    assert first["publicaly_available_post_id"] == []  # posted, not yet public
    webhook_sink.wait(1)
    assert [e for e, _ in events(webhook_sink)] == ["post.publish.complete"]
    page = h.client.get("/_emulator/creators/demo-public").text
    assert "in moderation: no public id yet" in page

    h.control("clock", {"advance_s": 119})
    assert status(h, token, publish_id)["publicaly_available_post_id"] == []
    h.control("clock", {"advance_s": 1})
    raw = h.api(STATUS, token, {"publish_id": publish_id}).text
    (post_id,) = status(h, token, publish_id)["publicaly_available_post_id"]
    assert f'"publicaly_available_post_id":[{post_id}]' in raw.replace(" ", "")  # a bare number
    webhook_sink.wait(2)
    public = dict(events(webhook_sink))["post.publish.publicly_available"]
    assert public == {
        "publish_id": publish_id,
        "post_id": post_id,
        "publish_type": "DIRECT_PUBLISH",
    }
    assert "in moderation" not in h.client.get("/_emulator/creators/demo-public").text


def test_a_post_made_private_during_moderation_never_becomes_public(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink, video_mp4: Path
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    h.control("config", {"public_post_delay_s": 60})
    token = h.token("demo-public")
    publish_id = upload_whole(h, token, video_mp4.read_bytes())
    h.wait_for_status(publish_id)
    (post,) = h.state()["posts"]["demo-public"]
    h.control(f"posts/{post['post_id']}/privacy", {"privacy_level": "SELF_ONLY"})
    h.control("clock", {"advance_s": 600})
    assert status(h, token, publish_id)["publicaly_available_post_id"] == []
    webhook_sink.wait(1)
    assert [e for e, _ in events(webhook_sink)] == ["post.publish.complete"]


def test_an_inbox_draft_posted_twice_becomes_two_posts_with_two_public_ids(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink, video_mp4: Path
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    token = h.token("demo-public")
    data = video_mp4.read_bytes()
    source = {"source": "FILE_UPLOAD", "video_size": len(data), "chunk_size": len(data)}
    init = h.api(INBOX_INIT, token, {"source_info": {**source, "total_chunk_count": 1}})
    publish_id = init.json()["data"]["publish_id"]
    assert put_chunk(init.json()["data"]["upload_url"], data, 0, len(data)).status_code == 201
    h.wait_for_status(publish_id, "SEND_TO_USER_INBOX")

    first = h.control(
        f"publishes/{publish_id}/post", {"title": "once", "privacy_level": "PUBLIC_TO_EVERYONE"}
    )
    second = h.control(
        f"publishes/{publish_id}/post", {"title": "twice", "privacy_level": "PUBLIC_TO_EVERYONE"}
    )
    private = h.control(f"publishes/{publish_id}/post", {"title": "just me"})
    assert len({first["post_id"], second["post_id"], private["post_id"]}) == 3
    answer = status(h, token, publish_id)
    assert answer["status"] == "PUBLISH_COMPLETE"
    assert sorted(str(i) for i in answer["publicaly_available_post_id"]) == sorted(
        [first["post_id"], second["post_id"]]
    )
    webhook_sink.wait(6)
    names = [e for e, _ in events(webhook_sink)]
    assert names.count("post.publish.complete") == 3
    assert names.count("post.publish.publicly_available") == 2
    public_ids = {
        str(c["post_id"]) for e, c in events(webhook_sink) if e == "post.publish.publicly_available"
    }
    assert public_ids == {first["post_id"], second["post_id"]}
    titles = [p["title"] for p in h.state()["posts"]["demo-public"]]
    assert sorted(titles) == ["just me", "once", "twice"]


def test_a_direct_post_cannot_be_posted_again_from_the_inbox(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    publish_id = upload_whole(h, h.token("demo-public"), video_mp4.read_bytes())
    h.wait_for_status(publish_id)
    answer = h.client.post(f"/_emulator/publishes/{publish_id}/post", json={})
    assert answer.status_code == 400
    assert "only inbox drafts" in answer.json()["error"]
