"""The Post page from the server's side: fresh creator_info, blocked creators, the re-rendered
controls, and the scoping of uploads — over the real app in-process and the real emulator.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import (
    AppClient,
    LiveEmulator,
    api_sign_in,
    fetch_csrf,
    make_app_settings,
    register_with_emulator,
)
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def audited_client(live_emulator: LiveEmulator, tmp_path: Path) -> AsyncIterator[AppClient]:
    """The app in-process, configured as audited by TikTok (all privacy levels offered).

    Its public URL is on loopback: the emulator, like TikTok, wants https redirect URIs for an
    audited app and makes an exception only for loopback hosts.
    """
    public = "http://127.0.0.1:8765"
    settings = make_app_settings(
        tmp_path, emulator_url=live_emulator.base_url, public_base_url=public, app_audited=True
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=public, timeout=30
        ) as client,
    ):
        yield AppClient(client=client, app=app, settings=settings, emulator=live_emulator)


def new_creator(emulator: LiveEmulator, **fields: Any) -> str:
    """A creator of our own in the shared emulator (never alter the demo creators)."""
    open_id = "e-" + secrets.token_hex(6)
    body = {"open_id": open_id, "nickname": f"Nick {open_id}", "username": open_id, **fields}
    emulator.control("POST", "/_emulator/creators", json=body)
    return open_id


async def signed_in(app: AppClient, open_id: str) -> str:
    """Sign the client in as `open_id`; returns its CSRF token."""
    answer = await api_sign_in(app.client, open_id=open_id)
    assert answer.status_code == 303, answer.text
    return await fetch_csrf(app.client, "/compose")


async def controls(app: AppClient, csrf: str, **form: str) -> str:
    answer = await app.client.post("/compose/state", data=form, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    return answer.text


def nickname_on(html: str) -> str:
    """The nickname the Post page shows for the receiving account (UX-1a)."""
    found = re.search(r'data-testid="creator-nickname">([^<]*)<', html)
    assert found is not None, html
    return found.group(1)


def publish_disabled(html: str) -> bool:
    button = re.search(r'<button type="submit" id="publish"[^>]*>', html)
    assert button is not None, html
    return " disabled" in button.group(0)


def options(html: str) -> list[tuple[str, bool, bool]]:
    """(value, selected, disabled) for each real option of the privacy dropdown."""
    found = []
    for tag in re.findall(r"<option [^>]*>", html):
        value = re.search(r'value="([^"]*)"', tag)
        assert value is not None
        if value.group(1):
            found.append((value.group(1), " selected" in tag, " disabled" in tag))
    return found


async def upload_video(app: AppClient, csrf: str, path: Path) -> dict[str, Any]:
    data = await anyio.Path(path).read_bytes()
    created = await app.client.post(
        "/uploads",
        json={
            "kind": "video",
            "files": [{"name": path.name, "size": len(data), "type": "video/mp4"}],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    file_id = upload["files"][0]["id"]
    put = await app.client.put(
        f"/uploads/{upload['id']}/files/{file_id}?offset=0",
        content=data,
        headers={"X-CSRF-Token": csrf},
    )
    assert put.status_code == 200, put.text
    done = await app.client.post(f"/uploads/{upload['id']}/finish", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


# UX-1 -------------------------------------------------------------------------------------


async def test_ux_1_post_page_asks_tiktok_for_creator_info_on_every_render(
    app_client: AppClient,
) -> None:
    open_id = new_creator(app_client.emulator, private_account=True, nickname="First Name")
    await signed_in(app_client, open_id)
    first = await app_client.client.get("/compose")
    assert nickname_on(first.text) == "First Name"
    app_client.emulator.control(
        "POST", "/_emulator/creators", json={"open_id": open_id, "nickname": "Renamed Later"}
    )
    second = await app_client.client.get("/compose")
    assert second.status_code == 200
    assert nickname_on(second.text) == "Renamed Later"


async def test_ux_1_post_page_needs_a_signed_in_person(app_client: AppClient) -> None:
    answer = await app_client.client.get("/compose", headers={"accept": "text/html"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/?next=")


# UX-1b ------------------------------------------------------------------------------------


@pytest.mark.parametrize("posting_state", ["capped", "banned"])
async def test_ux_1b_blocked_creator_is_told_to_try_later_and_gets_no_form(
    app_client: AppClient, posting_state: str
) -> None:
    open_id = new_creator(app_client.emulator, private_account=True, posting_state=posting_state)
    await api_sign_in(app_client.client, open_id=open_id)
    page = await app_client.client.get("/compose")
    assert page.status_code == 200
    assert "try again later" in page.text.lower()
    assert 'id="compose-form"' not in page.text
    assert 'id="publish"' not in page.text


# UX-2b / UX-2c / UX-3 via the re-rendered controls ----------------------------------------


async def test_ux_2b_controls_offer_exactly_creator_info_options_with_nothing_selected(
    audited_client: AppClient,
) -> None:
    open_id = new_creator(audited_client.emulator)  # a public account
    csrf = await signed_in(audited_client, open_id)
    html = await controls(audited_client, csrf)
    assert options(html) == [
        ("PUBLIC_TO_EVERYONE", False, False),
        ("MUTUAL_FOLLOW_FRIENDS", False, False),
        ("SELF_ONLY", False, False),
    ]
    assert publish_disabled(html)


async def test_ux_2c_controls_disable_what_the_creator_turned_off_even_when_sent_checked(
    audited_client: AppClient,
) -> None:
    open_id = new_creator(audited_client.emulator, comment_disabled=True)
    csrf = await signed_in(audited_client, open_id)
    html = await controls(audited_client, csrf, allow_comment="on", allow_duet="on")
    comment = re.search(r'<input type="checkbox" id="allow_comment"[^>]*>', html)
    duet = re.search(r'<input type="checkbox" id="allow_duet"[^>]*>', html)
    assert comment is not None and duet is not None
    assert " disabled" in comment.group(0) and " checked" not in comment.group(0)
    assert " disabled" not in duet.group(0) and " checked" in duet.group(0)


async def test_ux_3c_controls_lock_only_me_once_branded_content_is_checked(
    audited_client: AppClient,
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    html = await controls(audited_client, csrf, disclose_commercial="on", branded_content="on")
    assert ("SELF_ONLY", False, True) in options(html)
    assert 'title="Branded content visibility cannot be set to private."' in html


async def test_ux_3b_controls_keep_publish_disabled_with_the_hover_text(
    audited_client: AppClient,
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    html = await controls(
        audited_client, csrf, privacy_level="PUBLIC_TO_EVERYONE", disclose_commercial="on"
    )
    assert publish_disabled(html)
    assert (
        'title="You need to indicate if your content promotes yourself, a third party, or both."'
        in html
    )


async def test_cap_2_unaudited_app_offers_only_self_only_and_explains_going_public(
    app_client: AppClient,
) -> None:
    open_id = new_creator(app_client.emulator, private_account=True)
    csrf = await signed_in(app_client, open_id)
    html = await controls(app_client, csrf)
    assert [value for value, _sel, _dis in options(html)] == ["SELF_ONLY"]
    assert "first set your account to public" in html


async def test_cap_2_unaudited_app_refuses_a_public_account_with_what_to_do(
    app_client: AppClient,
) -> None:
    open_id = new_creator(app_client.emulator, private_account=False)
    csrf = await signed_in(app_client, open_id)
    html = await controls(app_client, csrf, privacy_level="SELF_ONLY")
    assert publish_disabled(html)
    assert "turn on" in html and "Private account" in html


# UX-1c / UX-5a with a real upload ---------------------------------------------------------


async def test_ux_1c_video_longer_than_the_creators_maximum_cannot_be_published(
    app_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(app_client.emulator, private_account=True, max_video_post_duration_sec=1)
    csrf = await signed_in(app_client, open_id)
    upload = await upload_video(app_client, csrf, make_video(tmp_path / "long.mp4", seconds=2.0))
    assert upload["state"] == "ready"  # TikTok's general limits hold ...
    html = await controls(app_client, csrf, upload_id=upload["id"], privacy_level="SELF_ONLY")
    assert publish_disabled(html)  # ... but this creator's maximum does not (UX-1c)
    assert "can post videos of up to 1 s" in html


async def test_ux_5a_a_checked_upload_gets_a_player_preview_and_an_enabled_publish_button(
    app_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(app_client.emulator, private_account=True)
    csrf = await signed_in(app_client, open_id)
    upload = await upload_video(app_client, csrf, make_video(tmp_path / "ok.mp4", seconds=1.0))
    preview = await app_client.client.get(f"/compose/preview?upload={upload['id']}")
    assert preview.status_code == 200
    assert f'src="/uploads/{upload["id"]}/files/{upload["files"][0]["id"]}"' in preview.text
    assert 'name="cover_timestamp_ms"' in preview.text
    html = await controls(app_client, csrf, upload_id=upload["id"], privacy_level="SELF_ONLY")
    assert not publish_disabled(html)
