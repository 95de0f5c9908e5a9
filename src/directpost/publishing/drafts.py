"""Round-trips between the rules' `Draft`, what a post row stores, and what the library sends.

A post keeps the creator's choices exactly as they were confirmed, so the job re-validates
*those* choices against fresh creator_info and never changes them silently.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from directpost import tiktok
from directpost.rules.model import CreatorFacts, Draft, MediaFacts


def draft_to_choices(draft: Draft) -> dict[str, Any]:
    """The draft as JSON-ready data (media facts included, as the server measured them)."""
    data = dataclasses.asdict(draft)
    data["media"]["problems"] = list(draft.media.problems)
    return data


def draft_from_choices(choices: dict[str, Any]) -> Draft:
    """The stored choices back as a `Draft` (unknown keys from older rows are ignored)."""
    known = {f.name for f in dataclasses.fields(Draft)}
    values = {k: v for k, v in choices.items() if k in known and k != "media"}
    media_data = dict(choices.get("media") or {})
    media_known = {f.name for f in dataclasses.fields(MediaFacts)}
    media_values = {k: v for k, v in media_data.items() if k in media_known}
    media_values["problems"] = tuple(media_values.get("problems") or ())
    return Draft(media=MediaFacts(**media_values), **values)


def creator_facts_to_json(facts: CreatorFacts) -> dict[str, Any]:
    """creator_info as shown to the creator, for the consent record (UX-5c)."""
    data = dataclasses.asdict(facts)
    data["privacy_level_options"] = list(facts.privacy_level_options)
    return data


def creator_facts(info: tiktok.CreatorInfo) -> CreatorFacts:
    """The rules' view of the library's creator_info answer (rules must not import the
    library): the one mapping the Post page, the publish route and the job use (UX-1)."""
    return CreatorFacts(
        nickname=info.creator_nickname,
        avatar_url=info.creator_avatar_url,
        username=info.creator_username,
        privacy_level_options=tuple(info.privacy_level_options),
        comment_disabled=info.comment_disabled,
        duet_disabled=info.duet_disabled,
        stitch_disabled=info.stitch_disabled,
        max_video_post_duration_sec=info.max_video_post_duration_sec,
    )


def blocked_creator_facts(
    error: tiktok.CreatorCannotPostError, *, nickname: str = "", avatar_url: str = ""
) -> CreatorFacts:
    """creator_info said the creator cannot post now (UX-1b); keep who it is for the page."""
    return CreatorFacts(nickname=nickname, avatar_url=avatar_url, blocked_code=error.code)
