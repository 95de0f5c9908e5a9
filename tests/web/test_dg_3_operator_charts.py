"""DG-3: the operator page charts what the app itself measured: real requests through the app
to the live emulator, some answered with errors, a 5xx or nothing (the emulator's fault
control), are counted by endpoint and outcome, and the Post page's render times are charted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import (
    AppClient,
    LiveEmulator,
    api_sign_in,
    make_app_settings,
    register_with_emulator,
)

pytestmark = pytest.mark.anyio

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
#: What TikTok answers the next creator_info requests, in order (then it answers normally).
FAULTS = [
    {"error": "rate_limit_exceeded", "count": 2},
    {"error": "spam_risk_too_many_pending_share", "count": 1},
    {"status": 503, "count": 1},
    {"drop": True, "count": 1},
]
RENDERS = 6  # five meet a fault, the last one is answered


@pytest.fixture
async def operator_app(
    live_emulator: LiveEmulator, tmp_path: Path
) -> AsyncIterator[tuple[AppClient, str]]:
    """The app in-process with an operator token, its TikTok client on the live emulator."""
    token = secrets.token_urlsafe(24)
    public = "http://127.0.0.1:8997"  # ASGI only: nothing listens here
    settings = make_app_settings(
        tmp_path, emulator_url=live_emulator.base_url, public_base_url=public, operator_token=token
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings, webhooks=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=public, timeout=30
        ) as client,
    ):
        yield AppClient(client=client, app=app, settings=settings, emulator=live_emulator), token


def _figure(page: str, chart_id: str) -> str:
    start = page.index(f'data-chart="{chart_id}"')
    return page[start : page.index("</figure>", start)]


def _bars(figure: str) -> dict[str, str]:
    return dict(re.findall(r'data-label="([^"]*)" data-value="([^"]*)"', figure))


async def _operator_page(app: AppClient, token: str, window: str) -> str:
    answer = await app.client.get(
        f"/operator?window={window}", headers={"authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_operator_charts_count_tiktok_answers_by_endpoint_and_code_DG_3(
    operator_app: tuple[AppClient, str],
) -> None:
    app, token = operator_app
    empty = await _operator_page(app, token, "hour")
    assert 'data-empty="chart-errors"' in empty
    assert 'data-empty="chart-page-latency"' in empty

    signed = await api_sign_in(app.client, open_id="demo-private")
    assert signed.status_code == 303, signed.text
    for fault in FAULTS:
        app.emulator.control(
            "POST", "/_emulator/faults", json={"endpoint": "creator_info", **fault}
        )
    try:
        statuses = [
            (await app.client.get("/compose", headers={"accept": "text/html"})).status_code
            for _render in range(RENDERS)
        ]
    finally:
        app.emulator.control("DELETE", "/_emulator/faults")
    assert statuses[-1] == 200, statuses
    assert 503 in statuses  # the 5xx and the dropped answer reach the person as "try again"

    for window in ("hour", "day", "week"):
        page = await _operator_page(app, token, window)
        assert f'href="/operator?window={window}#charts" aria-current="page"' in page

        errors = _bars(_figure(page, "chart-errors"))
        assert errors == {
            "rate_limit_exceeded": "2",
            "spam_risk_too_many_pending_share": "1",
            "HTTP 5xx": "1",
            "no answer": "1",
        }, window

        endpoints = _figure(page, "chart-availability-endpoints")
        # Six creator_info requests, four answered (two rate limits, one spam risk, one ok).
        assert _bars(endpoints)[CREATOR_INFO] == "66.6667"
        assert ">66.7 %</text>" in endpoints
        assert f'<th scope="row">{CREATOR_INFO}</th><td>4</td><td>6</td>' in endpoints
        # The sign-in's own requests were answered, each endpoint in full.
        assert _bars(endpoints)["/v2/oauth/token/"] == "100"

        availability = _figure(page, "chart-availability")
        shares = [float(v) for v in re.findall(r'data-value="([^"]*)"', availability)]
        assert shares and min(shares) < 100

        latency = _figure(page, "chart-page-latency")
        assert "<svg" in latency and 'data-series="p95"' in latency
        assert "renders." in latency
        # No post was published: its charts say so instead of drawing nothing.
        assert 'data-empty="chart-publish-latency"' in page
        assert 'data-empty="chart-success-rate"' in page


async def test_an_unknown_window_shows_the_last_day_DG_3(
    operator_app: tuple[AppClient, str],
) -> None:
    app, token = operator_app
    page = await _operator_page(app, token, "<fortnight>")
    assert 'href="/operator?window=day#charts" aria-current="page"' in page
    assert "&lt;fortnight&gt;" not in page and "<fortnight>" not in page
