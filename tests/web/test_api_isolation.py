"""Issue 18 (USE-2 through the API): one person's token cannot see another person's accounts,
prepared posts, uploads and their files, or posts — not in lists, and not by guessing ids: every
id that is not the caller's answers 404 with the very body of an id that does not exist.

Two personas over the real app in-process and the real emulator: `creator` (demo-private) has
an account, a prepared post, an upload still unused and a post made on the Post page; `other`
(demo-public) has their own, and walks the ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fixtures.live import Personas, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.web.api_helpers import API, account_of, api_upload, bearer, make_token
from tests.web.helpers import upload_ready_video

pytestmark = pytest.mark.anyio

NOBODYS_UPLOAD = "0" * 32
NOBODYS_ID = 987_654


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("isolation-media") / "clip.mp4", seconds=1.0)


async def _prepared(
    client: httpx2.AsyncClient, token: str, account_id: int, video: Path, title: str
) -> dict[str, Any]:
    upload = await api_upload(client, token, account_id=account_id, files=[video])
    body = {"account_id": account_id, "upload_id": upload["id"], "title": title}
    made = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(token))
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def _posted(client: httpx2.AsyncClient, video: Path) -> int:
    """A post made on the Post page by the signed-in person (queued; no worker runs here)."""
    csrf = await fetch_csrf(client, "/compose")
    upload_id = await upload_ready_video(client, csrf, video)
    answer = await client.post(
        "/posts",
        data={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": "the creator's own post",
            "privacy_level": "SELF_ONLY",
        },
        headers={"accept": "application/json"},
    )
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["id"])


def _same_as_nothing(answer: httpx2.Response, nothing: httpx2.Response, what: str) -> None:
    assert nothing.status_code == 404, (what, nothing.text)
    assert answer.status_code == 404, (what, answer.status_code, answer.text)
    assert answer.json() == nothing.json(), what


async def test_one_persons_token_cannot_see_anothers_things_even_by_guessing_ids(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    client = app.client
    _, creator_account = account_of(app.app, "demo-private")
    _, other_account = account_of(app.app, "demo-public")
    creators = make_token(app.app, open_id="demo-private")
    others = make_token(app.app, open_id="demo-public")

    # The creator's things: a prepared post (its upload now held by it), an unused upload and
    # a post; the other person's own prepared post in between, so the ids interleave.
    theirs = await _prepared(client, creators, creator_account, video, "the creator's")
    mine = await _prepared(client, others, other_account, video, "the other's")
    unused = await api_upload(client, creators, account_id=creator_account, files=[video])
    post_id = await _posted(personas.creator, video)

    # The creator does see them (the walk below would prove nothing otherwise).
    assert (await client.get(f"{API}/posts/{post_id}", headers=bearer(creators))).status_code == 200
    seen = await client.get(f"{API}/prepared-posts/{theirs['id']}", headers=bearer(creators))
    assert seen.status_code == 200
    seen = await client.get(f"{API}/uploads/{unused['id']}", headers=bearer(creators))
    assert seen.status_code == 200

    # Lists hold only the caller's own.
    accounts = (await client.get(f"{API}/accounts", headers=bearer(others))).json()["accounts"]
    assert [a["id"] for a in accounts] == [other_account]
    listed = (await client.get(f"{API}/prepared-posts", headers=bearer(others))).json()
    assert [p["id"] for p in listed["prepared_posts"]] == [mine["id"]]
    by_account = await client.get(
        f"{API}/prepared-posts", params={"account_id": creator_account}, headers=bearer(others)
    )
    assert by_account.json()["prepared_posts"] == []
    assert (await client.get(f"{API}/posts", headers=bearer(others))).json()["posts"] == []

    # Guessed ids: every one that is not the other person's looks like one that does not exist.
    auth = bearer(others)
    last = max(int(theirs["id"]), int(mine["id"]), post_id, creator_account, other_account) + 5
    nothing = {
        "prepared": await client.get(f"{API}/prepared-posts/{NOBODYS_ID}", headers=auth),
        "post": await client.get(f"{API}/posts/{NOBODYS_ID}", headers=auth),
        "creator-info": await client.get(f"{API}/accounts/{NOBODYS_ID}/creator-info", headers=auth),
    }
    for guess in range(1, last + 1):
        if guess != mine["id"]:
            answer = await client.get(f"{API}/prepared-posts/{guess}", headers=auth)
            _same_as_nothing(answer, nothing["prepared"], f"prepared post {guess}")
        answer = await client.get(f"{API}/posts/{guess}", headers=auth)
        _same_as_nothing(answer, nothing["post"], f"post {guess}")
        if guess != other_account:
            answer = await client.get(f"{API}/accounts/{guess}/creator-info", headers=auth)
            _same_as_nothing(answer, nothing["creator-info"], f"creator_info of {guess}")

    # Uploads and their file URLs: the creator's ids, known (say, leaked) but not the caller's.
    nobody = await client.get(f"{API}/uploads/{NOBODYS_UPLOAD}", headers=auth)
    for upload_id in (unused["id"], theirs["upload_id"]):
        answer = await client.get(f"{API}/uploads/{upload_id}", headers=auth)
        _same_as_nothing(answer, nobody, f"upload {upload_id}")
    file_id = unused["files"][0]["id"]
    for method, suffix in (
        ("PUT", f"/files/{file_id}?offset=0"),
        ("POST", "/finish"),
        ("DELETE", ""),
    ):
        answer = await client.request(
            method, f"{API}/uploads/{unused['id']}{suffix}", content=b"x", headers=auth
        )
        absent = await client.request(
            method, f"{API}/uploads/{NOBODYS_UPLOAD}{suffix}", content=b"x", headers=auth
        )
        _same_as_nothing(answer, absent, f"{method} upload{suffix}")
    # The Post page's file URL, with the other person's session.
    page_file = await personas.other.get(f"/uploads/{unused['id']}/files/{file_id}")
    page_nothing = await personas.other.get(f"/uploads/{NOBODYS_UPLOAD}/files/{file_id}")
    assert page_file.status_code == page_nothing.status_code == 404
    assert page_file.content == page_nothing.content

    # Nor can they act on the creator's things: withdraw, or prepare with their account/upload.
    withdraw = await client.delete(f"{API}/prepared-posts/{theirs['id']}", headers=auth)
    absent = await client.delete(f"{API}/prepared-posts/{NOBODYS_ID}", headers=auth)
    _same_as_nothing(withdraw, absent, "withdraw")
    own_upload = await api_upload(client, others, account_id=other_account, files=[video])
    into_theirs = await client.post(
        f"{API}/prepared-posts",
        json={"account_id": creator_account, "upload_id": own_upload["id"]},
        headers=auth,
    )
    assert into_theirs.status_code == 404, into_theirs.text
    with_their_upload = await client.post(
        f"{API}/prepared-posts",
        json={"account_id": other_account, "upload_id": unused["id"]},
        headers=auth,
    )
    assert with_their_upload.status_code == 422, with_their_upload.text
    assert "No such upload" in with_their_upload.text

    # And the creator's things are as they were.
    still = await client.get(f"{API}/prepared-posts/{theirs['id']}", headers=bearer(creators))
    assert still.json()["state"] == "to_review"
    unused_now = await client.get(f"{API}/uploads/{unused['id']}", headers=bearer(creators))
    assert unused_now.status_code == 200 and unused_now.json()["state"] == "ready"
    assert unused_now.json()["files"] == unused["files"]
