"""The Post page asks TikTok for creator_info once per render, through the shared budget (CAP-4).

When TikTok answers 429 (or 5xx) the page says so and asks the person to reload later; the
app's TikTok client must not send the request again on its own, because a repeat would be
spent outside the shared per-creator budget that publish jobs count on. The emulator's fault
control answers the next calls with the error and, read back afterwards, shows how many of
them were used: that is how many requests the page sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio

#: More faults than any retry policy would use, so every resent request meets one.
FAULTS = 3


def _creator_info_faults_left(app_client: AppClient) -> int:
    faults = app_client.emulator.state()["faults"]
    return sum(f["count"] for f in faults if f["endpoint"] == "creator_info")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"error": "rate_limit_exceeded"},
            "TikTok asks us to slow down for this account. Wait a minute, then reload the page.",
        ),
        ({"status": 503}, "Reload the page to try again."),
    ],
    ids=["429", "503"],
)
async def test_compose_page_creator_info_429_is_not_resent_outside_the_budget(
    app_client: AppClient, fault: dict[str, Any], message: str
) -> None:
    signed = await api_sign_in(app_client.client, open_id="demo-private")
    assert signed.status_code == 303, signed.text
    app_client.emulator.control(
        "POST",
        "/_emulator/faults",
        json={"endpoint": "creator_info", "count": FAULTS, **fault},
    )
    try:
        page = await app_client.client.get("/compose", headers={"accept": "text/html"})
        left = _creator_info_faults_left(app_client)
    finally:
        app_client.emulator.control("DELETE", "/_emulator/faults")

    assert left == FAULTS - 1  # TikTok received creator_info exactly once
    assert page.status_code == 503, page.text
    assert "The Post page cannot be shown right now" in page.text
    assert message in page.text
