"""The Post page's rules hold when the page is bypassed: a hand-made form posted straight to
`POST /posts` is refused with the rule's id, nothing is stored and nothing reaches TikTok.

Real app in-process, real emulator server, real uploaded media (server-measured facts only).
"""

from __future__ import annotations

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


async def ready_video(app: AppClient, csrf: str, tmp_path: Path, seconds: float = 1.0) -> str:
    upload = await upload_video(app, csrf, make_video(tmp_path / "v.mp4", seconds=seconds))
    assert upload["state"] == "ready"
    return str(upload["id"])


async def test_ux_2b_publish_without_a_privacy_choice_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(audited_client, csrf, upload_id=upload_id, title="hello")
    assert refused_rules(answer) == {"UX-2b"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_2b_publish_with_a_privacy_level_creator_info_does_not_offer_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)  # public: no FOLLOWER_OF_CREATOR
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(
        audited_client, csrf, upload_id=upload_id, privacy_level="FOLLOWER_OF_CREATOR"
    )
    assert refused_rules(answer) == {"UX-2b"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_2a_publish_with_a_title_over_2200_utf16_units_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(
        audited_client,
        csrf,
        upload_id=upload_id,
        privacy_level="PUBLIC_TO_EVERYONE",
        title="\U0001f600" * 1101,  # 2202 UTF-16 units, 1101 code points
    )
    assert refused_rules(answer) == {"UX-2a"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_2c_publish_allowing_what_the_creator_turned_off_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator, comment_disabled=True)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(
        audited_client,
        csrf,
        upload_id=upload_id,
        privacy_level="PUBLIC_TO_EVERYONE",
        allow_comment="on",
    )
    assert refused_rules(answer) == {"UX-2c"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_3b_publish_with_disclosure_on_and_no_box_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(
        audited_client,
        csrf,
        upload_id=upload_id,
        privacy_level="PUBLIC_TO_EVERYONE",
        disclose_commercial="on",
    )
    assert refused_rules(answer) == {"UX-3b"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_3c_publish_of_branded_content_visible_only_to_me_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(
        audited_client,
        csrf,
        upload_id=upload_id,
        privacy_level="SELF_ONLY",
        disclose_commercial="on",
        branded_content="on",
    )
    assert refused_rules(answer) == {"UX-3c"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_1c_publish_of_a_video_longer_than_the_creators_maximum_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator, max_video_post_duration_sec=1)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path, seconds=2.0)
    answer = await publish(
        audited_client, csrf, upload_id=upload_id, privacy_level="PUBLIC_TO_EVERYONE"
    )
    assert refused_rules(answer) == {"UX-1c"}
    await nothing_stored_or_sent(audited_client, open_id)


async def test_ux_1b_publish_for_a_creator_who_cannot_post_now_is_refused(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    # TikTok's answer changes after the page was rendered: the server asks again and stops.
    audited_client.emulator.control(
        "POST", "/_emulator/creators", json={"open_id": open_id, "posting_state": "capped"}
    )
    answer = await publish(
        audited_client, csrf, upload_id=upload_id, privacy_level="PUBLIC_TO_EVERYONE"
    )
    assert refused_rules(answer) == {"UX-1b"}
    assert "try again later" in answer.text.lower()
    await nothing_stored_or_sent(audited_client, open_id)


async def test_cap_2_unaudited_publish_with_a_public_audience_is_refused(
    app_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(app_client.emulator, private_account=True)
    csrf = await signed_in(app_client, open_id)
    upload_id = await ready_video(app_client, csrf, tmp_path)
    answer = await publish(
        app_client, csrf, upload_id=upload_id, privacy_level="MUTUAL_FOLLOW_FRIENDS"
    )
    assert refused_rules(answer) == {"CAP-2"}
    await nothing_stored_or_sent(app_client, open_id)


async def test_cap_2_unaudited_publish_from_a_public_account_is_refused(
    app_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(app_client.emulator, private_account=False)
    csrf = await signed_in(app_client, open_id)
    upload_id = await ready_video(app_client, csrf, tmp_path)
    answer = await publish(app_client, csrf, upload_id=upload_id, privacy_level="SELF_ONLY")
    assert refused_rules(answer) == {"CAP-2"}
    await nothing_stored_or_sent(app_client, open_id)


async def test_a_complete_form_is_accepted_so_the_refusals_above_are_the_rules_alone(
    audited_client: AppClient, tmp_path: Path
) -> None:
    open_id = new_creator(audited_client.emulator)
    csrf = await signed_in(audited_client, open_id)
    upload_id = await ready_video(audited_client, csrf, tmp_path)
    answer = await publish(
        audited_client, csrf, upload_id=upload_id, privacy_level="PUBLIC_TO_EVERYONE"
    )
    assert answer.status_code == 201, answer.text
