"""From the command line to the rules' own types: the files checked (TECH-3, UX-1c), creator_info
as `CreatorFacts` (UX-1), the options as a `Draft` with nothing chosen for the user (UX-2b/c,
UX-3a), and the privacy choice asked on a terminal when `--privacy` was not given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from directpost.rules import (
    PRIVACY_LABELS,
    ComposeState,
    CreatorFacts,
    Draft,
    MediaFacts,
)
from directpost.tiktok import CreatorCannotPostError, CreatorInfo

from .output import refused
from .preflight import PreflightError, inspect

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".webp", ".png", ".gif", ".heic", ".bmp"})

#: What a person may type for a privacy level: TikTok's name or the label the page shows.
PRIVACY_WORDS: dict[str, str] = {
    **{level.lower(): level for level in PRIVACY_LABELS},
    **{label.lower(): level for level, label in PRIVACY_LABELS.items()},
    "public": "PUBLIC_TO_EVERYONE",
    "friends": "MUTUAL_FOLLOW_FRIENDS",
    "followers": "FOLLOWER_OF_CREATOR",
    "private": "SELF_ONLY",
    "self_only": "SELF_ONLY",
}


@dataclass(frozen=True)
class Options:
    """What the user asked for on the command line (None: not given)."""

    title: str = ""
    description: str = ""
    privacy: str | None = None
    allow_comment: bool = False
    allow_duet: bool = False
    allow_stitch: bool = False
    disclose: bool = False
    your_brand: bool = False
    branded_content: bool = False
    aigc: bool = False
    draft: bool = False
    cover: int = 0


def creator_facts(info: CreatorInfo) -> CreatorFacts:
    """The rules' view of creator_info, as the app maps it (rules never import the library)."""
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


def blocked_facts(error: CreatorCannotPostError, nickname: str) -> CreatorFacts:
    """creator_info said the creator cannot post now (UX-1b)."""
    return CreatorFacts(nickname=nickname, blocked_code=error.code)


def media_kind(files: Sequence[Path]) -> str:
    """ "video" for one video file, "photos" for photo files; refuses a mix or a bad count."""
    if not files:
        raise refused("Name the file to post: one video, or 1 to 35 photos.")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise refused(f"No such file: {', '.join(missing)}. Nothing was sent.")
    photos = [f for f in files if f.suffix.lower() in PHOTO_SUFFIXES]
    if photos and len(photos) != len(files):
        raise refused("A post is one video or a set of photos, not both. Nothing was sent.")
    if not photos and len(files) > 1:
        raise refused("A post holds one video; post the others one at a time. Nothing was sent.")
    return "photos" if photos else "video"


def check_media(kind: str, files: Sequence[Path], facts: CreatorFacts) -> MediaFacts:
    """Probe and check the files before anything is sent (TECH-3), the video against this
    creator's maximum duration (UX-1c); the problems go to `rules.validate` as the page's do.
    The probing runs in a child process (`preflight`), so this one never loads PyAV."""
    limit = facts.max_video_post_duration_sec or None
    try:
        found = inspect(kind, files, max_duration_s=limit)
    except PreflightError as exc:
        raise refused(f"The files could not be checked: {exc}. Nothing was sent.") from exc
    if kind == "video":
        # The creator's own maximum is the rules' UX-1c (the one message the page shows too).
        problems = [p.message for p in found.problems if p.code != "video_longer_than_creator_max"]
        return MediaFacts("video", found.readable, found.duration_s, 0, tuple(problems))
    problems = [f"{p.file}: {p.message}" if p.file else p.message for p in found.problems]
    return MediaFacts("photos", True, None, len(files), tuple(problems))


def privacy_level(word: str | None) -> str | None:
    """TikTok's privacy level for what was typed ("Only me", "SELF_ONLY", "friends", …)."""
    if word is None:
        return None
    level = PRIVACY_WORDS.get(word.strip().lower().replace("-", "_"))
    if level is None:
        level = PRIVACY_WORDS.get(word.strip().lower())
    if level is None:
        raise refused(
            f"--privacy {word!r} is not a privacy level; use one of: "
            + ", ".join(f"{label!r}" for label in PRIVACY_LABELS.values())
            + " (or TikTok's names, e.g. SELF_ONLY). Nothing was sent."
        )
    return level


def draft_of(options: Options, media: MediaFacts) -> Draft:
    """The rules' draft: exactly what was asked, nothing switched on for the user."""
    return Draft(
        media=media,
        title=options.title,
        description=options.description,
        privacy_level=None if options.draft else privacy_level(options.privacy),
        allow_comment=options.allow_comment,
        allow_duet=options.allow_duet,
        allow_stitch=options.allow_stitch,
        disclose_commercial=options.disclose,
        your_brand=options.your_brand,
        branded_content=options.branded_content,
        is_aigc=options.aigc,
        mode="inbox" if options.draft else "direct",
        photo_cover_index=options.cover,
    )


def ask_privacy(
    state: ComposeState, draft: Draft, ask: Callable[[str], str], say: Callable[[str], None]
) -> Draft:
    """UX-2b on a terminal: list exactly the offered levels, no default; a disabled one (UX-3c)
    is shown with its reason and cannot be picked. Asks until a usable number is typed."""
    say("Who can see this post? (no default: choose one)")
    usable: dict[str, str] = {}
    for number, choice in enumerate(state.privacy_options, start=1):
        if choice.disabled:
            say(f"  -  {choice.label}: {choice.hint}")
            continue
        usable[str(number)] = choice.value
        say(f"  {number}) {choice.label}")
    if not usable:
        raise refused("None of this account's privacy levels can be used for this post.")
    for _ in range(5):
        answer = ask("Type a number").strip()
        if answer in usable:
            return replace(draft, privacy_level=usable[answer])
        say(f"Type one of {', '.join(usable)}.")
    raise refused("No privacy level was chosen; nothing was sent.")
