"""Issue 18, teammates: an owner invites by a link with an expiry; whoever opens it signed in
joins and may prepare posts for that one account, sees only what they prepared, and cannot
decide; removing them revokes their tokens. Over the real app in-process, the real emulator,
and the personas (`creator` = demo-private owns the account, `other` = demo-public joins).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from sqlalchemy import select, update

from directpost.store import prepared as prepared_store
from directpost.store import team
from directpost.store.base import utcnow
from tests.fixtures.live import AppClient, Personas, api_sign_in, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.web.api_helpers import API, account_of, announce, api_upload, bearer, make_token

pytestmark = pytest.mark.anyio

OWNER = "demo-private"  # Pim Private
MEMBER = "demo-public"  # Pia Public
THIRD = "demo-no-comments"  # Nora Nocomment


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("team-media") / "clip.mp4", seconds=1.0)


# --- helpers ------------------------------------------------------------------------------------


async def invite_link(owner: httpx2.AsyncClient, account_id: int) -> str:
    """Press "Make an invitation link" on the team page; the link it shows once."""
    csrf = await fetch_csrf(owner, f"/accounts/{account_id}/team")
    made = await owner.post(f"/accounts/{account_id}/team/invites", data={"csrf_token": csrf})
    assert made.status_code == 200, made.text
    return first(r'<textarea id="invite-link"[^>]*>([^<]+)</textarea>', made.text)


def first(pattern: str, text: str) -> str:
    """The first group of `pattern`'s first match in `text` (failing when there is none)."""
    found = re.search(pattern, text)
    assert found, f"nothing matches {pattern!r}"
    return found.group(1)


def path_of(link: str) -> str:
    return urlsplit(link).path


async def join(client: httpx2.AsyncClient, link: str) -> httpx2.Response:
    csrf = await fetch_csrf(client, "/accounts")
    return await client.post(path_of(link) + "/accept", data={"csrf_token": csrf})


@pytest.fixture
async def third(personas: Personas) -> AsyncIterator[httpx2.AsyncClient]:
    """A third person (Nora Nocomment), signed in, with cookies of their own."""
    app = personas.app
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app.app), base_url=str(app.client.base_url), timeout=30
    ) as client:
        assert (await api_sign_in(client, open_id=THIRD)).status_code == 303
        yield client


async def prepare(
    client: httpx2.AsyncClient, token: str, *, account_id: int, video: Path, title: str
) -> httpx2.Response:
    upload = await api_upload(client, token, account_id=account_id, files=[video])
    body = {"account_id": account_id, "upload_id": upload["id"], "title": title}
    return await client.post(f"{API}/prepared-posts", json=body, headers=bearer(token))


def listed_ids(answer: httpx2.Response) -> set[int]:
    assert answer.status_code == 200, answer.text
    return {int(p["id"]) for p in answer.json()["prepared_posts"]}


def roles(answer: httpx2.Response) -> dict[int, str]:
    assert answer.status_code == 200, answer.text
    return {int(a["id"]): str(a["role"]) for a in answer.json()["accounts"]}


async def joined(personas: Personas) -> tuple[int, str]:
    """The owner's account id, with `other` made a member through the link (as a person does)."""
    _, account_id = account_of(personas.app.app, OWNER)
    link = await invite_link(personas.creator, account_id)
    accepted = await join(personas.other, link)
    assert accepted.status_code == 303, accepted.text
    return account_id, link


# --- joining and what a member sees ------------------------------------------------------------


