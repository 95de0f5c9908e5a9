"""Content Posting and user-info calls through the client, against the fake TikTok."""

from __future__ import annotations

import json

import pytest

from directpost.tiktok import (
    AccessTokenInvalidError,
    APIError,
    CreatorCannotPostError,
    FileUploadSource,
    InvalidParamsError,
    NotCancellableError,
    PendingShareLimitError,
    PhotoPostInfo,
    PhotoSource,
    PrivacyLevelMismatchError,
    PublishIdError,
    PullFromUrlSource,
    RequestValidationError,
    ScopeError,
    ServerError,
    TransportError,
    UnauditedClientError,
    UrlOwnershipUnverifiedError,
    VideoPostInfo,
    WaitTimeoutError,
)

from .conftest import Driven
from .fake_tiktok import LOG_ID, DroppedConnection, FakeTikTok, err, ok

CREATOR = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
PHOTO_INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CANCEL = "/v2/post/publish/cancel/"

CREATOR_DATA = {
    "creator_avatar_url": "https://example.test/a.jpg",
    "creator_username": "tiktok",
    "creator_nickname": "TikTok Official",
    "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
    "comment_disabled": False,
    "duet_disabled": False,
    "stitch_disabled": True,
    "max_video_post_duration_sec": 300,
}


