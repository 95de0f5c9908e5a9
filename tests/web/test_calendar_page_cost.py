"""What one calendar render costs in SQL: a fixed, small number of statements, whatever the
number of posts and days shown (the caps of every day come from the same rows and one count
per range, never a statement per day or per post).

Counted: the session with the person and their accounts, the posts of the grid, the app's
creator count per day, and the zone default when the address names no zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.live import AppClient, api_sign_in
from tests.web.test_calendar_page import seed
from tests.web.test_compose_page_cost import statements_of

pytestmark = pytest.mark.anyio

ZONE = "Europe/Paris"
#: The session's read (person and accounts) + posts of the range + creators per day.
WITH_ZONE = 3
#: ... + the zone of the person's latest post.
WITHOUT_ZONE = 4


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _render(app_client: AppClient, **query: str) -> list[str]:
    with statements_of(app_client) as statements:
        page = await app_client.client.get("/calendar", params=query)
    assert page.status_code == 200, page.text
    assert 'class="cal-grid"' in page.text
    return statements


async def test_a_calendar_render_sends_the_same_few_statements_for_5_or_200_posts(
    app_client: AppClient,
) -> None:
    assert (await api_sign_in(app_client.client, open_id="demo-private")).status_code == 303
    start = datetime.now(ZoneInfo(ZONE)).replace(hour=9, minute=0, second=0, microsecond=0)
    anchor = (start + timedelta(days=1)).date().isoformat()
    for day in range(1, 6):
        seed(app_client, "demo-private", start + timedelta(days=day), zone=ZONE)
    await _render(app_client, tz=ZONE, date=anchor)  # warm: templates compiled
    few = await _render(app_client, tz=ZONE, date=anchor)

    for day in range(1, 40):
        seed(app_client, "demo-private", start + timedelta(days=day, hours=1), zone=ZONE, count=5)
    many = await _render(app_client, tz=ZONE, date=anchor)
    week = await _render(app_client, tz=ZONE, date=anchor, view="week")
    without_zone = await _render(app_client, date=anchor)

    assert len(few) == len(many) == len(week) <= WITH_ZONE, "\n".join(many)
    assert len(without_zone) <= WITHOUT_ZONE, "\n".join(without_zone)
    for statement in many + without_zone:  # nothing loaded post by post
        assert "post_consents" not in statement and "publish_attempts" not in statement
