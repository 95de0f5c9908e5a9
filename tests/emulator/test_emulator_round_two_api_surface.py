"""Issue 19: the client access token, TikTok's verification-free sample video, `/v2/video/query/`
for share URLs, and `is_aigc` on video and photo posts.

Checked against TikTok's pages: client-access-token-management (`grant_type=client_credentials`
→ `access_token`, `expires_in` 7200, `token_type` Bearer), the Media Transfer Guide (the sample
URL "without any verification"), tiktok-api-v2-video-object and the v2 rate-limit page
(`/v2/video/query/`, scope `video.list`, up to 20 ids), and the Direct Post / Photo Post pages
(`is_aigc` in `post_info` for videos, at the top level for photos).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from PIL import Image

from directpost.emulator.sample_video import SAMPLE_VIDEO_URL, sample_video_bytes
from tests.emulator.helpers import error_code, upload_whole
from tests.fixtures.emulator import EmulatorHandle, MediaHost
from tests.fixtures.media_files import make_photo

TOKEN = "/v2/oauth/token/"
VIDEO_INIT = "/v2/post/publish/video/init/"
CONTENT_INIT = "/v2/post/publish/content/init/"
QUERY = "/v2/video/query/"


# ---------------------------------------------------------------------- client access token


def test_client_credentials_grant_gives_a_two_hour_client_token_in_the_documented_shape(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    form = {
        "client_key": h.client_key,
        "client_secret": h.client_secret,
        "grant_type": "client_credentials",
    }
    answer = h.client.post(TOKEN, data=form)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["access_token"].startswith("clt.")
    assert (body["expires_in"], body["token_type"]) == (7200, "Bearer")
    # It speaks for the app, not for a user: user endpoints do not take it.
    user = h.client.get(
        "/v2/user/info/?fields=open_id",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert error_code(user) == (401, "access_token_invalid")
    wrong = h.client.post(TOKEN, data={**form, "client_secret": "not-it"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")


# ---------------------------------------------------------------------- the sample video


def pull_body(url: str, privacy: str = "SELF_ONLY") -> dict[str, Any]:
    return {
        "post_info": {"privacy_level": privacy, "title": "the sample"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": url},
    }


def test_tiktoks_sample_video_url_needs_no_verified_prefix_and_is_served_without_the_network(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    h.register_app(verified_url_prefixes=[], verified_domains=[])  # nothing verified at all
    token = h.token("demo-public")
    sample = sample_video_bytes()
    encoded = SAMPLE_VIDEO_URL.replace("[[", "%5B%5B")  # how URL-encoding clients send it
    for url in (SAMPLE_VIDEO_URL, encoded):
        init = h.api(VIDEO_INIT, token, pull_body(url))
        assert error_code(init) == (200, "ok"), init.text
        done = h.wait_for_status(init.json()["data"]["publish_id"])
        assert done["status"] == "PUBLISH_COMPLETE", done
        # The bytes are the emulator's own stand-in (a download would differ): no network.
        assert done["downloaded_bytes"] == len(sample)
        assert done["sha256"] == hashlib.sha256(sample).hexdigest()
        assert round(done["probe"]["duration_s"]) == 180  # as long as TikTok's 3min.mp4
    # A creator limited to 60 s cannot post it, as with TikTok's file.
    short = h.api(VIDEO_INIT, h.token("demo-60s"), pull_body(SAMPLE_VIDEO_URL))
    failed = h.wait_for_status(short.json()["data"]["publish_id"])
    assert (failed["status"], failed["fail_reason"]) == ("FAILED", "duration_check_failed")
    # Only that URL, and only as a video: another file on TikTok's CDN or a photo is refused.
    other = h.api(VIDEO_INIT, token, pull_body(SAMPLE_VIDEO_URL.replace("3min", "4min")))
    assert error_code(other) == (403, "url_ownership_unverified")
    photo = {
        "post_info": {"privacy_level": "SELF_ONLY"},
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": [SAMPLE_VIDEO_URL],
            "photo_cover_index": 0,
        },
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }
    assert error_code(h.api(CONTENT_INIT, token, photo)) == (403, "url_ownership_unverified")


# ---------------------------------------------------------------------- /v2/video/query/


def query(h: EmulatorHandle, token: str, fields: str, ids: Any) -> Any:
    return h.client.post(
        f"{QUERY}?fields={fields}",
        json={"filters": {"video_ids": ids}},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_video_query_gives_share_urls_of_the_creators_public_videos_only(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    data = video_mp4.read_bytes()
    token = h.token("demo-public")
    public = upload_whole(h, token, data, title="public #one", is_aigc=True)
    private = upload_whole(h, token, data, privacy="SELF_ONLY", title="only me")
    someone_else = upload_whole(h, h.token("demo-no-comments"), data, title="not yours")
    ids = {}
    for publish_id in (public, private, someone_else):
        h.wait_for_status(publish_id)
    for creator_posts in h.state()["posts"].values():
        for post in creator_posts:
            ids[post["publish_id"]] = post["post_id"]
    fields = (
        "id,create_time,share_url,embed_link,cover_image_url,title,duration,width,height,is_aigc"
    )
    answer = query(h, token, fields, [ids[public], ids[private], ids[someone_else], "7" * 19])
    assert error_code(answer) == (200, "ok"), answer.text
    (video,) = answer.json()["data"]["videos"]
    assert set(video) == set(fields.split(","))
    assert video["id"] == ids[public] and isinstance(video["id"], str)
    assert (video["title"], video["is_aigc"]) == ("public #one", True)
    assert (video["width"], video["height"], video["duration"]) == (640, 360, 1)
    assert f"/@pia.public/video/{ids[public]}?" in video["share_url"]
    assert "utm_source=" + h.client_key in video["share_url"]
    # Each address leads somewhere real in the emulator.
    share = h.client.get(video["share_url"])
    assert share.status_code == 302
    assert share.headers["location"] == f"/_emulator/creators/demo-public#post-{ids[public]}"
    assert f'id="post-{ids[public]}"' in h.client.get(share.headers["location"]).text
    embed = h.client.get(video["embed_link"])
    assert embed.status_code == 302 and h.client.get(embed.headers["location"]).content == data
    cover = h.client.get(video["cover_image_url"])
    assert cover.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(cover.content)).size == (640, 360)
    # Only the fields asked for.
    only_id = query(h, token, "id", [ids[public]]).json()["data"]["videos"]
    assert only_id == [{"id": ids[public]}]


def test_video_query_lists_a_public_video_only_once_it_passed_moderation(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    h.control("config", {"public_post_delay_s": 300})
    token = h.token("demo-public")
    h.wait_for_status(upload_whole(h, token, video_mp4.read_bytes()))
    (post,) = h.state()["posts"]["demo-public"]
    assert query(h, token, "id", [post["post_id"]]).json()["data"]["videos"] == []
    h.control("clock", {"advance_s": 300})
    listed = query(h, token, "id", [post["post_id"]]).json()["data"]["videos"]
    assert listed == [{"id": post["post_id"]}]


def test_video_query_refuses_bad_requests_with_invalid_params(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    headers = {"Authorization": f"Bearer {token}"}
    cases = [
        h.client.post(QUERY, json={"filters": {"video_ids": ["1"]}}, headers=headers),
        query(h, token, "id,plays", ["1"]),
        query(h, token, "id", []),
        query(h, token, "id", [str(i) for i in range(21)]),
        query(h, token, "id", [7123456789012345678]),  # ids are strings
        h.client.post(f"{QUERY}?fields=id", json={"video_ids": ["1"]}, headers=headers),
    ]
    for answer in cases:
        assert error_code(answer) == (400, "invalid_params"), answer.text
    no_scope = h.token("demo-public", scopes=["user.info.basic", "video.publish"])
    assert error_code(query(h, no_scope, "id", ["1"])) == (401, "scope_not_authorized")


# ---------------------------------------------------------------------- is_aigc


def test_is_aigc_is_checked_stored_and_labelled_on_the_profile(
    emulator_server: EmulatorHandle, emulator_media_host: MediaHost, video_mp4: Path, tmp_path: Path
) -> None:
    h = emulator_server
    h.register_app(verified_url_prefixes=[emulator_media_host.base_url])
    token = h.token("demo-public")
    video = upload_whole(h, token, video_mp4.read_bytes(), title="made by a model", is_aigc=True)
    plain = upload_whole(h, token, video_mp4.read_bytes(), title="made by hand", is_aigc=False)
    url = emulator_media_host.add("aigc.jpg", make_photo(tmp_path / "aigc.jpg"))
    photo: dict[str, Any] = {
        "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "a model's photo"},
        "source_info": {"source": "PULL_FROM_URL", "photo_images": [url], "photo_cover_index": 0},
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
        "is_aigc": True,  # photos: at the top level of the body
    }
    photo_id = h.api(CONTENT_INIT, token, photo).json()["data"]["publish_id"]
    for publish_id in (video, plain, photo_id):
        assert h.wait_for_status(publish_id)["status"] == "PUBLISH_COMPLETE"
    labelled = {p["title"]: p["is_aigc"] for p in h.state()["posts"]["demo-public"]}
    assert labelled == {"made by a model": True, "made by hand": False, "a model's photo": True}
    page = h.client.get("/_emulator/creators/demo-public").text
    assert page.count("Creator labeled as AI-generated") == 2

    bad_video = {
        "post_info": {"privacy_level": "SELF_ONLY", "is_aigc": "yes"},
        "source_info": {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10},
    }
    bad_video["source_info"]["total_chunk_count"] = 1
    assert error_code(h.api(VIDEO_INIT, token, bad_video)) == (400, "invalid_params")
    assert error_code(h.api(CONTENT_INIT, token, {**photo, "is_aigc": 1})) == (
        400,
        "invalid_params",
    )
