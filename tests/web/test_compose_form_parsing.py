"""`parse_draft`: the Post page's form read the same way by the page and the publish route."""

from __future__ import annotations

from directpost.rules import MediaFacts
from directpost.web.compose_form import parse_draft


def test_absent_fields_are_the_pages_defaults_nothing_chosen_nothing_checked() -> None:
    draft = parse_draft({})
    assert draft.privacy_level is None
    assert not any(
        (
            draft.allow_comment,
            draft.allow_duet,
            draft.allow_stitch,
            draft.disclose_commercial,
            draft.your_brand,
            draft.branded_content,
            draft.is_aigc,
        )
    )
    assert draft.mode == "direct"
    assert draft.title == ""


def test_checked_boxes_choices_and_media_facts_are_read() -> None:
    media = MediaFacts(kind="photos", ready=True, photo_count=2)
    draft = parse_draft(
        {
            "title": "line one\r\nline two",
            "privacy_level": "SELF_ONLY",
            "allow_comment": "on",
            "disclose_commercial": "on",
            "your_brand": "on",
            "is_aigc": "on",
            "mode": "inbox",
            "photo_cover_index": "1",
            "cover_timestamp_ms": "not a number",
        },
        media=media,
    )
    assert draft.title == "line one\nline two"  # counted as TikTok counts it
    assert draft.privacy_level == "SELF_ONLY"
    assert draft.allow_comment and draft.disclose_commercial and draft.your_brand
    assert draft.is_aigc and not draft.branded_content
    assert draft.mode == "inbox"
    assert draft.photo_cover_index == 1
    assert draft.cover_timestamp_ms is None
    assert draft.media is media


def test_media_facts_never_come_from_the_form() -> None:
    draft = parse_draft({"duration_sec": "1", "photo_count": "3", "kind": "photos"})
    assert draft.media == MediaFacts()
