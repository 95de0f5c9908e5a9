"""Issue 18: the prepared-posts API (`/api/v1`) over the real app in-process and the real
emulator: tokens and scopes, idempotent creates, the per-token rate limit, validation that names
each problem, withdrawing (only the preparer, only while to review, the media gone), and the
preparer's signed webhook when the creator turns a prepared post down.

The walk over the whole API that shows nothing reaches TikTok's init endpoints is in
test_api_never_publishes.py."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, select

from directpost.publishing import notify_delivery, notify_webhook
from directpost.store import accounts, team
from directpost.store import prepared as prepared_store
from directpost.store import uploads as upload_store
from directpost.store.base import utcnow
from tests.fixtures.live import AppClient, LiveEmulator, Personas, fetch_csrf
from tests.fixtures.media_files import make_photo, make_video
from tests.fixtures.notify_receivers import webhook_receiver
from tests.web.api_helpers import (
    API,
    account_of,
    announce,
    api_upload,
    app_with,
    bearer,
    make_member,
    make_token,
)

pytestmark = pytest.mark.anyio

FAST_RETRY = notify_delivery.RetryPolicy(base_s=0.05, cap_s=0.2, max_attempts=3, jitter=0.0)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("api-media") / "clip.mp4", seconds=1.0)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_photo(tmp_path_factory.mktemp("api-photo") / "still.jpg", width=720, height=720)


def _count(app: AppClient, model: type) -> int:
    with app.app.state.services.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- tokens and scopes -------------------------------------------------------------------------


async def test_a_read_token_cannot_prepare_and_nothing_is_stored(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    client = app.client
    _, account_id = account_of(app.app, "demo-private")
    reader = make_token(app.app, open_id="demo-private", scopes=frozenset({"read"}))
    preparer = make_token(app.app, open_id="demo-private", scopes=frozenset({"prepare"}))

    refused = await announce(client, reader, account_id=account_id, files=[video])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert _count(app, upload_store.Upload) == 0

    upload = await api_upload(client, preparer, account_id=account_id, files=[video])
    body = {"account_id": account_id, "upload_id": upload["id"], "title": "from a reader"}
    refused = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(reader))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert _count(app, prepared_store.PreparedPost) == 0

    # A prepare-only token makes, but does not read lists.
    made = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(preparer))
    assert made.status_code == 201, made.text
    for path in ("/prepared-posts", "/accounts", "/posts", f"/prepared-posts/{made.json()['id']}"):
        listed = await client.get(f"{API}{path}", headers=bearer(preparer))
        assert listed.status_code == 403, (path, listed.text)
        assert listed.json()["error"]["code"] == "insufficient_scope"


async def test_no_token_or_a_revoked_one_gets_401_with_a_bearer_challenge(
    personas: Personas,
) -> None:
    app = personas.app
    # The session cookie of a signed-in creator is not a way in.
    for headers in ({}, {"authorization": "Basic dXNlcjpwdw=="}, bearer("dpat_not-a-token")):
        answer = await personas.creator.get(f"{API}/me", headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["error"]["code"] in ("missing_token", "invalid_token")

    token = make_token(app.app, open_id="demo-private")
    assert (await app.client.get(f"{API}/me", headers=bearer(token))).status_code == 200
    person_id, _ = account_of(app.app, "demo-private")
    with app.app.state.services.factory() as session, session.begin():
        [row] = team.list_tokens(session, person_id=person_id)
        assert team.revoke_token(session, person_id=person_id, token_id=row.id, now=utcnow())
    revoked = await personas.visitor.get(f"{API}/me", headers=bearer(token))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "invalid_token"
    assert revoked.headers["www-authenticate"].startswith("Bearer")


# --- idempotency -------------------------------------------------------------------------------


async def test_a_retried_create_with_one_idempotency_key_makes_one_prepared_post(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    client = app.client
    _, account_id = account_of(app.app, "demo-private")
    token = make_token(app.app, open_id="demo-private")
    upload = await api_upload(client, token, account_id=account_id, files=[video])
    body = {"account_id": account_id, "upload_id": upload["id"], "title": "Morning #walk"}
    key = {"idempotency-key": "run-2024-06-01-clip"}

    first = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(token) | key)
    again = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(token) | key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"{API}/prepared-posts/{first.json()['id']}"

    other_body = body | {"title": "Another caption"}
    clash = await client.post(f"{API}/prepared-posts", json=other_body, headers=bearer(token) | key)
    assert clash.status_code == 409, clash.text
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    assert _count(app, prepared_store.PreparedPost) == 1


@pytest.mark.parametrize("preparer", ["demo-private", "demo-public"], ids=["owner", "teammate"])
async def test_concurrent_creates_with_one_key_make_one_row(
    personas: Personas, video: Path, preparer: str
) -> None:
    # A teammate's upload moves to the owner when the first create wins: the others must
    # still answer that prepared post, not "no such upload".
    app = personas.app
    _, account_id = account_of(app.app, "demo-private")
    if preparer != "demo-private":
        make_member(app.app, owner_open_id="demo-private", member_open_id=preparer)
    token = make_token(app.app, open_id=preparer)
    upload = await api_upload(app.client, token, account_id=account_id, files=[video])
    body = {"account_id": account_id, "upload_id": upload["id"], "title": "twice at once"}
    headers = bearer(token) | {"idempotency-key": "same-key-at-once"}

    answers = await asyncio.gather(
        *(app.client.post(f"{API}/prepared-posts", json=body, headers=headers) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(app, prepared_store.PreparedPost) == 1


# --- the rate limit ----------------------------------------------------------------------------


async def test_past_the_rate_limit_the_next_request_gets_429_with_retry_after(
    live_emulator: LiveEmulator, tmp_path: Path, video: Path
) -> None:
    from tests.fixtures.live import api_sign_in

    async with app_with(live_emulator, tmp_path, api_rate_per_minute=3) as app:
        assert (await api_sign_in(app.client, open_id="demo-private")).status_code == 303
        _, account_id = account_of(app.app, "demo-private")
        token = make_token(app.app, open_id="demo-private")
        upload = await api_upload(app.client, token, account_id=account_id, files=[video])
        # Two calls spent (announce, finish); the chunk PUTs count apart.
        assert (await app.client.get(f"{API}/me", headers=bearer(token))).status_code == 200
        limited = await app.client.get(f"{API}/accounts", headers=bearer(token))
        assert limited.status_code == 429, limited.text
        assert int(limited.headers["retry-after"]) >= 1
        error = limited.json()["error"]
        assert error["code"] == "rate_limited" and "Retry-After" in error["message"]
        # Another token of the same person has its own minute.
        fresh = make_token(app.app, open_id="demo-private", name="second")
        assert (await app.client.get(f"{API}/me", headers=bearer(fresh))).status_code == 200
        # The limited token's media chunks count apart from its other calls.
        started = await announce(app.client, fresh, account_id=account_id, files=[video])
        assert started.status_code == 201
        file_id = started.json()["files"][0]["id"]
        chunk = await app.client.put(
            f"{API}/uploads/{started.json()['id']}/files/{file_id}?offset=0",
            content=(await anyio.Path(video).read_bytes())[:1000],
            headers=bearer(token),
        )
        assert chunk.status_code == 200, chunk.text
        assert upload["state"] == "ready"


# --- validation --------------------------------------------------------------------------------


async def test_each_bad_suggestion_is_refused_with_422_naming_the_problem(
    personas: Personas, video: Path, photo: Path
) -> None:
    app = personas.app
    client = app.client
    _, account_id = account_of(app.app, "demo-private")
    token = make_token(app.app, open_id="demo-private")
    other_token = make_token(app.app, open_id="demo-public")
    _, other_account = account_of(app.app, "demo-public")
    clip = await api_upload(client, token, account_id=account_id, files=[video])
    stills = await api_upload(client, token, account_id=account_id, files=[photo], kind="photos")
    unfinished = await api_upload(client, token, account_id=account_id, files=[video], finish=False)
    theirs = await api_upload(client, other_token, account_id=other_account, files=[video])
    now = utcnow()
    smile = "\N{GRINNING FACE}"  # two UTF-16 units: TikTok counts those, not characters

    def on(upload: dict[str, object], **fields: object) -> dict[str, object]:
        return {"account_id": account_id, "upload_id": upload["id"], **fields}

    cases = [
        (on(clip, privacy_suggestion="EVERYONE"), "privacy_suggestion must be one of"),
        (on(clip, title=smile * 1100 + "a"), "at most 2200 characters"),
        (on(stills, title="p" * 91), "at most 90 characters"),
        (on(clip, schedule_at=(now - timedelta(hours=2)).isoformat()), "has passed"),
        (on(clip, schedule_at=(now + timedelta(days=61)).isoformat()), "at most 60 days"),
        (on(unfinished), "not checked and ready"),
        (on(theirs), "No such upload"),
        (on(clip, description="Words for a photo post"), "photo posts only"),
        (on(clip, time_zone="Mars/Olympus"), "Unknown time zone"),
    ]
    for body, words in cases:
        refused = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(token))
        assert refused.status_code == 422, (body, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "refused"
        assert len(error["problems"]) == 1 and words in error["problems"][0], (words, error)

    # At the limits exactly, only the one bad field is named (and nothing is made).
    edge = on(clip, title=smile * 1100, privacy_suggestion="nope")
    refused = await client.post(f"{API}/prepared-posts", json=edge, headers=bearer(token))
    assert len(refused.json()["error"]["problems"]) == 1
    edge = on(stills, title="p" * 90, privacy_suggestion="nope")
    refused = await client.post(f"{API}/prepared-posts", json=edge, headers=bearer(token))
    assert len(refused.json()["error"]["problems"]) == 1

    # Everything wrong at once: every problem is named in one answer.
    everything = on(
        clip,
        title="x" * 2201,
        description="d",
        privacy_suggestion="EVERYONE",
        schedule_at=(now + timedelta(days=90)).isoformat(),
    )
    refused = await client.post(f"{API}/prepared-posts", json=everything, headers=bearer(token))
    assert refused.status_code == 422 and len(refused.json()["error"]["problems"]) == 4

    # Another creator's account, or a malformed body: the same error shape.
    for body, status in (
        ({"account_id": other_account, "upload_id": clip["id"]}, 404),
        ({"account_id": account_id, "upload_id": "not-hex"}, 422),
        ({"account_id": account_id, "upload_id": clip["id"], "privacy_level": "SELF_ONLY"}, 422),
    ):
        refused = await client.post(f"{API}/prepared-posts", json=body, headers=bearer(token))
        assert refused.status_code == status, refused.text
        assert set(refused.json()["error"]) >= {"code", "message"}
    assert _count(app, prepared_store.PreparedPost) == 0


# --- withdrawing -------------------------------------------------------------------------------


def _media_keys(app: AppClient, upload_id: str) -> list[str]:
    with app.app.state.services.factory() as session:
        upload = session.get(upload_store.Upload, upload_id)
        assert upload is not None
        keys = {upload_store.storage_key(upload.id, f.id) for f in upload.files}
        return sorted(keys | {f.storage_key for f in upload.files if f.storage_key})


async def test_only_the_preparer_withdraws_only_while_to_review_and_the_media_goes(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    store = app.app.state.services.media_store
    _, account_id = account_of(app.app, "demo-private")
    make_member(app.app, owner_open_id="demo-private", member_open_id="demo-public")
    owner = make_token(app.app, open_id="demo-private")
    member = make_token(app.app, open_id="demo-public", name="editor's script")

    async def prepare(title: str) -> dict[str, object]:
        upload = await api_upload(app.client, member, account_id=account_id, files=[video])
        body = {"account_id": account_id, "upload_id": upload["id"], "title": title}
        made = await app.client.post(f"{API}/prepared-posts", json=body, headers=bearer(member))
        assert made.status_code == 201, made.text
        result: dict[str, object] = made.json()
        return result

    first = await prepare("to withdraw")
    keys = _media_keys(app, str(first["upload_id"]))
    assert any(store.stat(key) is not None for key in keys), "the media was stored"

    # The owner sees it but did not prepare it: they reject it (in the app), never withdraw.
    url = f"{API}/prepared-posts/{first['id']}"
    assert (await app.client.get(url, headers=bearer(owner))).status_code == 200
    refused = await app.client.delete(url, headers=bearer(owner))
    assert refused.status_code == 404, refused.text

    # Its media is not for deleting apart from it (by the owner, whose it now is, or by the
    # member): 409 says to withdraw the prepared post, and the bytes stay.
    for token in (owner, member):
        kept = await app.client.delete(f"{API}/uploads/{first['upload_id']}", headers=bearer(token))
        assert kept.status_code == 409 and f"prepared post {first['id']}" in kept.text, kept.text
    assert any(store.stat(key) is not None for key in keys)

    withdrawn = await app.client.delete(url, headers=bearer(member))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["state"] == "withdrawn" and withdrawn.json()["upload_id"] is None
    assert all(store.stat(key) is None for key in keys), "the media bytes were deleted"
    with app.app.state.services.factory() as session:
        assert session.get(upload_store.Upload, str(first["upload_id"])) is None
    again = await app.client.delete(url, headers=bearer(member))
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    # Once the creator decided, it can no longer be withdrawn.
    second = await prepare("to reject")
    await _reject(personas, int(str(second["id"])), "Not this week.")
    late = await app.client.delete(f"{API}/prepared-posts/{second['id']}", headers=bearer(member))
    assert late.status_code == 409, late.text
    assert "rejected" in late.json()["error"]["message"]


# --- the preparer's webhook --------------------------------------------------------------------


async def _reject(personas: Personas, prepared_id: int, reason: str) -> None:
    """The owner turns it down on the review page (a session route, never a token)."""
    csrf = await fetch_csrf(personas.creator, "/review")
    answer = await personas.creator.post(
        f"/review/{prepared_id}/reject", data={"csrf_token": csrf, "reason": reason}
    )
    assert answer.status_code in (200, 303), answer.text


async def test_the_preparer_webhook_gets_a_signed_prepared_rejected_without_secrets(
    personas: Personas, video: Path
) -> None:
    app = personas.app
    _, account_id = account_of(app.app, "demo-private")
    make_member(app.app, owner_open_id="demo-private", member_open_id="demo-public")
    member = make_token(app.app, open_id="demo-public", name="editor's script")
    with webhook_receiver() as receiver:
        csrf = await fetch_csrf(personas.other, "/settings/notifications")
        saved = await personas.other.post(
            "/settings/notifications/webhook",
            data={"csrf_token": csrf, "webhook_url": receiver.url},
        )
        secret = re.search(r'id="webhook-secret"[^>]*value="(whsec_[^"]+)"', saved.text)
        assert secret is not None, saved.text

        upload = await api_upload(app.client, member, account_id=account_id, files=[video])
        body = {"account_id": account_id, "upload_id": upload["id"], "title": "Cut 3 #edit"}
        made = await app.client.post(f"{API}/prepared-posts", json=body, headers=bearer(member))
        assert made.status_code == 201, made.text
        prepared_id = made.json()["id"]
        await _reject(personas, prepared_id, "The music is not licensed.")

        sender = notify_delivery.Sender(app.settings, app.app.state.services.cipher)
        factory = app.app.state.services.factory
        assert await notify_delivery.deliver_due(factory, sender, policy=FAST_RETRY)

    [hook] = receiver.received
    notify_webhook.verify(hook.body, hook.headers["x-directpost-signature"], secret.group(1))
    event = json.loads(hook.body)
    assert event["event"] == "prepared.rejected"
    assert event["prepared_post"]["id"] == prepared_id
    assert event["prepared_post"]["state"] == "rejected"
    assert event["prepared_post"]["reason"] == "The music is not licensed."
    assert event["prepared_post"]["url"].endswith(f"{API}/prepared-posts/{prepared_id}")
    sent = hook.body.decode() + json.dumps(hook.headers)
    assert member not in sent and "dpat_" not in sent
    assert secret.group(1) not in sent
    assert app.settings.tiktok_client_secret.get_secret_value() not in sent
    with app.app.state.services.factory() as session:
        for open_id in ("demo-private", "demo-public"):
            account = accounts.find_account_by_open_id(session, open_id=open_id)
            assert account is not None
            tokens = accounts.read_tokens(account, cipher=app.app.state.services.cipher)
            assert tokens.access_token not in sent and tokens.refresh_token not in sent

    # The preparer reads the reason through the API too.
    read = await app.client.get(f"{API}/prepared-posts/{prepared_id}", headers=bearer(member))
    assert read.json()["state"] == "rejected" and read.json()["reason"].startswith("The music")
