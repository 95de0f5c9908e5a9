"""USE-2: any TikTok user can sign in; one person may link several of their own accounts and
pick the active one; people are isolated from each other."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from directpost.store.accounts import TikTokAccount
from tests.fixtures.live import AppClient, Personas, api_sign_in, fetch_csrf

pytestmark = pytest.mark.anyio


def _account(app_client: AppClient, open_id: str) -> TikTokAccount:
    with app_client.app.state.services.factory() as db:
        account = db.scalar(select(TikTokAccount).where(TikTokAccount.open_id == open_id))
    assert account is not None
    return account


async def test_a_person_links_a_second_account_and_chooses_where_posts_go(
    app_client: AppClient,
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    linked = await api_sign_in(client, open_id="demo-no-comments", link=True)
    assert linked.status_code == 303
    first = _account(app_client, "demo-private")
    second = _account(app_client, "demo-no-comments")
    assert first.person_id == second.person_id

    page = await client.get("/accounts")
    assert "Pim Private" in page.text and "Nora Nocomment" in page.text
    assert "Posting as Nora Nocomment" in page.text  # the newly linked one is active

    token = await fetch_csrf(client, "/accounts")
    chosen = await client.post(
        "/accounts/active", data={"csrf_token": token, "account_id": str(first.id)}
    )
    assert chosen.status_code == 303
    assert "Posting as Pim Private" in (await client.get("/accounts")).text


async def test_signing_in_again_with_a_linked_account_reaches_the_same_person(
    app_client: AppClient,
) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    await api_sign_in(app_client.client, open_id="demo-60s", link=True)
    token = await fetch_csrf(app_client.client, "/accounts")
    await app_client.client.post("/auth/sign-out", data={"csrf_token": token})
    await api_sign_in(app_client.client, open_id="demo-60s")
    page = await app_client.client.get("/accounts")
    assert "Pim Private" in page.text and "Sixty Sam" in page.text


async def test_another_creator_cannot_touch_my_account_USE_2(personas: Personas) -> None:
    mine = _account(personas.app, "demo-private")
    token = await fetch_csrf(personas.other, "/accounts")
    for path, data in (
        (f"/accounts/{mine.id}/disconnect", {}),
        ("/accounts/active", {"account_id": str(mine.id)}),
    ):
        answer = await personas.other.post(path, data={"csrf_token": token, **data})
        assert answer.status_code == 404, path
    assert _account(personas.app, "demo-private").is_connected
    others_page = await personas.other.get("/accounts")
    assert "Pim Private" not in others_page.text


async def test_another_creator_cannot_link_an_account_that_is_mine_USE_2(
    personas: Personas,
) -> None:
    refused = await api_sign_in(personas.other, open_id="demo-private", link=True)
    assert refused.status_code == 409
    assert "already linked to another directpost profile" in refused.text
    assert (
        _account(personas.app, "demo-private").person_id
        != _account(personas.app, "demo-public").person_id
    )


async def test_export_holds_only_my_own_data_USE_2(personas: Personas) -> None:
    export = await personas.creator.get("/me/data/export")
    data = json.loads(export.text)["data"]
    open_ids = {row["open_id"] for row in data["tiktok_accounts"]}
    assert open_ids == {"demo-private"}


async def test_a_signed_out_visitor_is_sent_to_sign_in(personas: Personas) -> None:
    for path in ("/accounts", "/me/data", "/me/data/export"):
        answer = await personas.visitor.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/?next=")
    scripted = await personas.visitor.get("/me/data/export", headers={"accept": "application/json"})
    assert scripted.status_code in (303, 401)


async def test_an_old_session_of_a_deleted_person_never_reaches_a_new_person_USE_2(
    personas: Personas,
) -> None:
    leaving = personas.other  # signed in last, so theirs is the highest person id
    old_cookie = leaving.cookies.get("directpost_session")
    assert old_cookie
    csrf = await fetch_csrf(leaving, "/me/data")
    deleted = await leaving.post("/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"})
    assert "Your data has been deleted" in deleted.text
    # Someone new signs in after the deletion (the highest person id was just freed).
    newcomer = await api_sign_in(personas.visitor, open_id="demo-no-duet-stitch")
    assert newcomer.status_code == 303
    leaving.cookies.set("directpost_session", old_cookie)
    replay = await leaving.get("/accounts")
    assert replay.status_code == 303  # signed out, not signed in as the newcomer
    assert "Dan Nodu" not in replay.text