async def test_owner_invites_by_a_link_the_other_joins_and_prepares_only_what_they_see(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    owner_id, account_id = account_of(app.app, OWNER)
    _, member_account = account_of(app.app, MEMBER)
    accounts_page = await personas.creator.get("/accounts")
    assert f'href="/accounts/{account_id}/team"' in accounts_page.text

    link = await invite_link(personas.creator, account_id)
    assert link.startswith(app.settings.public_base_url.rstrip("/") + "/invites/")
    secret = path_of(link).rsplit("/", 1)[1]
    team_page = await personas.creator.get(f"/accounts/{account_id}/team")
    assert secret not in team_page.text, "the link is shown once"
    assert team_page.text.count('data-testid="open-invite"') == 1
    assert "7 days" in team_page.text

    invitation = await personas.other.get(path_of(link))
    assert invitation.status_code == 200, invitation.text
    words = " ".join(invitation.text.split())
    assert "Pim Private" in words
    assert "you will be able to prepare posts for Pim Private" in words
    assert "only its owner publishes them" in words
    assert "you see only what you prepare" in words

    accepted = await join(personas.other, link)
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == f"/accounts/{account_id}/how-to-prepare"
    how = await personas.other.get(accepted.headers["location"])
    assert how.status_code == 200 and 'href="/accounts#api-tokens"' in how.text
    mine = await personas.other.get("/accounts")
    assert 'data-testid="granted-account"' in mine.text and "Pim Private" in mine.text
    members = await personas.creator.get(f"/accounts/{account_id}/team")
    assert members.text.count('data-testid="member"') == 1 and "Pia Public" in members.text
    assert 'data-testid="open-invite"' not in members.text, "a used link is no longer open"

    member_token = make_token(app.app, open_id=MEMBER, name="pia's script")
    owner_token = make_token(app.app, open_id=OWNER, name="pim's script")
    assert roles(await app.client.get(f"{API}/accounts", headers=bearer(member_token))) == {
        member_account: "owner",
        account_id: "member",
    }

    by_owner = await prepare(
        app.client, owner_token, account_id=account_id, video=video, title="the owner's own"
    )
    assert by_owner.status_code == 201, by_owner.text
    by_member = await prepare(
        app.client, member_token, account_id=account_id, video=video, title="the member's"
    )
    assert by_member.status_code == 201, by_member.text
    owner_prepared, member_prepared = by_owner.json()["id"], by_member.json()["id"]

    # The member sees what they prepared, and nothing else of the account's.
    seen = await app.client.get(f"{API}/prepared-posts", headers=bearer(member_token))
    assert listed_ids(seen) == {member_prepared}
    for_account = await app.client.get(
        f"{API}/prepared-posts", params={"account_id": account_id}, headers=bearer(member_token)
    )
    assert listed_ids(for_account) == {member_prepared}
    hidden = await app.client.get(
        f"{API}/prepared-posts/{owner_prepared}", headers=bearer(member_token)
    )
    assert hidden.status_code == 404, hidden.text
    # The owner sees both: theirs and the member's.
    owner_sees = await app.client.get(f"{API}/prepared-posts", headers=bearer(owner_token))
    assert listed_ids(owner_sees) == {owner_prepared, member_prepared}
    with app.app.state.services.factory() as session:
        row = session.get(prepared_store.PreparedPost, member_prepared)
        assert row is not None and row.prepared_by != owner_id and row.state == "to_review"


async def test_a_member_cannot_open_confirm_or_reject_what_waits_for_the_owner(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    account_id, _ = await joined(personas)
    member_token = make_token(app.app, open_id=MEMBER)
    made = await prepare(app.client, member_token, account_id=account_id, video=video, title="x")
    assert made.status_code == 201, made.text
    prepared_id = made.json()["id"]
    member_id, _ = account_of(app.app, MEMBER)
    with app.app.state.services.factory() as session:
        assert (
            prepared_store.get_for_owner(session, person_id=member_id, prepared_id=prepared_id)
            is None
        )

    csrf = await fetch_csrf(personas.other, "/accounts")
    unknown = await personas.other.get("/review/999999")
    assert (await personas.other.get(f"/review/{prepared_id}")).status_code == 404
    assert (await personas.other.get(f"/review/{prepared_id}")).text == unknown.text
    for action, form in (("confirm", {"privacy_level": "SELF_ONLY"}), ("reject", {"reason": "no"})):
        refused = await personas.other.post(
            f"/review/{prepared_id}/{action}", data={"csrf_token": csrf, **form}
        )
        assert refused.status_code == 404, (action, refused.status_code, refused.text)
    with app.app.state.services.factory() as session:
        row = session.get(prepared_store.PreparedPost, prepared_id)
        assert row is not None and row.state == "to_review" and row.post_id is None
    # The owner does open it: on the Post page.
    opened = await personas.creator.get(f"/review/{prepared_id}")
    assert opened.status_code == 303 and opened.headers["location"].startswith("/compose")


async def test_removing_a_member_revokes_their_tokens_and_hides_the_account(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    account_id, link = await joined(personas)
    token = make_token(app.app, open_id=MEMBER)
    made = await prepare(app.client, token, account_id=account_id, video=video, title="mine")
    assert made.status_code == 201, made.text

    page = await personas.creator.get(f"/accounts/{account_id}/team")
    member_id = int(first(rf"/accounts/{account_id}/team/(\d+)/remove", page.text))
    csrf = await fetch_csrf(personas.creator, f"/accounts/{account_id}/team")
    removed = await personas.creator.post(
        f"/accounts/{account_id}/team/{member_id}/remove", data={"csrf_token": csrf}
    )
    assert removed.status_code == 303, removed.text
    after = await personas.creator.get(removed.headers["location"])
    assert 'data-testid="member"' not in after.text and "revoked" in after.text

    refused = await app.client.get(f"{API}/accounts", headers=bearer(token))
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "invalid_token"
    # With a new token they no longer see the account, nor what they prepared for it.
    fresh = make_token(app.app, open_id=MEMBER, name="after removal")
    assert account_id not in roles(await app.client.get(f"{API}/accounts", headers=bearer(fresh)))
    gone = await app.client.get(f"{API}/prepared-posts/{made.json()['id']}", headers=bearer(fresh))
    assert gone.status_code == 404
    assert listed_ids(await app.client.get(f"{API}/prepared-posts", headers=bearer(fresh))) == set()
    again = await announce(app.client, fresh, account_id=account_id, files=[video])
    assert again.status_code == 404, again.text
    assert 'data-testid="granted-account"' not in (await personas.other.get("/accounts")).text
    # The link they used does not let them back in.
    used = await personas.other.get(path_of(link))
    assert used.status_code == 410 and "has been used already" in used.text


async def test_a_member_who_leaves_keeps_their_tokens_but_not_the_account(
    personas: Personas,
) -> None:
    app = personas.app
    account_id, _ = await joined(personas)
    token = make_token(app.app, open_id=MEMBER)
    assert account_id in roles(await app.client.get(f"{API}/accounts", headers=bearer(token)))
    csrf = await fetch_csrf(personas.other, "/accounts")
    left = await personas.other.post(f"/accounts/{account_id}/leave", data={"csrf_token": csrf})
    assert left.status_code == 303, left.text
    still = await app.client.get(f"{API}/accounts", headers=bearer(token))
    assert account_id not in roles(still), "the token works, without the account"
    again = await personas.other.post(f"/accounts/{account_id}/leave", data={"csrf_token": csrf})
    assert again.status_code == 404
    # Leaving is for members: the owner cannot "leave" their own account.
    own = await fetch_csrf(personas.creator, "/accounts")
    refused = await personas.creator.post(f"/accounts/{account_id}/leave", data={"csrf_token": own})
    assert refused.status_code == 404


# --- owner only ------------------------------------------------------------------------------


async def test_only_the_owner_sees_and_changes_the_team_and_others_get_a_plain_404(
    personas: Personas, third: httpx2.AsyncClient
) -> None:
    account_id, _ = await joined(personas)
    page = await personas.creator.get(f"/accounts/{account_id}/team")
    member_id = first(rf"/accounts/{account_id}/team/(\d+)/remove", page.text)
    await invite_link(personas.creator, account_id)
    page = await personas.creator.get(f"/accounts/{account_id}/team")
    invite_id = first(r"/team/invites/(\d+)/withdraw", page.text)

    for intruder in (personas.other, third):
        csrf = await fetch_csrf(intruder, "/accounts")
        answer = await intruder.get(f"/accounts/{account_id}/team")
        nothing = await intruder.get("/accounts/999999/team")
        assert answer.status_code == nothing.status_code == 404
        assert answer.text == nothing.text
        for path in (
            f"/accounts/{account_id}/team/invites",
            f"/accounts/{account_id}/team/invites/{invite_id}/withdraw",
            f"/accounts/{account_id}/team/{member_id}/remove",
        ):
            answer = await intruder.post(path, data={"csrf_token": csrf})
            assert answer.status_code == 404, (path, answer.status_code)
    # Nothing changed: the member is there, the invitation open.
    page = await personas.creator.get(f"/accounts/{account_id}/team")
    assert 'data-testid="member"' in page.text and 'data-testid="open-invite"' in page.text


async def test_a_signed_out_visitor_is_sent_to_sign_in_and_comes_back_to_the_invitation(
    personas: Personas,
) -> None:
    _, account_id = account_of(personas.app.app, OWNER)
    link = await invite_link(personas.creator, account_id)
    sent = await personas.visitor.get(path_of(link))
    assert sent.status_code == 303
    home = await personas.visitor.get(sent.headers["location"])
    start = re.search(r'href="(/auth/tiktok/start\?next=[^"]+)"', home.text)
    assert start, "the home page offers to sign in and come back"
    started = await personas.visitor.get(start.group(1).replace("&amp;", "&"))
    authorize = urlsplit(started.headers["location"])
    form: dict[str, Any] = dict(parse_qsl(authorize.query))
    form.update({"open_id": THIRD, "decision": "allow"})
    for scope in form.get("scope", "").split(","):
        form[f"scope:{scope}"] = "on"
    async with httpx2.AsyncClient(
        base_url=f"{authorize.scheme}://{authorize.netloc}", timeout=10, trust_env=False
    ) as emulator:
        consent = await emulator.post(authorize.path, data=form)
    callback = urlsplit(consent.headers["location"])
    back = await personas.visitor.get(f"{callback.path}?{callback.query}")
    assert back.status_code == 303 and back.headers["location"] == path_of(link)
    assert (await personas.visitor.get(path_of(link))).status_code == 200


# --- links that cannot be used ------------------------------------------------------------------


def _members(app: AppClient, account_id: int) -> list[int]:
    with app.app.state.services.factory() as session:
        return [
            m.person_id
            for m in session.scalars(
                select(team.AccountMember).where(team.AccountMember.account_id == account_id)
            )
        ]


async def test_expired_used_withdrawn_own_and_unknown_links_each_say_why(
    personas: Personas, third: httpx2.AsyncClient
) -> None:
    app = personas.app
    _, account_id = account_of(app.app, OWNER)

    async def refused(client: httpx2.AsyncClient, link: str, status: int, words: str) -> None:
        page = await client.get(path_of(link))
        assert page.status_code == status, page.text
        assert words in page.text
        accepted = await join(client, link)
        assert accepted.status_code == status, accepted.text
        assert words in accepted.text

    # Expired: time moves past the link's end (its expiry set in the database).
    expired = await invite_link(personas.creator, account_id)
    with app.app.state.services.factory() as session, session.begin():
        session.execute(
            update(team.Invite)
            .where(team.Invite.accepted_at.is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    await refused(personas.other, expired, 410, "This invitation has expired.")

    # Withdrawn by the owner.
    withdrawn = await invite_link(personas.creator, account_id)
    page = await personas.creator.get(f"/accounts/{account_id}/team")
    invite_id = first(r"/team/invites/(\d+)/withdraw", page.text)
    csrf = await fetch_csrf(personas.creator, "/accounts")
    done = await personas.creator.post(
        f"/accounts/{account_id}/team/invites/{invite_id}/withdraw", data={"csrf_token": csrf}
    )
    assert done.status_code == 303, done.text
    await refused(personas.other, withdrawn, 410, "withdrawn by the account")

    # Used: once by one person; the next person is told.
    used = await invite_link(personas.creator, account_id)
    assert (await join(personas.other, used)).status_code == 303
    await refused(third, used, 410, "has been used already")
    # The person who used it is sent on to what they can do now.
    mine = await personas.other.get(path_of(used))
    assert mine.status_code == 303 and mine.headers["location"].endswith("/how-to-prepare")

    # The owner's own link, opened by the owner.
    own = await invite_link(personas.creator, account_id)
    await refused(personas.creator, own, 409, "This is your own account")

    # A link nobody made.
    await refused(third, path_of(own)[:-4] + "zzzz", 404, "No invitation has this link")
    assert _members(app, account_id) == [account_of(app.app, MEMBER)[0]]


async def test_an_invitation_of_one_account_does_not_open_another(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    # The owner links a second account of theirs.
    assert (await api_sign_in(personas.creator, open_id="demo-60s", link=True)).status_code == 303
    _, granted = account_of(app.app, OWNER)
    _, second = account_of(app.app, "demo-60s")
    link = await invite_link(personas.creator, granted)
    assert (await join(personas.other, link)).status_code == 303
    token = make_token(app.app, open_id=MEMBER)
    seen = roles(await app.client.get(f"{API}/accounts", headers=bearer(token)))
    assert seen.get(granted) == "member" and second not in seen
    refused = await announce(app.client, token, account_id=second, files=[video])
    assert refused.status_code == 404, refused.text
    # An invitation of the first account cannot be withdrawn through the second's address.
    await invite_link(personas.creator, granted)
    page = await personas.creator.get(f"/accounts/{granted}/team")
    invite_id = first(r"/team/invites/(\d+)/withdraw", page.text)
    csrf = await fetch_csrf(personas.creator, "/accounts")
    wrong = await personas.creator.post(
        f"/accounts/{second}/team/invites/{invite_id}/withdraw", data={"csrf_token": csrf}
    )
    assert wrong.status_code == 404
    assert _members(app, second) == []
