"""Properties of the Post page's state that must hold for every creator, draft and app policy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from directpost.rules import (
    POSTING_BLOCKED_CODES,
    PRIVACY_LEVELS,
    AppPolicy,
    CreatorFacts,
    Draft,
    MediaFacts,
    compose_state,
    utf16_len,
    validate,
)

creators = st.builds(
    CreatorFacts,
    nickname=st.text(max_size=20),
    privacy_level_options=st.lists(st.sampled_from(PRIVACY_LEVELS), unique=True).map(tuple),
    comment_disabled=st.booleans(),
    duet_disabled=st.booleans(),
    stitch_disabled=st.booleans(),
    max_video_post_duration_sec=st.sampled_from([0, 60, 180, 300, 600]),
    blocked_code=st.none() | st.sampled_from(sorted(POSTING_BLOCKED_CODES)),
)
media = st.builds(
    MediaFacts,
    kind=st.sampled_from(["video", "photos"]),
    ready=st.booleans(),
    duration_sec=st.none() | st.floats(min_value=0, max_value=900),
    photo_count=st.integers(min_value=0, max_value=40),
)
drafts = st.builds(
    Draft,
    media=media,
    title=st.text(max_size=120),
    description=st.text(max_size=50),
    privacy_level=st.none() | st.sampled_from(PRIVACY_LEVELS),
    allow_comment=st.booleans(),
    allow_duet=st.booleans(),
    allow_stitch=st.booleans(),
    disclose_commercial=st.booleans(),
    your_brand=st.booleans(),
    branded_content=st.booleans(),
    is_aigc=st.booleans(),
    mode=st.sampled_from(["direct", "inbox"]),
    photo_cover_index=st.integers(min_value=0, max_value=40),
)
policies = st.builds(
    AppPolicy,
    audited=st.booleans(),
    creator_cap=st.integers(min_value=1, max_value=10),
    creators_posted_24h=st.integers(min_value=0, max_value=12),
    creator_posted_24h=st.booleans(),
)


@given(creators, drafts, policies)
def test_publish_is_allowed_exactly_when_the_server_finds_no_violation(
    creator: CreatorFacts, draft: Draft, policy: AppPolicy
) -> None:
    state = compose_state(creator, draft, policy)
    assert state.publish_allowed == (validate(creator, draft, policy) == [])
    if not state.publish_allowed:
        assert state.publish_hint


@given(creators, drafts, policies)
def test_ux_2b_the_page_never_offers_a_level_creator_info_did_not_give_nor_preselects_one(
    creator: CreatorFacts, draft: Draft, policy: AppPolicy
) -> None:
    state = compose_state(creator, draft, policy)
    offered = [c.value for c in state.privacy_options]
    assert set(offered) <= set(creator.privacy_level_options)
    if draft.privacy_level is None:
        assert not any(c.selected for c in state.privacy_options)
    if not policy.audited:
        assert set(offered) <= {"SELF_ONLY"}


@given(creators, drafts, policies)
def test_ux_2c_a_control_the_creator_turned_off_is_never_shown_checked(
    creator: CreatorFacts, draft: Draft, policy: AppPolicy
) -> None:
    for box in compose_state(creator, draft, policy).interactions:
        if box.disabled:
            assert not box.checked


@given(st.text())
def test_ux_2a_utf16_length_is_what_javascript_would_count(text: str) -> None:
    astral = sum(1 for ch in text if ord(ch) > 0xFFFF)
    assert utf16_len(text) == len(text) + astral
