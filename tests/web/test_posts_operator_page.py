"""The operator's settings page (`/operator`, issue 5): present only with an operator token,
shows the transfer mode and why (TECH-2), the audit mode (CAP-1), the kinds in use, and DG-3
figures computed from the database."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from directpost.publishing import states
from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.crypto import token_cipher_from_settings
from directpost.store.db import create_engine_from_settings, create_session_factory
from directpost.store.migrate import upgrade_database
from directpost.tiktok import Token
from directpost.web.app import create_app
from tests.fixtures.live import make_app_settings
from tests.fixtures.post_states import seed_state

pytestmark = pytest.mark.anyio

PUBLIC = "http://127.0.0.1:8998"  # ASGI only: nothing listens here, nothing is reached


@asynccontextmanager
async def _app(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    settings = make_app_settings(
        tmp_path, emulator_url="http://127.0.0.1:9", public_base_url=PUBLIC, **overrides
    )
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=PUBLIC, timeout=30
        ) as client,
    ):
        yield client, settings


async def _csrf(client: httpx2.AsyncClient) -> str:
    page = await client.get("/operator")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def _sign_in(client: httpx2.AsyncClient, token: str) -> httpx2.Response:
    return await client.post(
        "/operator/sign-in", data={"csrf_token": await _csrf(client), "token": token}
    )


async def test_operator_page_does_not_exist_without_an_operator_token(tmp_path: Path) -> None:
    async with _app(tmp_path) as (client, _settings):
        assert (await client.get("/operator")).status_code == 404
        assert (
            await client.get("/operator", headers={"authorization": "Bearer anything"})
        ).status_code == 404


async def test_a_wrong_token_sees_nothing_of_the_settings(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    async with _app(tmp_path, operator_token=token) as (client, _settings):
        first = await client.get("/operator")
        wrong = await _sign_in(client, token + "x")
        bearer = await client.get("/operator", headers={"authorization": "Bearer nope"})
    for answer in (first, wrong, bearer):
        assert answer.status_code == 401
        assert "Media transfer" not in answer.text
    assert "operator token. Nothing was changed." in wrong.text
    assert token not in wrong.text


async def test_file_upload_is_shown_as_the_operators_choice_with_its_reason_TECH_2(
    tmp_path: Path,
) -> None:
    token = secrets.token_urlsafe(24)
    async with _app(tmp_path, operator_token=token, transfer_mode="file_upload") as (client, _s):
        signed = await _sign_in(client, token)
        page = await client.get("/operator")
    assert signed.status_code == 303
    assert page.status_code == 200
    assert 'data-setting="Media transfer">FILE_UPLOAD<' in page.text
    assert "Chosen by the operator (DIRECTPOST_TRANSFER_MODE=file_upload)" in page.text
    assert "Photos are still pulled" in page.text
    assert token not in page.text and token not in str(signed.cookies)


async def test_pull_is_the_default_and_audit_mode_and_kinds_are_shown_CAP_1(
    tmp_path: Path,
) -> None:
    token = secrets.token_urlsafe(24)
    async with _app(tmp_path, operator_token=token) as (client, settings):
        page = await client.get("/operator", headers={"authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert 'data-setting="Media transfer">PULL_FROM_URL<' in page.text
    assert f"{settings.resolved_media_public_base_url}/m/" in page.text
    assert "not audited" in page.text and "every post is private (SELF_ONLY)" in page.text
    assert 'data-setting="Database">SQLite<' in page.text
    assert 'data-setting="Job queue">SQLite<' in page.text
    assert 'data-setting="Media storage">local folder<' in page.text
    assert settings.session_secret.get_secret_value() not in page.text


def _seed_posts(
    settings: Any, make: Callable[[store.Post, int], None], count: int, *, created: Any
) -> None:
    factory = create_session_factory(create_engine_from_settings(settings))
    cipher = token_cipher_from_settings(settings)
    now = utcnow()
    grant = Token.from_response(
        {
            "access_token": "act." + secrets.token_hex(8),
            "refresh_token": "rft." + secrets.token_hex(8),
            "open_id": "figures-creator",
            "scope": "user.info.basic,video.publish",
            "expires_in": 86400,
            "refresh_expires_in": 86400 * 365,
        },
        now,
    )
    with factory() as session, session.begin():
        account = accounts.record_sign_in(
            session,
            grant=grant,
            profile=accounts.Profile(display_name="Figures", avatar_url=""),
            cipher=cipher,
            signed_in_person_id=None,
        )
        for i in range(count):
            post = store.create_post(
                session,
                person_id=account.person_id,
                account_id=account.id,
                open_id=account.open_id,
                kind="video",
                mode="direct",
                choices={"title": f"p{i}"},
                media=[],
                upload_id=None,
                scheduled_at=None,
                time_zone="UTC",
                state=states.QUEUED,
                due_at=utcnow(),
                creator_info={},
                declaration="",
                label="",
                now=created,
            )
            make(post, i)


async def test_figures_count_posts_by_state_success_rate_and_median_time_DG_3(
    tmp_path: Path,
) -> None:
    token = secrets.token_urlsafe(24)
    base = utcnow() - timedelta(minutes=30)
    # Three published after 10, 20 and 30 s, one failed after 40 s, one still processing,
    # and one created two days ago (outside the window).
    plan = [
        (states.PUBLISHED, 10),
        (states.PUBLISHED, 20),
        (states.PUBLISHED, 30),
        (states.FAILED, 40),
        (states.PROCESSING, None),
        (states.PUBLISHED, -1),
    ]

    def make(post: store.Post, i: int) -> None:
        state, seconds = plan[i]
        if seconds == -1:
            post.created_at = base - timedelta(days=2)
            seed_state(post, state=state, now=post.created_at + timedelta(seconds=5))
        elif seconds is None:
            seed_state(post, state=state, now=base)
        else:
            seed_state(post, state=state, now=base + timedelta(seconds=seconds))

    async with _app(tmp_path, operator_token=token) as (client, settings):
        _seed_posts(settings, make, len(plan), created=base)
        page = await client.get("/operator", headers={"authorization": f"Bearer {token}"})

    assert page.status_code == 200
    assert 'data-figure="total">5<' in page.text
    assert 'data-figure="success-rate">75.0 %<' in page.text  # 3 of the 4 that ended
    assert 'data-figure="median">25.0 s<' in page.text  # of 10, 20, 30, 40 s
    assert re.search(r'data-state="published"><td>[^<]+</td><td>3<', page.text)
    assert re.search(r'data-state="processing"><td>[^<]+</td><td>1<', page.text)
