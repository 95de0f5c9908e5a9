"""TikTok's official examples (tests/fixtures/golden/) read and written by the library's models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from directpost.tiktok import (
    AuthorizationRemovedEvent,
    CreatorInfo,
    FileUploadSource,
    PhotoPostInfo,
    PhotoSource,
    PublishCompleteEvent,
    PublishInit,
    PublishStatus,
    Token,
    VideoPostInfo,
    parse_event,
    photo_init_body,
    video_source_from_json,
)

from .conftest import Driven
from .fake_tiktok import FakeTikTok

GOLDEN = Path(__file__).parent.parent / "fixtures" / "golden"


def load(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_token_example_parses_with_absolute_expiry() -> None:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    token = Token.from_response(load("token_response.json"), now)
    assert token.open_id == "afd97af1-b87b-48b9-ac98-410aghda5344"
    assert token.scopes == {"user.info.basic", "video.list"}
    assert token.access_expires_at == now + timedelta(days=1)
    assert token.refresh_expires_at == now + timedelta(days=365)


def test_creator_info_example_round_trips() -> None:
    body = load("creator_info_response.json")
    info = CreatorInfo.from_json(body["data"])
    assert info.creator_nickname == "TikTok Official" and info.stitch_disabled
    assert info.to_json() == body["data"]


def test_video_init_request_example_is_read_and_produced_both_ways(
    tk: Driven, fake: FakeTikTok
) -> None:
    example = load("video_init_request.json")
    post = VideoPostInfo.from_json(example["post_info"])
    source = video_source_from_json(example["source_info"])
    assert post.to_json() == example["post_info"]
    assert source == FileUploadSource.for_size(50_000_123, 10_000_000)
    fake.reply("/v2/post/publish/video/init/", 200, load("video_init_response.json"))
    init = tk.init_video(access_token="act.x", post_info=post, source=source)
    assert fake.last("/v2/post/publish/video/init/").json() == example
    assert init == PublishInit(
        "v_pub_file~v2-1.123456789",
        "https://open-upload.tiktokapis.com/video/?upload_id=67890&upload_token=Xza123",
    )


def test_photo_init_request_example_is_read_and_produced_both_ways(
    tk: Driven, fake: FakeTikTok
) -> None:
    example = load("photo_init_request.json")
    post = PhotoPostInfo.from_json(example["post_info"])
    source = PhotoSource.from_json(example["source_info"])
    assert photo_init_body(
        post_mode="DIRECT_POST", post_info=post, source=source, is_aigc=None
    ) == (example)
    fake.reply(
        "/v2/post/publish/content/init/",
        200,
        load("cancel_response.json") | {"data": {"publish_id": "p_pub_url~v2.123456789"}},
    )
    tk.init_photo(access_token="act.x", post_mode="DIRECT_POST", post_info=post, source=source)
    assert fake.last("/v2/post/publish/content/init/").json() == example


def test_status_example_parses() -> None:
    status = PublishStatus.from_json(load("status_response.json")["data"])
    assert status == PublishStatus(
        status="FAILED",
        fail_reason="picture_size_check_failed",
        post_ids=[],
        uploaded_bytes=10000,
    )
    assert status.is_final


def test_cancel_example_without_data_is_a_success(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply("/v2/post/publish/cancel/", 200, load("cancel_response.json"))
    assert tk.cancel(access_token="act.x", publish_id="v_pub_url~v2.123456789") is None


def test_webhook_examples_parse_to_typed_events() -> None:
    removed = parse_event((GOLDEN / "webhook_authorization_removed.json").read_bytes())
    assert isinstance(removed, AuthorizationRemovedEvent) and removed.reason == 1
    complete = parse_event((GOLDEN / "webhook_publish_complete.json").read_bytes())
    assert isinstance(complete, PublishCompleteEvent)
    assert complete.publish_id == "v_pub_url~v2-1.7261463769757501445"
    assert complete.create_time == 1690692732
