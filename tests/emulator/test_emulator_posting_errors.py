"""Every documented error code of every Content Posting endpoint is reachable (spec §3, §5)."""

from __future__ import annotations

from typing import Any

from tests.emulator.helpers import error_code, video_init_body
from tests.fixtures.emulator import EmulatorHandle

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
CONTENT_INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CANCEL = "/v2/post/publish/cancel/"


def pull_body(url: str, privacy: str = "PUBLIC_TO_EVERYONE") -> dict[str, Any]:
    return {
        "post_info": {"privacy_level": privacy, "title": "pulled"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": url},
    }


def photo_body(
    urls: list[str], *, mode: str = "DIRECT_POST", privacy: str = "PUBLIC_TO_EVERYONE"
) -> dict[str, Any]:
    info: dict[str, Any] = {"title": "photos", "description": "a #photo post"}
    if mode == "DIRECT_POST":
        info["privacy_level"] = privacy
    return {
        "post_info": info,
        "source_info": {"source": "PULL_FROM_URL", "photo_images": urls, "photo_cover_index": 0},
        "post_mode": mode,
        "media_type": "PHOTO",
    }


UNVERIFIED = "https://elsewhere.example/a.mp4"


def test_creator_info_blocked_codes_come_with_http_200(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    ok = h.api(CREATOR_INFO, h.token("demo-public"))
    assert error_code(ok) == (200, "ok")
    assert ok.json()["data"]["privacy_level_options"] == [
        "PUBLIC_TO_EVERYONE",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    ]
    capped = h.api(CREATOR_INFO, h.token("demo-capped"))
    assert error_code(capped) == (200, "spam_risk_too_many_posts")
    assert capped.json()["data"] == {}
    banned = h.api(CREATOR_INFO, h.token("demo-banned"))
    assert error_code(banned) == (200, "spam_risk_user_banned_from_posting")


def test_creator_info_of_private_and_restricted_creators(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    private = h.api(CREATOR_INFO, h.token("demo-private")).json()["data"]
    assert private["privacy_level_options"] == [
        "FOLLOWER_OF_CREATOR",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    ]
    assert private["duet_disabled"] and private["stitch_disabled"]
    quiet = h.api(CREATOR_INFO, h.token("demo-no-comments")).json()["data"]
    assert quiet["comment_disabled"] and not quiet["duet_disabled"]
    solo = h.api(CREATOR_INFO, h.token("demo-no-duet-stitch")).json()["data"]
    assert solo["duet_disabled"] and solo["stitch_disabled"] and not solo["comment_disabled"]
    short = h.api(CREATOR_INFO, h.token("demo-60s")).json()["data"]
    assert short["max_video_post_duration_sec"] == 60


def test_creator_info_needs_video_publish_and_is_limited_to_20_per_minute(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    upload_only = h.token("demo-public", scopes=["user.info.basic", "video.upload"])
    assert error_code(h.api(CREATOR_INFO, upload_only)) == (401, "scope_not_authorized")
    token = h.token("demo-public")
    codes = [error_code(h.api(CREATOR_INFO, token))[1] for _ in range(21)]
    assert codes[:20] == ["ok"] * 20 and codes[20] == "rate_limit_exceeded"
    assert error_code(h.api(CREATOR_INFO, token))[0] == 429
    assert h.state()["refused"][-1]["code"] == "rate_limit_exceeded"
    h.control("clock", {"advance_s": 60})
    assert error_code(h.api(CREATOR_INFO, token)) == (200, "ok")


def test_video_init_validation_errors_use_the_configured_code(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    bad_bodies: list[Any] = [
        {"post_info": {"privacy_level": "SELF_ONLY"}},
        video_init_body(size=6 * 1024 * 1024, chunk=6 * 1024 * 1024, count=2),
        video_init_body(size=4_000_000, chunk=1_000_000, count=4),
        video_init_body(title="x" * 2201),
        video_init_body(disable_comment="yes"),
        [1, 2],
    ]
    for body in bad_bodies:
        fresh = h.token("demo-public")  # refused calls count against the 6/min budget too
        assert error_code(h.api(VIDEO_INIT, fresh, body)) == (400, "invalid_params"), body
    h.control("clock", {"advance_s": 60})
    not_json = h.client.post(
        VIDEO_INIT, content=b"{nope", headers={"Authorization": f"Bearer {token}"}
    )
    assert error_code(not_json) == (400, "invalid_params")
    h.control("config", {"invalid_param_code": "invalid_param"})
    assert error_code(h.api(VIDEO_INIT, token, bad_bodies[0])) == (400, "invalid_param")
    too_big = video_init_body(size=5 * 1024**3, chunk=64 * 1024 * 1024, count=80)
    assert error_code(h.api(VIDEO_INIT, token, too_big)) == (400, "invalid_file_upload")


def test_video_init_403s(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    verified = h.verified_url("a.mp4")  # its pull is refused: a closed test-owned port
    public = h.token("demo-public")
    assert error_code(h.api(VIDEO_INIT, h.token("demo-capped"), video_init_body())) == (
        403,
        "spam_risk_too_many_posts",
    )
    assert error_code(h.api(VIDEO_INIT, h.token("demo-banned"), video_init_body())) == (
        403,
        "spam_risk_user_banned_from_posting",
    )
    assert error_code(h.api(VIDEO_INIT, public, {"post_info": {}, "source_info": {}})) == (
        400,
        "invalid_params",
    )
    mismatch = h.api(VIDEO_INIT, h.token("demo-private"), video_init_body())
    assert error_code(mismatch) == (403, "privacy_level_option_mismatch")
    no_privacy = video_init_body()
    del no_privacy["post_info"]["privacy_level"]
    assert error_code(h.api(VIDEO_INIT, public, no_privacy)) == (
        403,
        "privacy_level_option_mismatch",
    )
    assert error_code(h.api(VIDEO_INIT, public, pull_body(UNVERIFIED))) == (
        403,
        "url_ownership_unverified",
    )
    assert error_code(h.api(VIDEO_INIT, public, pull_body(verified))) == (200, "ok")
    upload_only = h.token("demo-public", scopes=["video.upload"])
    assert error_code(h.api(VIDEO_INIT, upload_only, video_init_body())) == (
        401,
        "scope_not_authorized",
    )


def test_posting_cap_of_15_per_creator_per_day(emulator_server: EmulatorHandle) -> None:
    """CAP-3: the posting cap TikTok enforces (about 15 per creator per 24 h)."""
    h = emulator_server
    token = h.token("demo-public")
    codes = []
    for i in range(16):
        if i and i % 6 == 0:
            h.control("clock", {"advance_s": 61})
        codes.append(error_code(h.api(VIDEO_INIT, token, video_init_body()))[1])
    assert codes == ["ok"] * 15 + ["spam_risk_too_many_posts"]
    assert error_code(h.api(CREATOR_INFO, token)) == (200, "spam_risk_too_many_posts")
    h.control("clock", {"advance_s": 86400})
    fresh = h.token("demo-public")  # the old access token expired with the day
    assert error_code(h.api(VIDEO_INIT, fresh, video_init_body())) == (200, "ok")


def test_init_is_limited_to_6_per_minute_per_token(emulator_server: EmulatorHandle) -> None:
    """CAP-4: init requests are limited per token per sliding minute."""
    h = emulator_server
    token = h.token("demo-public")
    codes = [error_code(h.api(VIDEO_INIT, token, video_init_body()))[1] for _ in range(7)]
    assert codes == ["ok"] * 6 + ["rate_limit_exceeded"]
    # Another init endpoint has its own budget.
    inbox = {"source_info": video_init_body()["source_info"]}
    assert error_code(h.api(INBOX_INIT, token, inbox)) == (200, "ok")


def unaudited_world(h: EmulatorHandle, creators: int) -> list[str]:
    h.register_app(client_key="unaudited1", client_secret="s3cret-unaudited", audited=False)
    tokens = []
    for i in range(creators):
        h.control("creators", {"open_id": f"priv-{i}", "private_account": True})
        tokens.append(h.token(f"priv-{i}", client_key="unaudited1"))
    return tokens


def test_unaudited_app_rules(emulator_server: EmulatorHandle) -> None:
    """CAP-1 and CAP-2 as TikTok enforces them: 5 creators / 24 h, private accounts, SELF_ONLY."""
    h = emulator_server
    tokens = unaudited_world(h, 6)
    public_account = h.token("demo-public", client_key="unaudited1")
    assert error_code(h.api(VIDEO_INIT, public_account, video_init_body(privacy="SELF_ONLY"))) == (
        403,
        "unaudited_client_can_only_post_to_private_accounts",
    )
    assert error_code(
        h.api(VIDEO_INIT, tokens[0], video_init_body(privacy="MUTUAL_FOLLOW_FRIENDS"))
    ) == (
        403,
        "privacy_level_option_mismatch",
    )
    for token in tokens[:5]:
        assert error_code(h.api(VIDEO_INIT, token, video_init_body(privacy="SELF_ONLY"))) == (
            200,
            "ok",
        )
    sixth = tokens[5]
    assert error_code(h.api(CREATOR_INFO, sixth)) == (200, "reached_active_user_cap")
    assert error_code(h.api(VIDEO_INIT, sixth, video_init_body(privacy="SELF_ONLY"))) == (
        403,
        "reached_active_user_cap",
    )
    # One of the five may keep posting.
    assert error_code(h.api(VIDEO_INIT, tokens[0], video_init_body(privacy="SELF_ONLY")))[1] == "ok"
    h.control("clock", {"advance_s": 86400})
    sixth = h.token("priv-5", client_key="unaudited1")
    assert error_code(h.api(VIDEO_INIT, sixth, video_init_body(privacy="SELF_ONLY")))[1] == "ok"


def test_unaudited_non_self_only_can_be_downgraded_instead(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    (token,) = unaudited_world(h, 1)
    h.control("config", {"unaudited_privacy": "downgrade"})
    init = h.api(VIDEO_INIT, token, video_init_body(privacy="FOLLOWER_OF_CREATOR"))
    assert error_code(init) == (200, "ok")
    assert h.publish(init.json()["data"]["publish_id"])["privacy_level"] == "SELF_ONLY"


def test_audited_app_creator_cap(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    h.register_app(creator_cap=1)
    assert error_code(h.api(VIDEO_INIT, h.token("demo-public"), video_init_body()))[1] == "ok"
    second = h.token("demo-no-comments")
    assert error_code(h.api(VIDEO_INIT, second, video_init_body())) == (
        403,
        "reached_active_user_cap",
    )


def test_inbox_init_errors(emulator_server: EmulatorHandle) -> None:
    """Includes CAP-5: at most 5 pending inbox shares per creator per 24 h."""
    h = emulator_server
    verified = h.verified_url("a.mp4")  # its pull is refused: a closed test-owned port
    token = h.token("demo-public")
    body = {"source_info": video_init_body()["source_info"]}
    assert error_code(h.api(INBOX_INIT, token, {"source_info": {"source": "X"}})) == (
        400,
        "invalid_params",
    )
    assert error_code(h.api(INBOX_INIT, h.token("demo-banned"), body)) == (
        403,
        "spam_risk_user_banned_from_posting",
    )
    unverified = {"source_info": {"source": "PULL_FROM_URL", "video_url": UNVERIFIED}}
    assert error_code(h.api(INBOX_INIT, token, unverified)) == (403, "url_ownership_unverified")
    publish_only = h.token("demo-public", scopes=["video.publish"])
    assert error_code(h.api(INBOX_INIT, publish_only, body)) == (401, "scope_not_authorized")
    limited = h.token("demo-no-comments")
    codes = [error_code(h.api(INBOX_INIT, limited, {"source_info": {}}))[1] for _ in range(7)]
    assert codes == ["invalid_params"] * 6 + ["rate_limit_exceeded"]
    # Inbox uploads are not limited by the daily direct-post cap but by 5 pending shares.
    capped = h.token("demo-capped")
    for _ in range(5):
        assert error_code(h.api(INBOX_INIT, capped, body)) == (200, "ok")
    h.control("clock", {"advance_s": 61})
    assert error_code(h.api(INBOX_INIT, capped, body)) == (403, "spam_risk_too_many_pending_share")
    assert error_code(h.api(CONTENT_INIT, capped, photo_body([verified], mode="MEDIA_UPLOAD"))) == (
        403,
        "spam_risk_too_many_pending_share",
    )


def test_content_init_errors(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    verified = h.verified_url("a.mp4")  # its pull is refused: a closed test-owned port
    token = h.token("demo-public")
    good = photo_body([verified])
    assert error_code(h.api(CONTENT_INIT, token, good)) == (200, "ok")
    invalid = [
        {**good, "media_type": "VIDEO"},
        {**good, "post_mode": "DIRECT POST"},
        photo_body([verified] * 36),
        {**good, "post_info": {**good["post_info"], "title": "t" * 91}},
        {**good, "post_info": {**good["post_info"], "disable_duet": True}},
        {**good, "source_info": {**good["source_info"], "photo_cover_index": 3}},
    ]
    for body in invalid:
        assert error_code(h.api(CONTENT_INIT, h.token("demo-public"), body)) == (
            400,
            "invalid_params",
        ), body
    h.control("creators", {"open_id": "demo-public", "app_version": "30.2"})
    old_app = h.api(CONTENT_INIT, token, photo_body([verified], mode="MEDIA_UPLOAD"))
    assert error_code(old_app) == (400, "app_version_check_failed")
    h.control("clock", {"advance_s": 61})
    cases = {
        "demo-capped": (good, "spam_risk_too_many_posts"),
        "demo-banned": (good, "spam_risk_user_banned_from_posting"),
        "demo-private": (good, "privacy_level_option_mismatch"),
        "demo-no-comments": (photo_body([UNVERIFIED]), "url_ownership_unverified"),
    }
    for open_id, (body, code) in cases.items():
        assert error_code(h.api(CONTENT_INIT, h.token(open_id), body)) == (403, code), open_id
    upload_only = h.token("demo-60s", scopes=["video.upload"])
    assert error_code(h.api(CONTENT_INIT, upload_only, good)) == (401, "scope_not_authorized")
    (unaudited,) = unaudited_world(h, 1)
    public_unaudited = h.token("demo-60s", client_key="unaudited1")
    assert error_code(h.api(CONTENT_INIT, public_unaudited, photo_body([verified]))) == (
        403,
        "unaudited_client_can_only_post_to_private_accounts",
    )
    h.control("faults", {"endpoint": "content_init", "error": "internal_error"})
    assert error_code(h.api(CONTENT_INIT, unaudited, good)) == (500, "internal_error")
    for _ in range(6):
        h.api(CONTENT_INIT, unaudited, photo_body([verified], privacy="SELF_ONLY"))
    assert error_code(h.api(CONTENT_INIT, unaudited, good)) == (429, "rate_limit_exceeded")


def test_status_fetch_errors(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    token = h.token("demo-public")
    publish_id = h.api(VIDEO_INIT, token, video_init_body()).json()["data"]["publish_id"]
    assert error_code(h.api(STATUS, token, {"publish_id": publish_id})) == (200, "ok")
    assert error_code(h.api(STATUS, token, {"publish_id": "v_pub_file~v2-1.1"})) == (
        400,
        "invalid_publish_id",
    )
    other = h.token("demo-no-comments")
    assert error_code(h.api(STATUS, other, {"publish_id": publish_id})) == (
        400,
        "token_not_authorized_for_specified_publish_id",
    )
    info_only = h.token("demo-public", scopes=["user.info.basic"])
    assert error_code(h.api(STATUS, info_only, {"publish_id": publish_id})) == (
        401,
        "scope_not_authorized",
    )
    assert error_code(h.api(STATUS, "act.nope", {"publish_id": publish_id})) == (
        401,
        "access_token_invalid",
    )
    h.control("faults", {"endpoint": "status_fetch", "status": 503})
    assert error_code(h.api(STATUS, token, {"publish_id": publish_id})) == (503, "internal_error")
    codes = [error_code(h.api(STATUS, token, {"publish_id": publish_id}))[1] for _ in range(30)]
    # 30 per minute: two calls above (ok, invalid_publish_id) already counted; faults do not.
    assert codes == ["ok"] * 28 + ["rate_limit_exceeded"] * 2


def test_cancel_errors(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    verified = h.verified_url("a.mp4")  # its pull is refused: a closed test-owned port
    token = h.token("demo-public")
    h.control("progression", {"mode": "polls", "value": 100})
    file_id = h.api(VIDEO_INIT, token, video_init_body()).json()["data"]["publish_id"]
    assert error_code(h.api(CANCEL, token, {"publish_id": file_id})) == (
        400,
        "publish_not_cancellable",
    )
    assert error_code(h.api(CANCEL, token, {"publish_id": "nope"})) == (400, "invalid_publish_id")
    assert error_code(h.api(CANCEL, h.token("demo-60s"), {"publish_id": file_id})) == (
        400,
        "token_not_authorized_for_specified_publish_id",
    )
    # A pull whose URL prefix is no longer verified cannot be cancelled by this app.
    h.control("faults", {"endpoint": "pull", "delay_s": 30})
    pull_id = h.api(VIDEO_INIT, token, pull_body(verified)).json()["data"]["publish_id"]
    h.register_app(verified_url_prefixes=[])
    assert error_code(h.api(CANCEL, token, {"publish_id": pull_id})) == (
        403,
        "url_ownership_unverified",
    )
    assert error_code(h.api(CANCEL, "act.nope", {"publish_id": pull_id})) == (
        401,
        "access_token_invalid",
    )
    h.control("faults", {"endpoint": "cancel", "error": "internal_error"})
    assert error_code(h.api(CANCEL, token, {"publish_id": pull_id})) == (500, "internal_error")
    h.control("config", {"rate_limits": {"cancel": 1}})
    h.control("clock", {"advance_s": 61})
    h.api(CANCEL, token, {"publish_id": pull_id})
    assert error_code(h.api(CANCEL, token, {"publish_id": pull_id})) == (429, "rate_limit_exceeded")
