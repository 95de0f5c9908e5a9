"""DG-5 for issue 18's data: "My data"'s export holds a person's API tokens (names, hints,
scopes, dates; never a hash or the token), their memberships and their accounts' teammates,
the invitations they made, and the prepared posts they prepared or that wait for them; "delete
everything" removes all of it, including what they prepared for someone else's account and its
media. Over the real app in-process and the real emulator, with the personas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from directpost.media.storage import MediaStore
from directpost.store import prepared as prepared_store
from directpost.store import team
from directpost.store import uploads as upload_store
from tests.fixtures.live import Personas, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.web.api_helpers import API, account_of, api_upload, bearer, make_member, make_token

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("team-rights") / "clip.mp4", seconds=1.0)


async def _team_with_work(personas: Personas, video: Path) -> dict[str, Any]:
    """demo-public is a teammate on demo-private's account, with a token, and has prepared a
    post for it that waits; the owner has an open invitation too."""
    app = personas.app
    make_member(app.app, owner_open_id="demo-private", member_open_id="demo-public")
    owner_id, account_id = account_of(app.app, "demo-private")
    token = make_token(app.app, open_id="demo-public", name="pia's pipeline")
    upload = await api_upload(app.client, token, account_id=account_id, files=[video])
    body = {"account_id": account_id, "upload_id": upload["id"], "title": "pia's words"}
    made = await app.client.post(f"{API}/prepared-posts", json=body, headers=bearer(token))
    assert made.status_code == 201, made.text
    csrf = await fetch_csrf(personas.creator, f"/accounts/{account_id}/team")
    invited = await personas.creator.post(
        f"/accounts/{account_id}/team/invites", data={"csrf_token": csrf}
    )
    assert invited.status_code == 200
    return {
        "token": token,
        "account_id": account_id,
        "owner_id": owner_id,
        "prepared_id": made.json()["id"],
        "upload_id": upload["id"],
    }


async def _export(client: Any) -> dict[str, Any]:
    answer = await client.get("/me/data/export")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = json.loads(answer.text)["data"]
    return data


def _count(personas: Personas, model: type, *where: Any) -> int:
    with personas.app.app.state.services.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_dg_5_the_export_holds_tokens_teams_invitations_and_prepared_posts(
    personas: Personas, video: Path
) -> None:
    work = await _team_with_work(personas, video)
    member_id, _ = account_of(personas.app.app, "demo-public")

    member = await _export(personas.other)
    [token] = member["api_tokens"]
    assert token["name"] == "pia's pipeline" and token["scopes"] == "prepare,read"
    assert token["hint"] == work["token"][:9] and token["created_at"]
    assert "token_hash" not in token
    raw = json.dumps(member)
    assert work["token"] not in raw and team.digest(work["token"]) not in raw
    assert [m["account_id"] for m in member["account_members"]] == [work["account_id"]]
    assert [p["id"] for p in member["prepared_posts"]] == [work["prepared_id"]]
    assert member["prepared_posts"][0]["title"] == "pia's words"
    assert [i["accepted_by"] for i in member["invites"]] == [member_id]

    page = (await personas.other.get("/me/data")).text
    for words, number in (
        ("API tokens in use", 1),
        ("Accounts you prepare for", 1),
        ("Teammates on your accounts", 0),
        ("Prepared posts", 1),
    ):
        assert f"<dt>{words}</dt><dd>{number}</dd>" in page, words
    owner_page = (await personas.creator.get("/me/data")).text
    assert "<dt>Teammates on your accounts</dt><dd>1</dd>" in owner_page

    owner = await _export(personas.creator)
    open_invite = [i for i in owner["invites"] if i["accepted_at"] is None]
    assert len(open_invite) == 1 and "token_hash" not in open_invite[0]
    assert [m["person_id"] for m in owner["account_members"]] == [member_id]
    assert [p["id"] for p in owner["prepared_posts"]] == [work["prepared_id"]]
    assert owner["api_tokens"] == []


async def test_dg_5_deleting_a_members_data_removes_their_tokens_team_and_prepared_work(
    personas: Personas, video: Path
) -> None:
    work = await _team_with_work(personas, video)
    member_id, _ = account_of(personas.app.app, "demo-public")
    media: MediaStore = personas.app.app.state.services.media_store
    with personas.app.app.state.services.factory() as session:
        upload = session.get(upload_store.Upload, work["upload_id"])
        assert upload is not None
        keys = [f.storage_key for f in upload.files if f.storage_key]
    assert keys and all(media.stat(k) is not None for k in keys)

    csrf = await fetch_csrf(personas.other, "/me/data")
    deleted = await personas.other.post(
        "/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert deleted.status_code == 200, deleted.text

    assert _count(personas, team.ApiToken, team.ApiToken.person_id == member_id) == 0
    assert _count(personas, team.AccountMember) == 0
    assert _count(personas, team.Invite, team.Invite.accepted_by == member_id) == 0
    assert _count(personas, prepared_store.PreparedPost) == 0, "their words went with them"
    assert _count(personas, upload_store.Upload, upload_store.Upload.id == work["upload_id"]) == 0
    assert all(media.stat(k) is None for k in keys), "and the media they uploaded"
    unauthorized = await personas.app.client.get(f"{API}/me", headers=bearer(work["token"]))
    assert unauthorized.status_code == 401
    # The owner keeps their account and their open invitation.
    owner_sees = await personas.creator.get(f"/accounts/{work['account_id']}/team")
    assert owner_sees.status_code == 200 and 'data-testid="open-invite"' in owner_sees.text


async def test_dg_5_deleting_an_owners_data_removes_their_team_and_what_waits_for_them(
    personas: Personas, video: Path
) -> None:
    work = await _team_with_work(personas, video)
    csrf = await fetch_csrf(personas.creator, "/me/data")
    deleted = await personas.creator.post(
        "/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert deleted.status_code == 200, deleted.text
    assert _count(personas, team.Invite) == 0
    assert _count(personas, team.AccountMember) == 0
    assert _count(personas, prepared_store.PreparedPost) == 0
    # The teammate keeps their token; it no longer reaches the account.
    accounts = await personas.app.client.get(f"{API}/accounts", headers=bearer(work["token"]))
    assert accounts.status_code == 200
    assert work["account_id"] not in [a["id"] for a in accounts.json()["accounts"]]
