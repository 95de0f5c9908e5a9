"""The typed inputs of the compliance policy: what TikTok says about the creator, what the
user has chosen, and what the operator's app is allowed to do.

`rules` imports nothing else of ours (not even the client library), so these types are its own:
the web layer translates the library's `CreatorInfo` into `CreatorFacts` in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

PrivacyLevel = Literal[
    "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"
]
MediaKind = Literal["video", "photos"]
PostMode = Literal["direct", "inbox"]

PRIVACY_LEVELS: Final[tuple[PrivacyLevel, ...]] = (
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
)

#: The human label shown for each privacy level (UX-2b: never the raw enum).
PRIVACY_LABELS: Final[dict[str, str]] = {
    "PUBLIC_TO_EVERYONE": "Everyone",
    "MUTUAL_FOLLOW_FRIENDS": "Friends",
    "FOLLOWER_OF_CREATOR": "Followers",
    "SELF_ONLY": "Only me",
}

#: creator_info answers with these codes (HTTP 200) when the creator cannot post now (UX-1b).
POSTING_BLOCKED_CODES: Final[frozenset[str]] = frozenset(
    {"spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap"}
)


@dataclass(frozen=True, slots=True)
class CreatorFacts:
    """What creator_info said about the creator, fetched for this very render (UX-1).

    `blocked_code` is set (and the other fields may be empty) when creator_info answered with one
    of `POSTING_BLOCKED_CODES`.
    """

    nickname: str = ""
    avatar_url: str = ""
    username: str = ""
    privacy_level_options: tuple[str, ...] = ()
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False
    max_video_post_duration_sec: int = 0
    blocked_code: str | None = None

    @property
    def blocked(self) -> bool:
        return self.blocked_code is not None

    @property
    def account_is_private(self) -> bool:
        """A private account is offered FOLLOWER_OF_CREATOR and never PUBLIC_TO_EVERYONE."""
        return "PUBLIC_TO_EVERYONE" not in self.privacy_level_options


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the server itself measured about the uploaded media (never what the browser says).

    `problems` are plain-language findings of the media checks (TECH-3); `ready` is False while
    nothing has been uploaded or an upload is unfinished.
    """

    kind: MediaKind = "video"
    ready: bool = False
    duration_sec: float | None = None
    photo_count: int = 0
    problems: tuple[str, ...] = ()


NO_MEDIA: Final = MediaFacts()


@dataclass(frozen=True, slots=True)
class Draft:
    """Everything the user has chosen on the Post page. Defaults are the page's defaults:
    nothing chosen, nothing checked (UX-2b, UX-2c, UX-3a)."""

    media: MediaFacts = NO_MEDIA
    title: str = ""
    description: str = ""
    privacy_level: str | None = None
    allow_comment: bool = False
    allow_duet: bool = False
    allow_stitch: bool = False
    disclose_commercial: bool = False
    your_brand: bool = False
    branded_content: bool = False
    is_aigc: bool = False
    mode: PostMode = "direct"
    cover_timestamp_ms: int | None = None
    photo_cover_index: int = 0


@dataclass(frozen=True, slots=True)
class AppPolicy:
    """What this app may do right now.

    `audited` is False until TikTok has audited the app (CAP-1, CAP-2). `creator_cap` is the
    number of distinct creators that may post in any rolling 24 h (5 while unaudited);
    `creators_posted_24h` counts them and `creator_posted_24h` says whether this creator is
    already one of them (then posting again does not use up a new place). Build it with
    `rules.caps.app_policy`, which owns the arithmetic.
    """

    audited: bool = False
    creator_cap: int = 5
    creators_posted_24h: int = 0
    creator_posted_24h: bool = False
    #: This creator's posts through this app that reached TikTok in the last 24 h and did not
    #: fail or get cancelled (CAP-3), and of those the drafts sent to the inbox (CAP-5).
    posts_started_24h: int = 0
    inbox_started_24h: int = 0


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule a draft breaks: the rule id from requirements.md, the form field it concerns
    (or "" for the post as a whole) and a plain message that says what to do."""

    rule: str
    message: str
    field: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """A piece of text that links somewhere (a policy name in the declaration)."""

    text: str
    href: str


@dataclass(frozen=True, slots=True)
class Declaration:
    """The consent sentence shown right before the publish button (UX-2d, UX-4).

    `parts` alternate plain strings and `Link`s; `text` is the whole sentence as plain text.
    """

    parts: tuple[str | Link, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)
