"""The Post page's rules hold when the page is bypassed: a hand-made form posted straight to
`POST /posts` is refused with the rule's id, nothing is stored and nothing reaches TikTok.

Real app in-process, real emulator server, real uploaded media (server-measured facts only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.live import AppClient
from tests.fixtures.media_files import make_video
from tests.web.test_compose_page_server import (
    audited_client as audited_client,
)
from tests.web.test_compose_page_server import (
    new_creator,
    signed_in,
    upload_video,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def publish(app: AppClient, csrf: str, **form: str) -> Any:
    answer = await app.client.post(
        "/posts",
        data={"csrf_token": csrf, **form},
        headers={"accept": "application/json"},
    )
    return answer


def refused_rules(answer: Any) -> set[str]:
    assert answer.status_code in (422, 429, 503), (answer.status_code, answer.text)
    return {v["rule"] for v in answer.json()["violations"]}


async def nothing_stored_or_sent(app: AppClient, open_id: str) -> None:
    posts = await app.client.get("/posts", headers={"accept": "application/json"})
    assert posts.json()["posts"] == []
    publishes = app.emulator.state()["publishes"]
    assert not [p for p in publishes if p.get("open_id") == open_id]


@dataclass(frozen=True)
class ReadyVideo:
    """A creator of our own, signed in, with one ready video uploaded."""

    open_id: str
    csrf: str
    upload_id: str


async def ready_draft(
    app: AppClient, tmp_path: Path, *, seconds: float = 1.0, **creator: Any
) -> ReadyVideo:
    open_id = new_creator(app.emulator, **creator)
    csrf = await signed_in(app, open_id)
    upload = await upload_video(app, csrf, make_video(tmp_path / "v.mp4", seconds=seconds))
    assert upload["state"] == "ready"
    return ReadyVideo(open_id=open_id, csrf=csrf, upload_id=str(upload["id"]))


@dataclass(frozen=True)
class Refusal:
    """A form that breaks exactly one rule, for a creator made with `creator` fields."""

    rule: str
    form: dict[str, str]
    creator: dict[str, Any] = field(default_factory=dict)
    seconds: float = 1.0


async def assert_refused(app: AppClient, tmp_path: Path, case: Refusal) -> None:
    draft = await ready_draft(app, tmp_path, seconds=case.seconds, **case.creator)
    answer = await publish(app, draft.csrf, upload_id=draft.upload_id, **case.form)
    assert refused_rules(answer) == {case.rule}
    await nothing_stored_or_sent(app, draft.open_id)


PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}

#: Forms refused for an audited app (every privacy level TikTok offers is allowed).
AUDITED_REFUSALS = [
    pytest.param(
        Refusal("UX-2b", {"title": "hello"}),
        id="ux_2b_publish_without_a_privacy_choice_is_refused",
    ),
    pytest.param(
        # A public creator: creator_info does not offer FOLLOWER_OF_CREATOR.
        Refusal("UX-2b", {"privacy_level": "FOLLOWER_OF_CREATOR"}),
        id="ux_2b_publish_with_a_privacy_level_creator_info_does_not_offer_is_refused",
    ),
    pytest.param(
        # 2202 UTF-16 units, 1101 code points.
        Refusal("UX-2a", {**PUBLIC, "title": "\U0001f600" * 1101}),
        id="ux_2a_publish_with_a_title_over_2200_utf16_units_is_refused",
    ),
    pytest.param(
        Refusal("UX-2c", {**PUBLIC, "allow_comment": "on"}, {"comment_disabled": True}),
        id="ux_2c_publish_allowing_what_the_creator_turned_off_is_refused",
    ),
    pytest.param(
        Refusal("UX-3b", {**PUBLIC, "disclose_commercial": "on"}),
        id="ux_3b_publish_with_disclosure_on_and_no_box_is_refused",
    ),
    pytest.param(
        Refusal(
            "UX-3c",
            {"privacy_level": "SELF_ONLY", "disclose_commercial": "on", "branded_content": "on"},
        ),
        id="ux_3c_publish_of_branded_content_visible_only_to_me_is_refused",
    ),
    pytest.param(
        Refusal("UX-1c", PUBLIC, {"max_video_post_duration_sec": 1}, seconds=2.0),
        id="ux_1c_publish_of_a_video_longer_than_the_creators_maximum_is_refused",
    ),
]

#: Forms refused for an app TikTok has not audited yet (CAP-2: private accounts, SELF_ONLY).
UNAUDITED_REFUSALS = [
    pytest.param(
        Refusal("CAP-2", {"privacy_level": "MUTUAL_FOLLOW_FRIENDS"}, {"private_account": True}),
        id="cap_2_unaudited_publish_with_a_public_audience_is_refused",
    ),
    pytest.param(
        Refusal("CAP-2", {"privacy_level": "SELF_ONLY"}, {"private_account": False}),
        id="cap_2_unaudited_publish_from_a_public_account_is_refused",
    ),
]


@pytest.mark.parametrize("case", AUDITED_REFUSALS)
async def test_audited_app_refuses_a_form_that_breaks_the_rule(
    audited_client: AppClient, tmp_path: Path, case: Refusal
) -> None:
    await assert_refused(audited_client, tmp_path, case)


@pytest.mark.parametrize("case", UNAUDITED_REFUSALS)
async def test_unaudited_app_refuses_a_form_that_breaks_the_rule(
    app_client: AppClient, tmp_path: Path, case: Refusal
) -> None:
    await assert_refused(app_client, tmp_path, case)


async def test_ux_1b_publish_for_a_creator_who_cannot_post_now_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    draft = await ready_draft(audited_client, tmp_path)
    # TikTok's answer changes after the page was rendered: the server asks again and stops.
    audited_client.emulator.control(
        "POST", "/_emulator/creators", json={"open_id": draft.open_id, "posting_state": "capped"}
    )
    answer = await publish(audited_client, draft.csrf, upload_id=draft.upload_id, **PUBLIC)
    assert refused_rules(answer) == {"UX-1b"}
    assert "try again later" in answer.text.lower()
    await nothing_stored_or_sent(audited_client, draft.open_id)


async def test_a_complete_form_is_accepted_so_the_refusals_above_are_the_rules_alone(
    audited_client: AppClient, tmp_path: Path
) -> None:
    draft = await ready_draft(audited_client, tmp_path)
    answer = await publish(audited_client, draft.csrf, upload_id=draft.upload_id, **PUBLIC)
    assert answer.status_code == 201, answer.text
