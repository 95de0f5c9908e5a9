"""The compliance log: the init verdicts (UX-1, UX-2b, UX-2c, UX-3c), the log's JSON and page.

Each verdict has a test that triggers it — logged while strict mode is off, answered with the
error TikTok would give (or a 400 ``compliance_verdict``) when it is on — and one where a client
that does it right gets no verdict. The emulator under test is the lenient session server
(tests/emulator/conftest.py); strict mode is switched on through ``POST /_emulator/config``.
The transfer verdicts are in test_emulator_compliance_transport.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.emulator.compliance_helpers import (
    CREATOR_INFO,
    VIDEO_INIT,
    all_kinds,
    compliant_file_post,
    creator_info,
    error_of,
    kinds,
    last_entry,
    log,
    set_strict,
)
from tests.emulator.helpers import video_init_body
from tests.fixtures.emulator import EmulatorHandle


def test_a_compliant_client_gets_no_verdict_in_strict_mode(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    h = emulator_server
    set_strict(h)
    for open_id in ("demo-public", "demo-private", "demo-no-comments", "demo-no-duet-stitch"):
        compliant_file_post(h, h.token(open_id), video_mp4.read_bytes())
    answer = log(h)
    assert answer["strict"] is True
    assert answer["verdict_count"] == 0, log(h, verdicts_only="1")
    paths = [e["path"] for e in answer["entries"]]
    assert paths.count(CREATOR_INFO) == 4 and paths.count("/upload/video/") == 4
    init = last_entry(h, VIDEO_INIT)
    assert init["status"] == 200 and init["method"] == "POST"
    assert (init["client_key"], init["open_id"]) == (h.client_key, "demo-no-duet-stitch")


# --- UX-1: creator_info before every direct post ---------------------------------------------


def test_ux_1_init_without_creator_info_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    lenient = h.api(VIDEO_INIT, token, video_init_body())
    assert lenient.status_code == 200, lenient.text  # TikTok itself does not check this
    entry = last_entry(h, VIDEO_INIT)
    assert kinds(entry) == ["creator_info_not_fetched"]
    verdict = entry["verdicts"][0]
    assert verdict["rule"] == "UX-1"
    assert "must retrieve the latest creator info" in verdict["sentence"]

    set_strict(h)
    status, code, message = error_of(h.api(VIDEO_INIT, token, video_init_body()))
    assert (status, code) == (400, "compliance_verdict")
    assert "[UX-1]" in message
    assert len(h.state()["publishes"]) == 1  # the refused init created nothing


def test_ux_1_creator_info_older_than_the_window_is_flagged(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    creator_info(h, token)
    h.control("clock", {"advance_s": 901})
    assert h.api(VIDEO_INIT, token, video_init_body()).status_code == 200
    entry = last_entry(h, VIDEO_INIT)
    assert kinds(entry) == ["creator_info_not_fetched"]
    assert "901 s before the init" in entry["verdicts"][0]["detail"]


def test_ux_1_creator_info_fetched_by_an_earlier_token_of_the_same_app_counts(
    emulator_server: EmulatorHandle,
) -> None:
    """Tokens rotate on refresh: what the app was told about the creator is what counts."""
    h = emulator_server
    set_strict(h)
    creator_info(h, h.token("demo-public"))
    answer = h.api(VIDEO_INIT, h.token("demo-public"), video_init_body())
    assert answer.status_code == 200, answer.text
    assert all_kinds(h) == []


# --- UX-2b: privacy from the options creator_info gave -----------------------------------------


def test_ux_2b_privacy_outside_the_last_creator_info_options_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle,
) -> None:
    """The app fetched creator_info while the account was private, then posted PUBLIC (which the
    creator allows again by now, so TikTok would accept it): the page cannot have offered it."""
    h = emulator_server
    token = h.token("demo-public")
    h.control("creators", {"open_id": "demo-public", "private_account": True})
    assert "PUBLIC_TO_EVERYONE" not in creator_info(h, token)["privacy_level_options"]
    h.control("creators", {"open_id": "demo-public", "private_account": False})

    # Duet and stitch were off while the account was private; the init keeps them off.
    body = video_init_body(privacy="PUBLIC_TO_EVERYONE", disable_duet=True, disable_stitch=True)
    assert h.api(VIDEO_INIT, token, body).status_code == 200
    entry = last_entry(h, VIDEO_INIT)
    assert kinds(entry) == ["privacy_not_offered"]
    assert entry["verdicts"][0]["rule"] == "UX-2b"
    assert "PUBLIC_TO_EVERYONE is not in" in entry["verdicts"][0]["detail"]

    set_strict(h)
    status, code, message = error_of(h.api(VIDEO_INIT, token, body))
    assert (status, code) == (403, "privacy_level_option_mismatch")  # TikTok's code for it
    assert "[UX-2b]" in message


def test_ux_2b_privacy_from_the_offered_options_gets_no_verdict(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    set_strict(h)
    token = h.token("demo-private")
    for level in creator_info(h, token)["privacy_level_options"]:
        body = video_init_body(privacy=level, disable_duet=True, disable_stitch=True)
        assert h.api(VIDEO_INIT, token, body).status_code == 200
    assert all_kinds(h) == []


# --- UX-2c: interactions creator_info disabled stay off ----------------------------------------


def test_ux_2c_an_interaction_creator_info_disabled_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-no-duet-stitch")
    info = creator_info(h, token)
    assert info["duet_disabled"] and info["stitch_disabled"] and not info["comment_disabled"]
    # disable_stitch unset counts as "on": TikTok's default for a missing field.
    body = video_init_body(disable_comment=False, disable_duet=False)
    assert h.api(VIDEO_INIT, token, body).status_code == 200  # TikTok turns them off silently
    entry = last_entry(h, VIDEO_INIT)
    assert kinds(entry) == ["interaction_disabled_by_creator"]
    assert entry["verdicts"][0]["rule"] == "UX-2c"
    assert "duet, stitch" in entry["verdicts"][0]["detail"]

    set_strict(h)
    status, code, message = error_of(h.api(VIDEO_INIT, token, body))
    assert (status, code) == (400, "compliance_verdict")
    assert "[UX-2c]" in message


def test_ux_2c_comments_on_a_photo_post_are_checked_too_and_off_is_compliant(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-no-comments")
    creator_info(h, token)
    photo = {
        "media_type": "PHOTO",
        "post_mode": "DIRECT_POST",
        "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "hi"},
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": [h.verified_url("a.jpg")],
            "photo_cover_index": 0,
        },
    }
    assert h.api("/v2/post/publish/content/init/", token, photo).status_code == 200
    assert all_kinds(h) == ["interaction_disabled_by_creator"]
    h.control("compliance", method="DELETE")
    photo["post_info"]["disable_comment"] = True  # type: ignore[index]
    assert h.api("/v2/post/publish/content/init/", token, photo).status_code == 200
    assert all_kinds(h) == []


# --- UX-3c: branded content is never SELF_ONLY -------------------------------------------------


def test_ux_3c_branded_content_with_self_only_is_flagged_and_strict_refuses_it(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    creator_info(h, token)
    body = video_init_body(privacy="SELF_ONLY", brand_content_toggle=True)
    assert h.api(VIDEO_INIT, token, body).status_code == 200  # TikTok documents no error
    entry = last_entry(h, VIDEO_INIT)
    assert kinds(entry) == ["branded_content_self_only"]
    assert entry["verdicts"][0]["rule"] == "UX-3c"

    set_strict(h)
    status, code, message = error_of(h.api(VIDEO_INIT, token, body))
    assert (status, code) == (400, "compliance_verdict")
    assert "[UX-3c]" in message


def test_ux_3c_branded_content_in_public_and_your_brand_in_self_only_get_no_verdict(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    set_strict(h)
    token = h.token("demo-public")
    creator_info(h, token)
    for body in (
        video_init_body(privacy="PUBLIC_TO_EVERYONE", brand_content_toggle=True),
        video_init_body(privacy="SELF_ONLY", brand_organic_toggle=True),
    ):
        assert h.api(VIDEO_INIT, token, body).status_code == 200
    assert all_kinds(h) == []


# --- the log itself ------------------------------------------------------------------------


def test_the_log_filters_clears_resets_and_leaves_the_control_plane_out(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    h.api(VIDEO_INIT, token, video_init_body())  # flagged: no creator_info
    creator_info(h, token)
    everything = log(h)
    assert [e["path"] for e in everything["entries"]] == [VIDEO_INIT, CREATOR_INFO]
    assert everything["capacity"] == 5000
    assert everything["verdicts_by_rule"] == {"UX-1": 1}
    assert [e["path"] for e in log(h, verdicts_only="1")["entries"]] == [VIDEO_INIT]
    assert log(h, open_id="demo-private")["entries"] == []
    assert h.client.get("/_emulator/compliance?verdicts_only=maybe").status_code == 400

    h.control("compliance", method="DELETE")
    assert log(h)["entries"] == []
    # Clearing the entries keeps what the app was told: this init is compliant.
    assert h.api(VIDEO_INIT, token, video_init_body()).status_code == 200
    assert all_kinds(h) == []

    h.control("reset")
    assert log(h)["entries"] == []


def test_the_inspector_page_shows_each_request_and_its_verdict(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    h.api(VIDEO_INIT, h.token("demo-public"), video_init_body())
    index = h.client.get("/_emulator/")
    assert 'href="/_emulator/compliance.html"' in index.text
    page = h.client.get("/_emulator/compliance.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "POST /v2/post/publish/video/init/" in page.text
    assert "<strong>UX-1</strong> direct post init without a fresh creator_info" in page.text
    assert "demo-public" in page.text
    clean = h.client.get("/_emulator/compliance.html?verdicts_only=1")
    assert "UX-1" in clean.text and "show every request" in clean.text