def test_user_info_asks_for_the_fields_with_a_bearer_token(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(
        "/v2/user/info/", 200, ok({"user": {"open_id": "o1", "display_name": "Ann", "extra": 1}})
    )
    user = tk.user_info(access_token="act.1", fields=["open_id", "display_name"])
    sent = fake.last("/v2/user/info/")
    assert sent.method == "GET"
    assert sent.query == {"fields": "open_id,display_name"}
    assert sent.headers["authorization"] == "Bearer act.1"
    assert (user.open_id, user.display_name, user.username) == ("o1", "Ann", None)


def test_creator_info_is_parsed(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(CREATOR, 200, ok(CREATOR_DATA))
    info = tk.creator_info(access_token="act.1")
    assert info.creator_nickname == "TikTok Official"
    assert info.privacy_level_options == (
        "PUBLIC_TO_EVERYONE",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    )
    assert info.stitch_disabled and not info.duet_disabled
    assert info.max_video_post_duration_sec == 300
    assert info.to_json() == CREATOR_DATA
    assert fake.last(CREATOR).headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "code",
    ["spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap"],
)
def test_creator_info_with_a_blocking_code_at_http_200_raises(
    tk: Driven, fake: FakeTikTok, code: str
) -> None:
    fake.reply(CREATOR, 200, err(code, "try later"))
    with pytest.raises(CreatorCannotPostError) as info:
        tk.creator_info(access_token="act.1")
    assert (info.value.http_status, info.value.code, info.value.log_id) == (200, code, LOG_ID)
    assert not info.value.retryable


def test_direct_video_init_sends_every_post_info_field(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(
        VIDEO_INIT,
        200,
        ok({"publish_id": "v_pub_file~v2-1.1", "upload_url": "https://up.test/video/?id=1"}),
    )
    post = VideoPostInfo(
        privacy_level="SELF_ONLY",
        title="a #cat 🐈",
        disable_duet=True,
        disable_stitch=False,
        disable_comment=True,
        video_cover_timestamp_ms=1000,
        brand_content_toggle=False,
        brand_organic_toggle=True,
        is_aigc=True,
    )
    init = tk.init_video(
        access_token="act.1",
        post_info=post,
        source=FileUploadSource.for_size(50_000_123, 10_000_000),
    )
    assert (init.publish_id, init.upload_url) == (
        "v_pub_file~v2-1.1",
        "https://up.test/video/?id=1",
    )
    assert fake.last(VIDEO_INIT).json() == {
        "post_info": {
            "title": "a #cat 🐈",
            "privacy_level": "SELF_ONLY",
            "disable_duet": True,
            "disable_stitch": False,
            "disable_comment": True,
            "video_cover_timestamp_ms": 1000,
            "brand_content_toggle": False,
            "brand_organic_toggle": True,
            "is_aigc": True,
        },
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 50_000_123,
            "chunk_size": 10_000_000,
            "total_chunk_count": 5,
        },
    }


def test_fields_not_given_are_left_out_of_the_request(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(VIDEO_INIT, 200, ok({"publish_id": "v_pub_url~v2.1"}))
    init = tk.init_video(
        access_token="act.1",
        post_info=VideoPostInfo(privacy_level="PUBLIC_TO_EVERYONE"),
        source=PullFromUrlSource("https://media.example.com/v/1.mp4"),
    )
    assert init.upload_url is None
    assert fake.last(VIDEO_INIT).json() == {
        "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE"},
        "source_info": {
            "source": "PULL_FROM_URL",
            "video_url": "https://media.example.com/v/1.mp4",
        },
    }


def test_inbox_video_init_sends_only_source_info(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(INBOX_INIT, 200, ok({"publish_id": "v_inbox_url~v2.1"}))
    tk.init_inbox_video(access_token="act.1", source=PullFromUrlSource("https://m.example/x.mp4"))
    assert fake.last(INBOX_INIT).json() == {
        "source_info": {"source": "PULL_FROM_URL", "video_url": "https://m.example/x.mp4"}
    }


def test_photo_init_puts_is_aigc_at_top_level(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(PHOTO_INIT, 200, ok({"publish_id": "p_pub_url~v2.1"}))
    init = tk.init_photo(
        access_token="act.1",
        post_mode="DIRECT_POST",
        post_info=PhotoPostInfo(title="t", privacy_level="SELF_ONLY", auto_add_music=True),
        source=PhotoSource(["https://m.example/1.jpg", "https://m.example/2.jpg"], 1),
        is_aigc=False,
    )
    assert init.publish_id == "p_pub_url~v2.1"
    body = fake.last(PHOTO_INIT).json()
    assert body["is_aigc"] is False and "is_aigc" not in body["post_info"]
    assert body["media_type"] == "PHOTO" and body["post_mode"] == "DIRECT_POST"
    assert body["source_info"]["photo_cover_index"] == 1


def test_direct_photo_without_privacy_level_is_refused_before_sending(
    tk: Driven, fake: FakeTikTok
) -> None:
    with pytest.raises(RequestValidationError, match="privacy_level"):
        tk.init_photo(
            access_token="act.1",
            post_mode="DIRECT_POST",
            post_info=PhotoPostInfo(title="t"),
            source=PhotoSource(["https://m.example/1.jpg"]),
        )
    assert fake.requests == []


def test_caption_limits_are_counted_in_utf16_code_units() -> None:
    # 🐈 is one code point but two UTF-16 code units: 1100 cats = 2200 units, the video limit.
    VideoPostInfo(privacy_level="SELF_ONLY", title="🐈" * 1100)
    with pytest.raises(RequestValidationError, match="2201 UTF-16"):
        VideoPostInfo(privacy_level="SELF_ONLY", title="🐈" * 1100 + "a")
    PhotoPostInfo(title="🐈" * 45, description="é" * 4000)
    with pytest.raises(RequestValidationError, match="at most 90"):
        PhotoPostInfo(title="🐈" * 45 + "a")
    with pytest.raises(RequestValidationError, match="at most 4000"):
        PhotoPostInfo(description="🐈" * 2000 + "a")


def test_photo_sources_take_1_to_35_images_and_a_cover_inside_them() -> None:
    PhotoSource([f"https://m.example/{i}.jpg" for i in range(35)], 34)
    with pytest.raises(RequestValidationError, match="1 to 35"):
        PhotoSource([f"https://m.example/{i}.jpg" for i in range(36)])
    with pytest.raises(RequestValidationError, match="1 to 35"):
        PhotoSource([])
    with pytest.raises(RequestValidationError, match="outside"):
        PhotoSource(["https://m.example/1.jpg"], 1)


def test_status_keeps_19_digit_post_ids_exact_as_strings(tk: Driven, fake: FakeTikTok) -> None:
    raw = (
        b'{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":'
        b'[7261463769757501445, 9223372036854775807],"uploaded_bytes":10000},'
        b'"error":{"code":"ok","message":"","log_id":"x"}}'
    )
    fake.reply(STATUS, 200, raw, {"content-type": "application/json"})
    status = tk.fetch_status(access_token="act.1", publish_id="v_pub_file~v2-1.1")
    assert status.post_ids == ["7261463769757501445", "9223372036854775807"]
    assert status.is_final and status.uploaded_bytes == 10000
    assert fake.last(STATUS).json() == {"publish_id": "v_pub_file~v2-1.1"}


def test_status_refuses_a_post_id_that_went_through_a_float(tk: Driven, fake: FakeTikTok) -> None:
    raw = b'{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7.26e18]},"error":{"code":"ok"}}'
    fake.reply(STATUS, 200, raw)
    with pytest.raises(ValueError, match="not an integer literal"):
        tk.fetch_status(access_token="act.1", publish_id="p")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "access_token_invalid", AccessTokenInvalidError),
        (401, "scope_not_authorized", ScopeError),
        (400, "scope_permission_missed", ScopeError),
        (400, "invalid_param", InvalidParamsError),
        (400, "invalid_params", InvalidParamsError),
        (403, "spam_risk_too_many_posts", CreatorCannotPostError),
        (403, "spam_risk_too_many_pending_share", PendingShareLimitError),
        (403, "unaudited_client_can_only_post_to_private_accounts", UnauditedClientError),
        (403, "url_ownership_unverified", UrlOwnershipUnverifiedError),
        (403, "privacy_level_option_mismatch", PrivacyLevelMismatchError),
        (400, "invalid_publish_id", PublishIdError),
        (400, "publish_not_cancellable", NotCancellableError),
        (418, "something_new", APIError),
    ],
)
@pytest.mark.rules("DG-6")
def test_error_codes_map_to_their_classes_with_status_code_message_and_log_id(
    tk: Driven, fake: FakeTikTok, status: int, code: str, cls: type[APIError]
) -> None:
    fake.reply(CANCEL, status, err(code, "what went wrong"))
    with pytest.raises(APIError) as info:
        tk.cancel(access_token="act.1", publish_id="p")
    assert type(info.value) is cls
    assert (info.value.http_status, info.value.code, info.value.message, info.value.log_id) == (
        status,
        code,
        "what went wrong",
        LOG_ID,
    )
    assert info.value.body == err(code, "what went wrong")


