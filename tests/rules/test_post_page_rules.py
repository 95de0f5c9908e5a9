"""The compliance policy, rule by rule (requirements.md UX-*, CAP-1, CAP-2, TECH-3).

Pure functions: each test builds the creator_info facts, a draft and the app policy and reads
what the page must show or which rules the server must refuse.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from directpost import rules
from directpost.rules import (
    AppPolicy,
    CreatorFacts,
    Draft,
    MediaFacts,
    compose_state,
    limits,
    texts,
    validate,
)

PUBLIC_CREATOR = CreatorFacts(
    nickname="Demo Public",
    avatar_url="https://example.test/a.jpg",
    username="demo.public",
    privacy_level_options=("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"),
    max_video_post_duration_sec=300,
)
PRIVATE_CREATOR = replace(
    PUBLIC_CREATOR,
    nickname="Demo Private",
    privacy_level_options=("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"),
    duet_disabled=True,
    stitch_disabled=True,
)
AUDITED = AppPolicy(audited=True, creator_cap=100)
UNAUDITED = AppPolicy(audited=False, creator_cap=5)
VIDEO = MediaFacts(kind="video", ready=True, duration_sec=12.0)
PHOTOS = MediaFacts(kind="photos", ready=True, photo_count=3)
GOOD_VIDEO_DRAFT = Draft(media=VIDEO, title="hello #cats", privacy_level="PUBLIC_TO_EVERYONE")


def rule_ids(creator: CreatorFacts, draft: Draft, policy: AppPolicy) -> set[str]:
    return {v.rule for v in validate(creator, draft, policy)}


def test_a_complete_video_draft_breaks_no_rule_and_may_be_published() -> None:
    assert validate(PUBLIC_CREATOR, GOOD_VIDEO_DRAFT, AUDITED) == []
    assert compose_state(PUBLIC_CREATOR, GOOD_VIDEO_DRAFT, AUDITED).publish_allowed


def test_package_root_exports_every_public_name_it_lists() -> None:
    assert len(set(rules.__all__)) == len(rules.__all__)
    for name in rules.__all__:
        assert hasattr(rules, name), name


# UX-1a / UX-1b --------------------------------------------------------------------------


def test_ux_1a_state_carries_the_creators_nickname_and_avatar() -> None:
    state = compose_state(PUBLIC_CREATOR, Draft(), AUDITED)
    assert state.nickname == "Demo Public"
    assert state.avatar_url == "https://example.test/a.jpg"


@pytest.mark.parametrize("code", sorted(rules.POSTING_BLOCKED_CODES))
def test_ux_1b_blocked_creator_gets_try_again_later_and_nothing_to_publish(code: str) -> None:
    creator = CreatorFacts(blocked_code=code)
    state = compose_state(creator, GOOD_VIDEO_DRAFT, AUDITED)
    assert state.blocked
    assert "try again later" in state.blocked_message
    assert not state.publish_allowed
    assert state.privacy_options == ()
    assert [v.rule for v in validate(creator, GOOD_VIDEO_DRAFT, AUDITED)] == ["UX-1b"]


# UX-1c ------------------------------------------------------------------------------------


def test_ux_1c_video_longer_than_the_creators_maximum_is_refused_with_the_reason() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, media=replace(VIDEO, duration_sec=300.5))
    found = validate(PUBLIC_CREATOR, draft, AUDITED)
    assert [v.rule for v in found] == ["UX-1c"]
    assert "5 min" in found[0].message
    assert "5 min 1 s" in found[0].message


def test_ux_1c_video_exactly_at_the_maximum_is_accepted() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, media=replace(VIDEO, duration_sec=300.0))
    assert validate(PUBLIC_CREATOR, draft, AUDITED) == []


# UX-2a ------------------------------------------------------------------------------------


def test_ux_2a_video_title_counts_utf16_units_up_to_2200() -> None:
    # An emoji outside the BMP is two UTF-16 units: 1100 of them is exactly the limit.
    at_limit = replace(GOOD_VIDEO_DRAFT, title="\U0001f600" * 1100)
    assert rule_ids(PUBLIC_CREATOR, at_limit, AUDITED) == set()
    over = replace(GOOD_VIDEO_DRAFT, title="\U0001f600" * 1100 + "a")
    assert rule_ids(PUBLIC_CREATOR, over, AUDITED) == {"UX-2a"}
    state = compose_state(PUBLIC_CREATOR, over, AUDITED)
    assert (state.title.used, state.title.limit, state.title.over) == (2201, 2200, True)


def test_ux_2a_photo_title_is_limited_to_90_and_description_to_4000() -> None:
    base = Draft(media=PHOTOS, privacy_level="SELF_ONLY")
    assert rule_ids(PUBLIC_CREATOR, replace(base, title="x" * 90), AUDITED) == set()
    assert rule_ids(PUBLIC_CREATOR, replace(base, title="x" * 91), AUDITED) == {"UX-2a"}
    assert rule_ids(PUBLIC_CREATOR, replace(base, description="y" * 4000), AUDITED) == set()
    assert rule_ids(PUBLIC_CREATOR, replace(base, description="y" * 4001), AUDITED) == {"UX-2a"}
    state = compose_state(PUBLIC_CREATOR, base, AUDITED)
    assert state.title.limit == limits.PHOTO_TITLE_MAX_UTF16 == 90
    assert state.description is not None
    assert state.description.limit == 4000


def test_ux_2a_video_posts_have_no_description_field() -> None:
    assert compose_state(PUBLIC_CREATOR, GOOD_VIDEO_DRAFT, AUDITED).description is None


# UX-2b ------------------------------------------------------------------------------------


def test_ux_2b_privacy_options_are_exactly_creator_info_options_with_labels_and_no_default() -> (
    None
):
    state = compose_state(PUBLIC_CREATOR, Draft(media=VIDEO), AUDITED)
    assert [c.value for c in state.privacy_options] == list(PUBLIC_CREATOR.privacy_level_options)
    assert [c.label for c in state.privacy_options] == ["Everyone", "Friends", "Only me"]
    assert not any(c.selected for c in state.privacy_options)


def test_ux_2b_publish_is_refused_without_privacy_choice() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, privacy_level=None)
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"UX-2b"}
    assert not compose_state(PUBLIC_CREATOR, draft, AUDITED).publish_allowed


def test_ux_2b_privacy_level_not_offered_by_creator_info_is_refused() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, privacy_level="FOLLOWER_OF_CREATOR")
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"UX-2b"}


# UX-2c ------------------------------------------------------------------------------------


def test_ux_2c_interactions_are_unchecked_by_default() -> None:
    state = compose_state(PUBLIC_CREATOR, Draft(media=VIDEO), AUDITED)
    assert [(t.name, t.shown, t.checked) for t in state.interactions] == [
        ("allow_comment", True, False),
        ("allow_duet", True, False),
        ("allow_stitch", True, False),
    ]


def test_ux_2c_interactions_disabled_by_creator_are_disabled_and_never_checked() -> None:
    creator = replace(PUBLIC_CREATOR, comment_disabled=True, stitch_disabled=True)
    draft = replace(GOOD_VIDEO_DRAFT, allow_comment=True, allow_duet=True, allow_stitch=True)
    state = compose_state(creator, draft, AUDITED)
    by_name = {t.name: t for t in state.interactions}
    assert by_name["allow_comment"].disabled and not by_name["allow_comment"].checked
    assert by_name["allow_stitch"].disabled and not by_name["allow_stitch"].checked
    assert not by_name["allow_duet"].disabled and by_name["allow_duet"].checked
    found = validate(creator, draft, AUDITED)
    assert {(v.rule, v.field) for v in found} == {
        ("UX-2c", "allow_comment"),
        ("UX-2c", "allow_stitch"),
    }


def test_ux_2c_photo_posts_show_only_allow_comment_and_refuse_duet_or_stitch() -> None:
    draft = Draft(media=PHOTOS, privacy_level="SELF_ONLY")
    state = compose_state(PUBLIC_CREATOR, draft, AUDITED)
    assert [t.name for t in state.interactions if t.shown] == ["allow_comment"]
    bypassed = replace(draft, allow_duet=True)
    assert rule_ids(PUBLIC_CREATOR, bypassed, AUDITED) == {"UX-2c"}


# UX-2d / UX-4 -----------------------------------------------------------------------------


def test_ux_2d_declaration_names_music_usage_confirmation_with_a_link() -> None:
    state = compose_state(PUBLIC_CREATOR, Draft(media=VIDEO), AUDITED)
    assert state.declaration.text == "By posting, you agree to TikTok's Music Usage Confirmation."
    links = [p for p in state.declaration.parts if isinstance(p, rules.Link)]
    assert [link.href for link in links] == [texts.MUSIC_USAGE_URL]


def test_ux_4_your_brand_only_keeps_the_music_declaration() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, disclose_commercial=True, your_brand=True)
    state = compose_state(PUBLIC_CREATOR, draft, AUDITED)
    assert state.declaration.text == "By posting, you agree to TikTok's Music Usage Confirmation."


@pytest.mark.parametrize("your_brand", [False, True])
def test_ux_4_branded_content_adds_the_branded_content_policy(your_brand: bool) -> None:
    draft = replace(
        GOOD_VIDEO_DRAFT, disclose_commercial=True, your_brand=your_brand, branded_content=True
    )
    state = compose_state(PUBLIC_CREATOR, draft, AUDITED)
    assert state.declaration.text == (
        "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
    )
    hrefs = [p.href for p in state.declaration.parts if isinstance(p, rules.Link)]
    assert hrefs == [texts.BRANDED_CONTENT_POLICY_URL, texts.MUSIC_USAGE_URL]


# UX-3a / UX-3b / UX-3c --------------------------------------------------------------------


def test_ux_3a_disclosure_is_off_by_default_and_its_boxes_hidden() -> None:
    state = compose_state(PUBLIC_CREATOR, Draft(media=VIDEO), AUDITED)
    assert state.disclosure.shown and not state.disclosure.on
    assert not state.disclosure.your_brand.shown
    assert not state.disclosure.branded_content.shown
    assert state.disclosure.label_prompt is None


def test_ux_3a_turning_disclosure_on_shows_both_boxes_unchecked() -> None:
    state = compose_state(PUBLIC_CREATOR, Draft(media=VIDEO, disclose_commercial=True), AUDITED)
    boxes = (state.disclosure.your_brand, state.disclosure.branded_content)
    assert [(b.label, b.shown, b.checked) for b in boxes] == [
        ("Your brand", True, False),
        ("Branded content", True, False),
    ]


@pytest.mark.parametrize(
    ("media", "your_brand", "branded", "prompt"),
    [
        (VIDEO, True, False, "Your video will be labeled as 'Promotional content'"),
        (VIDEO, False, True, "Your video will be labeled as 'Paid partnership'"),
        (VIDEO, True, True, "Your video will be labeled as 'Paid partnership'"),
        (PHOTOS, True, False, "Your photo will be labeled as 'Promotional content'"),
        (PHOTOS, True, True, "Your photo will be labeled as 'Paid partnership'"),
    ],
)
def test_ux_3a_label_prompt_matches_the_boxes_and_the_kind_of_post(
    media: MediaFacts, your_brand: bool, branded: bool, prompt: str
) -> None:
    draft = Draft(
        media=media, disclose_commercial=True, your_brand=your_brand, branded_content=branded
    )
    assert compose_state(PUBLIC_CREATOR, draft, AUDITED).disclosure.label_prompt == prompt


def test_ux_3b_disclosure_on_without_a_box_disables_publish_with_the_hover_text() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, disclose_commercial=True)
    state = compose_state(PUBLIC_CREATOR, draft, AUDITED)
    assert not state.publish_allowed
    assert state.publish_hint == (
        "You need to indicate if your content promotes yourself, a third party, or both."
    )
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"UX-3b"}


def test_ux_3c_branded_content_first_disables_only_me_with_its_hover_text() -> None:
    draft = Draft(media=VIDEO, disclose_commercial=True, branded_content=True)
    state = compose_state(PUBLIC_CREATOR, draft, AUDITED)
    only_me = next(c for c in state.privacy_options if c.value == "SELF_ONLY")
    assert only_me.disabled
    assert only_me.hint == "Branded content visibility cannot be set to private."
    assert not any(c.disabled for c in state.privacy_options if c.value != "SELF_ONLY")


def test_ux_3c_only_me_first_disables_branded_content_with_a_note() -> None:
    draft = Draft(media=VIDEO, privacy_level="SELF_ONLY", disclose_commercial=True)
    state = compose_state(PUBLIC_CREATOR, draft, AUDITED)
    assert state.disclosure.branded_content.disabled
    assert "can't be private" in state.disclosure.branded_content.hint
    assert not state.disclosure.your_brand.disabled


def test_ux_3c_server_refuses_branded_content_with_only_me() -> None:
    draft = replace(
        GOOD_VIDEO_DRAFT, privacy_level="SELF_ONLY", disclose_commercial=True, branded_content=True
    )
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"UX-3c"}


def test_ux_3a_brand_boxes_without_the_disclosure_toggle_are_refused() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, branded_content=True)
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"UX-3a"}


# CAP-1 / CAP-2 ----------------------------------------------------------------------------


def test_cap_2_unaudited_app_offers_only_self_only_and_explains_going_public_later() -> None:
    state = compose_state(PRIVATE_CREATOR, Draft(media=VIDEO), UNAUDITED)
    assert [c.value for c in state.privacy_options] == ["SELF_ONLY"]
    assert texts.UNAUDITED_HOW_TO_PUBLIC in state.notices
    assert state.disclosure.branded_content.disabled


def test_cap_2_unaudited_app_refuses_a_public_account() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, privacy_level="SELF_ONLY")
    assert rule_ids(PUBLIC_CREATOR, draft, UNAUDITED) == {"CAP-2"}
    assert rule_ids(PRIVATE_CREATOR, draft, UNAUDITED) == set()


def test_cap_2_unaudited_app_refuses_any_privacy_but_self_only() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, privacy_level="MUTUAL_FOLLOW_FRIENDS")
    assert rule_ids(PRIVATE_CREATOR, draft, UNAUDITED) == {"CAP-2"}


def test_cap_1_a_sixth_creator_in_24_hours_is_refused_while_the_first_five_may_continue() -> None:
    draft = replace(GOOD_VIDEO_DRAFT, privacy_level="SELF_ONLY")
    full = replace(UNAUDITED, creators_posted_24h=5)
    assert rule_ids(PRIVATE_CREATOR, draft, full) == {"CAP-1"}
    assert rule_ids(PRIVATE_CREATOR, draft, replace(full, creator_posted_24h=True)) == set()
    assert rule_ids(PRIVATE_CREATOR, draft, replace(full, creators_posted_24h=4)) == set()


# Media (TECH-3, UX-5a) and inbox mode ------------------------------------------------------


def test_tech_3_nothing_uploaded_or_media_problems_keep_publish_disabled() -> None:
    assert rule_ids(PUBLIC_CREATOR, replace(GOOD_VIDEO_DRAFT, media=MediaFacts()), AUDITED) == {
        "TECH-3"
    }
    bad = replace(VIDEO, problems=("The frame rate is 15 fps; TikTok needs 23 to 60.",))
    found = validate(PUBLIC_CREATOR, replace(GOOD_VIDEO_DRAFT, media=bad), AUDITED)
    assert [v.message for v in found] == ["The frame rate is 15 fps; TikTok needs 23 to 60."]


def test_tech_3_photo_posts_hold_one_to_35_photos() -> None:
    draft = Draft(media=replace(PHOTOS, photo_count=36), privacy_level="SELF_ONLY")
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"TECH-3"}
    draft = Draft(media=replace(PHOTOS, photo_count=35), privacy_level="SELF_ONLY")
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == set()


def test_ux_5a_photo_cover_must_be_one_of_the_photos() -> None:
    draft = Draft(media=PHOTOS, privacy_level="SELF_ONLY", photo_cover_index=3)
    assert rule_ids(PUBLIC_CREATOR, draft, AUDITED) == {"UX-5a"}


def test_inbox_drafts_need_no_privacy_and_hide_direct_post_controls() -> None:
    draft = Draft(media=VIDEO, mode="inbox")
    assert validate(PUBLIC_CREATOR, draft, UNAUDITED) == []
    state = compose_state(PUBLIC_CREATOR, draft, UNAUDITED)
    assert not state.privacy_shown
    assert not any(t.shown for t in state.interactions)
    assert not state.disclosure.shown
    assert texts.INBOX_NOTE in state.notices
