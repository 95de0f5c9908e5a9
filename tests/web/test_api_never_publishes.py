"""Issue 18, UX-5c: no route of the prepared-posts API can make the app send TikTok an init (a
video, photo or inbox publish). The test walks every operation of the served
`/api/v1/openapi.json` with valid and invalid inputs, with every kind of token (both scopes,
one scope, a teammate's, none), plus methods and paths the document does not list, and then
reads the emulator's request log: the only TikTok endpoint the app called is creator_info, and
the emulator saw no publish from this app. Only the creator's confirmation on the Post page
(a session route, never a token) makes a post."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select

from directpost.store.base import utcnow
from directpost.store.posts import Post
from tests.fixtures.live import Personas
from tests.fixtures.media_files import make_photo, make_video
from tests.web.api_helpers import (
    API,
    account_of,
    api_upload,
    bearer,
    make_member,
    make_token,
)

pytestmark = pytest.mark.anyio

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
PRIVACY = ["", "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]


async def test_no_api_route_reaches_tiktok_init_endpoints_ux_5c(
    personas: Personas, tmp_path: Path
) -> None:
    app = personas.app
    client = app.client
    video = make_video(tmp_path / "walk.mp4", seconds=1.0)
    photo = make_photo(tmp_path / "walk.jpg", width=720, height=720)
    _, mine = account_of(app.app, "demo-private")
    _, theirs = account_of(app.app, "demo-public")
    make_member(app.app, owner_open_id="demo-public", member_open_id="demo-private")
    tokens = {
        "both": make_token(app.app, open_id="demo-private"),
        "read": make_token(app.app, open_id="demo-private", scopes=frozenset({"read"})),
        "prepare": make_token(app.app, open_id="demo-private", scopes=frozenset({"prepare"})),
        "other": make_token(app.app, open_id="demo-public"),
    }
    document = (await client.get(f"{API}/openapi.json")).json()
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    walked: set[tuple[str, str]] = set()
    since = time.time()

    async def call(method: str, template: str, token: str | None = "both", **kwargs: Any) -> Any:
        """One request; `template` is the document's path, filled from `path=` (or as is)."""
        path = kwargs.pop("path", template)
        headers = bearer(tokens[token]) if token else {}
        headers |= kwargs.pop("headers", {})
        answer = await client.request(method, path, headers=headers, **kwargs)
        assert answer.status_code < 500, (method, path, answer.text)
        walked.add((method, template))
        return answer

    # Who, which accounts, what they offer: every kind of token, ids of all sorts.
    for who in (*tokens, None):
        for path in ("/me", "/accounts", "/posts", "/prepared-posts"):
            await call("GET", f"{API}{path}", who)
        for account in (mine, theirs, 999_999, 0, 2**31):
            await call(
                "GET",
                f"{API}/accounts/{{account_id}}/creator-info",
                who,
                path=f"{API}/accounts/{account}/creator-info",
            )
        for post in (1, 999_999, 0):
            await call("GET", f"{API}/posts/{{post_id}}", who, path=f"{API}/posts/{post}")
    for query in ({"state": "to_review"}, {"state": "posted"}, {"limit": 0}, {"before": "x"}):
        await call("GET", f"{API}/prepared-posts", params=query)

    # Media: valid uploads of both kinds, and refusals of each step.
    clip = await api_upload(client, tokens["both"], account_id=mine, files=[video])
    stills = await api_upload(client, tokens["both"], account_id=mine, files=[photo], kind="photos")
    walked.update(
        {
            ("POST", f"{API}/uploads"),
            ("PUT", f"{API}/uploads/{{upload_id}}/files/{{file_id}}"),
            ("POST", f"{API}/uploads/{{upload_id}}/finish"),
        }
    )
    size = (await anyio.Path(video).stat()).st_size
    for body in (
        {"account_id": mine, "kind": "gif", "files": [{"name": "a.gif", "size": 5}]},
        {"account_id": mine, "kind": "video", "files": []},
        {"account_id": theirs, "kind": "video", "files": [{"name": "v.mp4", "size": size}]},
        {"account_id": 424242, "kind": "video", "files": [{"name": "v.mp4", "size": size}]},
        {"account_id": mine, "kind": "video", "files": [{"name": "v.mp4", "size": 0}]},
    ):
        for who in ("both", "read", None):
            await call("POST", f"{API}/uploads", who, json=body)
    spare = await call(
        "POST",
        f"{API}/uploads",
        json={"account_id": mine, "kind": "video", "files": [{"name": "v.mp4", "size": size}]},
    )
    upload_id, file_id = spare.json()["id"], spare.json()["files"][0]["id"]
    chunk_path = f"{API}/uploads/{{upload_id}}/files/{{file_id}}"
    for offset, data in ((5, b"late"), (0, b"x" * (size + 1)), (-1, b"x"), (0, b"\x00" * 16)):
        await call(
            "PUT",
            chunk_path,
            path=f"{API}/uploads/{upload_id}/files/{file_id}",
            params={"offset": offset},
            content=data,
        )
    for bad_upload, bad_file in ((upload_id, "nope"), ("ffff", file_id), (clip["id"], "x")):
        await call(
            "PUT",
            chunk_path,
            path=f"{API}/uploads/{bad_upload}/files/{bad_file}",
            params={"offset": 0},
            content=b"x",
        )
    for target in (upload_id, clip["id"], "ffff", "not-hex"):
        await call("GET", f"{API}/uploads/{{upload_id}}", path=f"{API}/uploads/{target}")
        await call(
            "POST", f"{API}/uploads/{{upload_id}}/finish", path=f"{API}/uploads/{target}/finish"
        )
    await call("DELETE", f"{API}/uploads/{{upload_id}}", "other", path=f"{API}/uploads/{upload_id}")
    await call("DELETE", f"{API}/uploads/{{upload_id}}", path=f"{API}/uploads/{upload_id}")

    # Prepared posts: every privacy suggestion, with and without a schedule, for the caller's
    # own account and (as a teammate) for another creator's; then invalid ones.
    made: list[int] = []
    soon = (utcnow() + timedelta(hours=3)).isoformat()
    for i, privacy in enumerate(PRIVACY):
        for account in (mine, theirs):
            upload = await api_upload(client, tokens["both"], account_id=account, files=[video])
            body = {
                "account_id": account,
                "upload_id": upload["id"],
                "title": f"walk {i} #test",
                "privacy_suggestion": privacy,
                "schedule_at": soon if i % 2 else "",
                "note": "Please post this one",
            }
            answer = await call(
                "POST",
                f"{API}/prepared-posts",
                json=body,
                headers={"idempotency-key": f"k{i}{account}"},
            )
            assert answer.status_code == 201, answer.text
            made.append(answer.json()["id"])
            again = await call(
                "POST",
                f"{API}/prepared-posts",
                json=body,
                headers={"idempotency-key": f"k{i}{account}"},
            )
            assert again.status_code == 200
    photo_post = {"account_id": mine, "upload_id": stills["id"], "description": "A photo post"}
    assert (await call("POST", f"{API}/prepared-posts", json=photo_post)).status_code == 201
    for body in (
        {"account_id": mine, "upload_id": clip["id"], "privacy_level": "PUBLIC_TO_EVERYONE"},
        {"account_id": mine, "upload_id": clip["id"], "publish": True},
        {"account_id": mine, "upload_id": clip["id"], "privacy_suggestion": "EVERYONE"},
        {"account_id": mine, "upload_id": "ffff"},
        {"account_id": 0, "upload_id": clip["id"]},
        {},
    ):
        for who in ("both", "read", "other", None):
            await call("POST", f"{API}/prepared-posts", who, json=body)
    for target in (*made, 999_999, 0):
        for who in ("both", "read", "other", None):
            await call(
                "GET",
                f"{API}/prepared-posts/{{prepared_id}}",
                who,
                path=f"{API}/prepared-posts/{target}",
            )
    for who in ("other", "read", None, "both", "both"):
        await call(
            "DELETE",
            f"{API}/prepared-posts/{{prepared_id}}",
            who,
            path=f"{API}/prepared-posts/{made[0]}",
        )

    # Methods and paths the document does not list: there is no way to confirm or publish.
    for method, path in (
        ("POST", f"{API}/prepared-posts/{made[1]}/confirm"),
        ("POST", f"{API}/prepared-posts/{made[1]}/publish"),
        ("PUT", f"{API}/prepared-posts/{made[1]}"),
        ("PATCH", f"{API}/prepared-posts/{made[1]}"),
        ("POST", f"{API}/posts"),
        ("POST", f"{API}/publish"),
        ("POST", f"{API}/accounts/{mine}/creator-info"),
    ):
        answer = await client.request(
            method, path, json={"privacy_level": "SELF_ONLY"}, headers=bearer(tokens["both"])
        )
        assert answer.status_code in (404, 405), (method, path, answer.status_code)

    assert walked >= listed, f"operations not walked: {sorted(listed - walked)}"
    asked = app.emulator.control("GET", f"/_emulator/requests?since={since}").json()["requests"]
    paths = {r["path"] for r in asked}
    assert paths == {CREATOR_INFO}, f"the API made the app call TikTok at {sorted(paths)}"
    publishes = [
        p
        for p in app.emulator.state()["publishes"]
        if p.get("client_key") == app.settings.tiktok_client_key
    ]
    assert publishes == []
    with app.app.state.services.factory() as session:
        assert session.scalar(select(func.count(Post.id))) == 0