def test_rate_limited_reads_are_retried_after_a_pause(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(CREATOR, 429, err("rate_limit_exceeded"))
    fake.reply(CREATOR, 200, ok(CREATOR_DATA))
    assert tk.creator_info(access_token="act.1").creator_username == "tiktok"
    assert len(tk.sleeps) == 1 and tk.sleeps[0] >= 5


def test_status_fetch_is_retried_after_a_dropped_connection(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply(STATUS, 200, DroppedConnection)
    fake.reply(STATUS, 200, ok({"status": "PROCESSING_UPLOAD"}))
    assert tk.fetch_status(access_token="a", publish_id="p").status == "PROCESSING_UPLOAD"
    assert sum(r.path == STATUS for r in fake.requests) == 2


def test_reads_give_up_after_max_retries_with_the_server_error(
    tk: Driven, fake: FakeTikTok
) -> None:
    for _ in range(5):
        fake.reply(STATUS, 500, err("internal_error", "boom"))
    with pytest.raises(ServerError) as info:
        tk.fetch_status(access_token="a", publish_id="p")
    assert info.value.retryable
    assert sum(r.path == STATUS for r in fake.requests) == 3  # first try + max_retries=2


@pytest.mark.parametrize("failure", ["500", "drop"])
def test_publish_inits_are_never_retried_by_the_library(
    tk: Driven, fake: FakeTikTok, failure: str
) -> None:
    # No duplicate posts (architecture.md): a lost init answer is ambiguous; the caller decides.
    if failure == "500":
        fake.reply(VIDEO_INIT, 500, err("internal_error"))
        expected: type[Exception] = ServerError
    else:
        fake.reply(VIDEO_INIT, 200, DroppedConnection)
        expected = TransportError
    fake.reply(VIDEO_INIT, 200, ok({"publish_id": "second"}))
    with pytest.raises(expected):
        tk.init_video(
            access_token="a",
            post_info=VideoPostInfo(privacy_level="SELF_ONLY"),
            source=PullFromUrlSource("https://m.example/v.mp4"),
        )
    assert sum(r.path == VIDEO_INIT for r in fake.requests) == 1


def test_a_non_json_gateway_error_is_a_server_error(tk: Driven, fake: FakeTikTok) -> None:
    for _ in range(3):
        fake.reply(CANCEL, 502, b"<html>bad gateway</html>")
    with pytest.raises(ServerError, match="bad gateway"):
        tk.cancel(access_token="a", publish_id="p")


def test_wait_for_status_polls_with_growing_pauses_until_final(
    tk: Driven, fake: FakeTikTok
) -> None:
    for _ in range(3):
        fake.reply(STATUS, 200, ok({"status": "PROCESSING_DOWNLOAD", "downloaded_bytes": 5}))
    fake.reply(STATUS, 200, ok({"status": "FAILED", "fail_reason": "video_pull_failed"}))
    status = tk.wait_for_status(access_token="a", publish_id="p", interval=2.0)
    assert (status.status, status.fail_reason) == ("FAILED", "video_pull_failed")
    assert tk.sleeps == [2.0, 3.0, 4.5]


def test_wait_for_status_stops_at_the_inbox_and_gives_up_after_max_polls(
    tk: Driven, fake: FakeTikTok
) -> None:
    fake.reply(STATUS, 200, ok({"status": "SEND_TO_USER_INBOX"}))
    assert tk.wait_for_status(access_token="a", publish_id="p").status == "SEND_TO_USER_INBOX"
    for _ in range(2):
        fake.reply(STATUS, 200, ok({"status": "PROCESSING_UPLOAD"}))
    with pytest.raises(WaitTimeoutError, match="do not start a new init"):
        tk.wait_for_status(access_token="a", publish_id="p", max_polls=2)


def test_error_bodies_keep_the_raw_json(tk: Driven, fake: FakeTikTok) -> None:
    body = {"data": {}, "error": {"code": "invalid_params", "message": "m", "log_id": "L"}, "x": 1}
    fake.reply(CANCEL, 400, body)
    with pytest.raises(InvalidParamsError) as info:
        tk.cancel(access_token="a", publish_id="p")
    assert json.dumps(info.value.body, sort_keys=True) == json.dumps(body, sort_keys=True)
