"""Which rules a draft breaks: the server-side enforcement of everything the Post page shows.

The page can be bypassed; this cannot. `compose_state` uses the same function to decide
whether the publish button is enabled, so the page and the server never disagree.
"""

from __future__ import annotations

from directpost.rules import caps, limits, texts
from directpost.rules.model import AppPolicy, CreatorFacts, Draft, Violation


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit TikTok counts captions in (UX-2a)."""
    return len(text.encode("utf-16-le")) // 2


def offered_privacy_levels(creator: CreatorFacts, policy: AppPolicy) -> tuple[str, ...]:
    """The privacy levels the dropdown lists: exactly creator_info's options (UX-2b), narrowed
    to "Only me" while the app is unaudited (CAP-2)."""
    options = tuple(creator.privacy_level_options)
    if not policy.audited:
        return tuple(o for o in options if o == "SELF_ONLY")
    return options


def title_limit(draft: Draft) -> int:
    """The caption limit for this kind of post (UX-2a)."""
    if draft.media.kind == "photos":
        return limits.PHOTO_TITLE_MAX_UTF16
    return limits.VIDEO_TITLE_MAX_UTF16


def validate(creator: CreatorFacts, draft: Draft, policy: AppPolicy) -> list[Violation]:
    """Every rule the draft breaks, most important first (the first one is the publish button's
    hover text on the page). An empty list means the draft may be published."""
    if creator.blocked:
        reason = texts.BLOCKED_REASONS.get(creator.blocked_code or "", "")
        return [Violation("UX-1b", f"{reason} {texts.TRY_AGAIN_LATER}".strip())]

    found: list[Violation] = []
    found.extend(_app_limits(creator, draft, policy))
    if draft.mode == "direct":
        # First among the form's problems: its text is the publish button's mandated hover (UX-3b).
        found.extend(_disclosure(draft))
    found.extend(_media(creator, draft))
    found.extend(_text_fields(draft))
    if draft.mode == "direct":
        found.extend(_privacy(creator, draft, policy))
        found.extend(_interactions(creator, draft))
    return found


def _app_limits(creator: CreatorFacts, draft: Draft, policy: AppPolicy) -> list[Violation]:
    found = caps.cap_violations(policy, draft.mode)
    if not policy.audited and draft.mode == "direct" and not creator.account_is_private:
        found.append(Violation("CAP-2", texts.UNAUDITED_ACCOUNT_PUBLIC))
    return found


def _media(creator: CreatorFacts, draft: Draft) -> list[Violation]:
    media = draft.media
    found = [Violation("TECH-3", problem, "media") for problem in media.problems]
    if not media.ready and not media.problems:
        noun = "photos" if media.kind == "photos" else "a video"
        found.append(Violation("TECH-3", f"Upload {noun} to post first.", "media"))
        return found
    if media.kind == "video":
        longest = creator.max_video_post_duration_sec
        if media.duration_sec is not None and longest > 0 and media.duration_sec > longest:
            found.append(
                Violation(
                    "UX-1c",
                    f"This video is {_seconds(media.duration_sec)} long, but this account can "
                    f"post videos of up to {_seconds(longest)}. Trim it and upload it again.",
                    "media",
                )
            )
    elif media.ready:
        if not 1 <= media.photo_count <= limits.PHOTO_MAX_COUNT:
            found.append(
                Violation(
                    "TECH-3",
                    f"A photo post has 1 to {limits.PHOTO_MAX_COUNT} photos; "
                    f"this one has {media.photo_count}.",
                    "media",
                )
            )
        elif not 0 <= draft.photo_cover_index < media.photo_count:
            found.append(
                Violation("UX-5a", "Choose one of the uploaded photos as the cover.", "cover")
            )
    return found


def _text_fields(draft: Draft) -> list[Violation]:
    found: list[Violation] = []
    limit = title_limit(draft)
    used = utf16_len(draft.title)
    if used > limit:
        found.append(
            Violation(
                "UX-2a",
                f"The title is {used} characters long; TikTok allows {limit}. Shorten it.",
                "title",
            )
        )
    if draft.media.kind == "photos":
        used = utf16_len(draft.description)
        limit = limits.PHOTO_DESCRIPTION_MAX_UTF16
        if used > limit:
            found.append(
                Violation(
                    "UX-2a",
                    f"The description is {used} characters long; TikTok allows {limit}. "
                    f"Shorten it.",
                    "description",
                )
            )
    elif draft.description:
        found.append(Violation("UX-2a", "Only photo posts have a description.", "description"))
    return found


def _disclosure(draft: Draft) -> list[Violation]:
    found: list[Violation] = []
    if not draft.disclose_commercial:
        if draft.your_brand or draft.branded_content:
            found.append(
                Violation(
                    "UX-3a",
                    "Turn on \u201cDisclose post content\u201d to choose \u201cYour brand\u201d "
                    "or \u201cBranded content\u201d.",
                    "disclose_commercial",
                )
            )
        return found
    if not (draft.your_brand or draft.branded_content):
        found.append(Violation("UX-3b", texts.DISCLOSURE_NEEDS_CHOICE, "disclose_commercial"))
    if draft.branded_content and draft.privacy_level == "SELF_ONLY":
        found.append(Violation("UX-3c", texts.BRANDED_NOT_PRIVATE, "privacy_level"))
    return found


def _privacy(creator: CreatorFacts, draft: Draft, policy: AppPolicy) -> list[Violation]:
    chosen = draft.privacy_level
    if chosen is None or chosen == "":
        return [Violation("UX-2b", "Choose who can see this post.", "privacy_level")]
    if chosen not in creator.privacy_level_options:
        return [
            Violation(
                "UX-2b",
                "That audience is not one TikTok offers for this account. Choose another.",
                "privacy_level",
            )
        ]
    if chosen not in offered_privacy_levels(creator, policy):
        return [Violation("CAP-2", texts.UNAUDITED_PRIVACY_NOTE, "privacy_level")]
    return []


def _interactions(creator: CreatorFacts, draft: Draft) -> list[Violation]:
    found: list[Violation] = []
    if draft.allow_comment and creator.comment_disabled:
        found.append(
            Violation(
                "UX-2c",
                "Comments are turned off in your TikTok settings, so they can't be allowed here.",
                "allow_comment",
            )
        )
    checks = (
        ("allow_duet", "Duet", draft.allow_duet, creator.duet_disabled),
        ("allow_stitch", "Stitch", draft.allow_stitch, creator.stitch_disabled),
    )
    for name, label, wanted, disabled in checks:
        if not wanted:
            continue
        if draft.media.kind == "photos":
            found.append(Violation("UX-2c", f"{label} does not apply to photo posts.", name))
        elif disabled:
            found.append(
                Violation(
                    "UX-2c",
                    f"{label} is turned off for this account in TikTok, so it can't be allowed.",
                    name,
                )
            )
    return found


def _seconds(value: float) -> str:
    whole = int(value + 0.999)  # round up: 300.2 s is longer than 300 s
    minutes, seconds = divmod(whole, 60)
    if minutes and seconds:
        return f"{minutes} min {seconds} s"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"
