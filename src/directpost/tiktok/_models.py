"""Typed requests and responses of TikTok's Login Kit, User Info and Content Posting APIs."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias

from ._errors import RequestValidationError

PrivacyLevel: TypeAlias = Literal[
    "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"
]
PostMode: TypeAlias = Literal["DIRECT_POST", "MEDIA_UPLOAD"]
PublishStatusValue: TypeAlias = Literal[
    "PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD", "SEND_TO_USER_INBOX", "PUBLISH_COMPLETE", "FAILED"
]

PRIVACY_LEVELS: tuple[PrivacyLevel, ...] = (
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
)
FINAL_STATUSES: frozenset[str] = frozenset({"PUBLISH_COMPLETE", "FAILED", "SEND_TO_USER_INBOX"})

VIDEO_TITLE_MAX_UTF16 = 2200
PHOTO_TITLE_MAX_UTF16 = 90
PHOTO_DESCRIPTION_MAX_UTF16 = 4000
PHOTO_MAX_IMAGES = 35


class NotGiven(enum.Enum):
    """Sentinel type: a field left out of the request, as opposed to any value (even None)."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN


def utf16_length(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit of TikTok's caption limits."""
    return len(text.encode("utf-16-le")) // 2


def _check_utf16(name: str, text: str, limit: int) -> None:
    n = utf16_length(text)
    if n > limit:
        raise RequestValidationError(
            f"{name} is {n} UTF-16 code units long; TikTok accepts at most {limit}. "
            f"Shorten it by {n - limit}."
        )


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not NOT_GIVEN:
        out[key] = value


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | NotGiven:
    return bool(data[key]) if key in data else NOT_GIVEN


# --------------------------------------------------------------------------- OAuth


@dataclass(frozen=True)
class Token:
    """A user access token and its refresh token, with absolute (aware UTC) expiry times."""

    access_token: str
    """Bearer token for user endpoints (`act.…`), valid about 24 h."""
    refresh_token: str
    """Token to get a new access token (`rft.…`); it may rotate: always store the newest."""
    open_id: str
    """The user's id, unique per app."""
    scopes: frozenset[str]
    """Scopes the user actually granted (they may deny toggleable ones)."""
    token_type: str
    """Always `Bearer`."""
    access_expires_at: datetime
    """When the access token stops working (UTC)."""
    refresh_expires_at: datetime
    """When the refresh token stops working (UTC)."""

    @classmethod
    def from_response(cls, data: Mapping[str, Any], now: datetime) -> Token:
        """Build a token from the token endpoint's flat JSON answer received at `now` (aware)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        scope = str(data.get("scope", ""))
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token", "")),
            open_id=str(data.get("open_id", "")),
            scopes=frozenset(s.strip() for s in scope.split(",") if s.strip()),
            token_type=str(data.get("token_type", "Bearer")),
            access_expires_at=now + timedelta(seconds=int(data.get("expires_in", 0))),
            refresh_expires_at=now + timedelta(seconds=int(data.get("refresh_expires_in", 0))),
        )

    def __repr__(self) -> str:  # never print secrets
        return f"Token(open_id={self.open_id!r}, scopes={sorted(self.scopes)!r}, ...)"


@dataclass(frozen=True)
class UserInfo:
    """The user fields asked for in `fields` (absent ones are None)."""

    open_id: str | None = None
    union_id: str | None = None
    avatar_url: str | None = None
    avatar_url_100: str | None = None
    avatar_large_url: str | None = None
    display_name: str | None = None
    bio_description: str | None = None
    profile_deep_link: str | None = None
    is_verified: bool | None = None
    username: str | None = None
    follower_count: int | None = None
    following_count: int | None = None
    likes_count: int | None = None
    video_count: int | None = None

    @classmethod
    def from_json(cls, user: Mapping[str, Any]) -> UserInfo:
        """Parse `data.user` of `/v2/user/info/`; unknown fields are ignored."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in user.items() if k in known})


@dataclass(frozen=True)
class CreatorInfo:
    """What `creator_info/query` says about the creator; the Post page is built from it (UX-1)."""

    creator_avatar_url: str
    """Avatar URL (lives about 2 hours)."""
    creator_username: str
    """The creator's handle."""
    creator_nickname: str
    """Nickname; the Post page must show it."""
    privacy_level_options: tuple[str, ...]
    """The privacy levels this creator may choose from (no default may be picked for them)."""
    comment_disabled: bool
    """Comments are off for this creator: grey out "Allow comments"."""
    duet_disabled: bool
    """Duets are off (private account or Duet = No one)."""
    stitch_disabled: bool
    """Stitches are off (private account or Stitch = No one)."""
    max_video_post_duration_sec: int
    """The longest video this creator may post, in seconds."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CreatorInfo:
        """Parse the `data` object of a successful answer."""
        return cls(
            creator_avatar_url=str(data.get("creator_avatar_url", "")),
            creator_username=str(data.get("creator_username", "")),
            creator_nickname=str(data.get("creator_nickname", "")),
            privacy_level_options=tuple(str(x) for x in data.get("privacy_level_options", ())),
            comment_disabled=bool(data.get("comment_disabled", False)),
            duet_disabled=bool(data.get("duet_disabled", False)),
            stitch_disabled=bool(data.get("stitch_disabled", False)),
            max_video_post_duration_sec=int(data.get("max_video_post_duration_sec", 0)),
        )

    def to_json(self) -> dict[str, Any]:
        """The `data` object as TikTok sends it (for snapshots and consent records)."""
        return {
            "creator_avatar_url": self.creator_avatar_url,
            "creator_username": self.creator_username,
            "creator_nickname": self.creator_nickname,
            "privacy_level_options": list(self.privacy_level_options),
            "comment_disabled": self.comment_disabled,
            "duet_disabled": self.duet_disabled,
            "stitch_disabled": self.stitch_disabled,
            "max_video_post_duration_sec": self.max_video_post_duration_sec,
        }


# --------------------------------------------------------------------------- posting requests


@dataclass(frozen=True)
class VideoPostInfo:
    """`post_info` of a direct video post; NOT_GIVEN fields are left out of the request."""

    privacy_level: PrivacyLevel
    """Chosen by the user from `privacy_level_options`; required, never defaulted."""
    title: str | NotGiven = NOT_GIVEN
    """The caption, ≤ 2200 UTF-16 code units; `#tags` and `@mentions` are parsed by TikTok."""
    disable_duet: bool | NotGiven = NOT_GIVEN
    """Turn duets off for this post."""
    disable_stitch: bool | NotGiven = NOT_GIVEN
    """Turn stitches off for this post."""
    disable_comment: bool | NotGiven = NOT_GIVEN
    """Turn comments off for this post."""
    video_cover_timestamp_ms: int | NotGiven = NOT_GIVEN
    """Frame (ms) used as the cover; unset or invalid → the first frame."""
    brand_content_toggle: bool | NotGiven = NOT_GIVEN
    """Paid partnership promoting a third party ("Branded content")."""
    brand_organic_toggle: bool | NotGiven = NOT_GIVEN
    """Promotes the creator's own business ("Your brand")."""
    is_aigc: bool | NotGiven = NOT_GIVEN
    """AI-generated content; TikTok labels the post."""

    def __post_init__(self) -> None:
        if self.privacy_level not in PRIVACY_LEVELS:
            raise RequestValidationError(
                f"privacy_level {self.privacy_level!r} is not one of {', '.join(PRIVACY_LEVELS)}"
            )
        if isinstance(self.title, str):
            _check_utf16("title", self.title, VIDEO_TITLE_MAX_UTF16)

    def to_json(self) -> dict[str, Any]:
        """The `post_info` object to send."""
        out: dict[str, Any] = {}
        _put(out, "title", self.title)
        out["privacy_level"] = self.privacy_level
        for name in (
            "disable_duet",
            "disable_stitch",
            "disable_comment",
            "video_cover_timestamp_ms",
            "brand_content_toggle",
            "brand_organic_toggle",
            "is_aigc",
        ):
            _put(out, name, getattr(self, name))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VideoPostInfo:
        """Read a `post_info` object (for golden examples and stored requests)."""
        return cls(
            privacy_level=data["privacy_level"],
            title=str(data["title"]) if "title" in data else NOT_GIVEN,
            disable_duet=_opt_bool(data, "disable_duet"),
            disable_stitch=_opt_bool(data, "disable_stitch"),
            disable_comment=_opt_bool(data, "disable_comment"),
            video_cover_timestamp_ms=(
                int(data["video_cover_timestamp_ms"])
                if "video_cover_timestamp_ms" in data
                else NOT_GIVEN
            ),
            brand_content_toggle=_opt_bool(data, "brand_content_toggle"),
            brand_organic_toggle=_opt_bool(data, "brand_organic_toggle"),
            is_aigc=_opt_bool(data, "is_aigc"),
        )


@dataclass(frozen=True)
class PhotoPostInfo:
    """`post_info` of a photo post; for MEDIA_UPLOAD only title and description matter."""

    title: str | NotGiven = NOT_GIVEN
    """≤ 90 UTF-16 code units."""
    description: str | NotGiven = NOT_GIVEN
    """≤ 4000 UTF-16 code units."""
    privacy_level: PrivacyLevel | NotGiven = NOT_GIVEN
    """Required for DIRECT_POST; one of the creator's `privacy_level_options`."""
    disable_comment: bool | NotGiven = NOT_GIVEN
    """DIRECT_POST only."""
    auto_add_music: bool | NotGiven = NOT_GIVEN
    """DIRECT_POST only: TikTok adds recommended music."""
    brand_content_toggle: bool | NotGiven = NOT_GIVEN
    """DIRECT_POST only: paid partnership."""
    brand_organic_toggle: bool | NotGiven = NOT_GIVEN
    """DIRECT_POST only: the creator's own business."""

    def __post_init__(self) -> None:
        if isinstance(self.title, str):
            _check_utf16("title", self.title, PHOTO_TITLE_MAX_UTF16)
        if isinstance(self.description, str):
            _check_utf16("description", self.description, PHOTO_DESCRIPTION_MAX_UTF16)
        if isinstance(self.privacy_level, str) and self.privacy_level not in PRIVACY_LEVELS:
            raise RequestValidationError(
                f"privacy_level {self.privacy_level!r} is not one of {', '.join(PRIVACY_LEVELS)}"
            )

    def to_json(self) -> dict[str, Any]:
        """The `post_info` object to send."""
        out: dict[str, Any] = {}
        for name in (
            "title",
            "description",
            "privacy_level",
            "disable_comment",
            "auto_add_music",
            "brand_content_toggle",
            "brand_organic_toggle",
        ):
            _put(out, name, getattr(self, name))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PhotoPostInfo:
        """Read a `post_info` object."""
        return cls(
            title=str(data["title"]) if "title" in data else NOT_GIVEN,
            description=str(data["description"]) if "description" in data else NOT_GIVEN,
            privacy_level=data.get("privacy_level", NOT_GIVEN),
            disable_comment=_opt_bool(data, "disable_comment"),
            auto_add_music=_opt_bool(data, "auto_add_music"),
            brand_content_toggle=_opt_bool(data, "brand_content_toggle"),
            brand_organic_toggle=_opt_bool(data, "brand_organic_toggle"),
        )


@dataclass(frozen=True)
class FileUploadSource:
    """`source_info` for FILE_UPLOAD: the file's size and its chunk plan (see `chunk_plan`)."""

    video_size: int
    """Total bytes."""
    chunk_size: int
    """Bytes per chunk (the last chunk may be larger)."""
    total_chunk_count: int
    """Number of chunks: floor(video_size / chunk_size)."""

    @classmethod
    def for_size(cls, size: int, chunk_size: int | None = None) -> FileUploadSource:
        """The source for a file of `size` bytes, following the Media Transfer Guide."""
        from ._upload import chunk_plan

        plan = chunk_plan(size, chunk_size)
        return cls(
            video_size=size, chunk_size=plan.chunk_size, total_chunk_count=plan.total_chunk_count
        )

    def to_json(self) -> dict[str, Any]:
        """The `source_info` object to send."""
        return {
            "source": "FILE_UPLOAD",
            "video_size": self.video_size,
            "chunk_size": self.chunk_size,
            "total_chunk_count": self.total_chunk_count,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileUploadSource:
        """Read a FILE_UPLOAD `source_info` object."""
        return cls(
            video_size=int(data["video_size"]),
            chunk_size=int(data["chunk_size"]),
            total_chunk_count=int(data["total_chunk_count"]),
        )


@dataclass(frozen=True)
class PullFromUrlSource:
    """`source_info` for PULL_FROM_URL: TikTok downloads the video from a verified URL."""

    video_url: str
    """An https URL under a domain or URL prefix verified for the app (TikTok refuses http)."""

    def __post_init__(self) -> None:
        # TikTok itself requires https; the scheme is left to the server so that local
        # emulators (http on loopback) work. Only an obviously unusable value is refused here.
        if "://" not in self.video_url:
            raise RequestValidationError(
                f"video_url must be an absolute URL under a verified prefix; got {self.video_url[:60]!r}"
            )

    def to_json(self) -> dict[str, Any]:
        """The `source_info` object to send."""
        return {"source": "PULL_FROM_URL", "video_url": self.video_url}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PullFromUrlSource:
        """Read a PULL_FROM_URL `source_info` object."""
        return cls(video_url=str(data["video_url"]))


VideoSource: TypeAlias = FileUploadSource | PullFromUrlSource


def video_source_from_json(data: Mapping[str, Any]) -> VideoSource:
    """Read a video `source_info` object of either kind."""
    if data.get("source") == "FILE_UPLOAD":
        return FileUploadSource.from_json(data)
    if data.get("source") == "PULL_FROM_URL":
        return PullFromUrlSource.from_json(data)
    raise RequestValidationError(f"unknown source {data.get('source')!r}")


@dataclass(frozen=True)
class PhotoSource:
    """`source_info` of a photo post (always PULL_FROM_URL): 1–35 image URLs and the cover."""

    photo_images: tuple[str, ...]
    """Public https URLs under a verified domain or prefix, 1 to 35 of them."""
    photo_cover_index: int = 0
    """0-based index of the cover image."""

    def __init__(self, photo_images: Sequence[str], photo_cover_index: int = 0) -> None:
        object.__setattr__(self, "photo_images", tuple(photo_images))
        object.__setattr__(self, "photo_cover_index", photo_cover_index)
        n = len(self.photo_images)
        if not 1 <= n <= PHOTO_MAX_IMAGES:
            raise RequestValidationError(
                f"a photo post takes 1 to {PHOTO_MAX_IMAGES} images; got {n}"
            )
        if not 0 <= photo_cover_index < n:
            raise RequestValidationError(
                f"photo_cover_index {photo_cover_index} is outside the {n} images (0..{n - 1})"
            )

    def to_json(self) -> dict[str, Any]:
        """The `source_info` object to send."""
        return {
            "source": "PULL_FROM_URL",
            "photo_cover_index": self.photo_cover_index,
            "photo_images": list(self.photo_images),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PhotoSource:
        """Read a photo `source_info` object."""
        return cls(list(data["photo_images"]), int(data.get("photo_cover_index", 0)))


# --------------------------------------------------------------------------- posting answers


@dataclass(frozen=True)
class PublishInit:
    """The answer to an init: the publish id (store it first) and, for FILE_UPLOAD, the upload URL."""

    publish_id: str
    """Opaque id (≤ 64 chars) to track this publish."""
    upload_url: str | None = None
    """Where to PUT the chunks (FILE_UPLOAD only); valid for one hour."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishInit:
        """Parse the `data` object of a successful init."""
        url = data.get("upload_url")
        return cls(publish_id=str(data["publish_id"]), upload_url=str(url) if url else None)


def post_id_to_str(value: object) -> str:
    """A TikTok post id as a string; it must never have passed through a float."""
    if isinstance(value, bool):
        raise ValueError(f"not a post id: {value!r}")
    if not isinstance(value, int | str):
        # JSON like 7.26e18 parses to Decimal/float: its digits are already lost, so refuse.
        raise ValueError(f"post id {value!r} is not an integer literal; refusing to round it")
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"post id {value!r} is not made of digits")
    return text


@dataclass(frozen=True)
class PublishStatus:
    """Where a publish stands, from `status/fetch`."""

    status: str
    """One of PROCESSING_UPLOAD, PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED."""
    fail_reason: str | None = None
    """Why it failed (`FAILED` only), e.g. `video_pull_failed`."""
    post_ids: list[str] = field(default_factory=list)
    """Public post ids (19-digit numbers kept as strings), once public and moderated."""
    uploaded_bytes: int | None = None
    """FILE_UPLOAD progress."""
    downloaded_bytes: int | None = None
    """PULL_FROM_URL progress."""

    @property
    def is_final(self) -> bool:
        """True once nothing more will happen without the user (complete, failed, in the inbox)."""
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishStatus:
        """Parse the `data` object; post ids become strings without passing through a float."""
        raw_ids = data.get("publicaly_available_post_id") or []
        up = data.get("uploaded_bytes")
        down = data.get("downloaded_bytes")
        return cls(
            status=str(data.get("status", "")),
            fail_reason=str(data["fail_reason"]) if data.get("fail_reason") else None,
            post_ids=[post_id_to_str(x) for x in raw_ids],
            uploaded_bytes=int(up) if up is not None else None,
            downloaded_bytes=int(down) if down is not None else None,
        )
