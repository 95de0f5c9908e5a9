"""The emulator's world: apps, creators, tokens, publishes, posts and webhook deliveries.

Plain dataclasses; the behaviour that changes them lives in ``backend/``. Everything here is
rebuilt from scratch by ``Backend.reset()``.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PUBLIC = "PUBLIC_TO_EVERYONE"
MUTUAL = "MUTUAL_FOLLOW_FRIENDS"
FOLLOWERS = "FOLLOWER_OF_CREATOR"
SELF_ONLY = "SELF_ONLY"
PRIVACY_LEVELS = (PUBLIC, MUTUAL, FOLLOWERS, SELF_ONLY)

ALL_SCOPES = (
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.publish",
    "video.upload",
    "video.list",
)

FINAL_STATUSES = frozenset({"PUBLISH_COMPLETE", "FAILED"})


class Clock:
    """Emulator time: wall-clock seconds plus an offset that ``POST /_emulator/clock`` advances."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()


@dataclass
class App:
    """A registered developer app (TikTok's "client")."""

    client_key: str
    client_secret: str
    name: str = "App"
    audited: bool = False
    redirect_uris: list[str] = field(default_factory=list)
    verified_url_prefixes: list[str] = field(default_factory=list)
    verified_domains: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))
    # Active publishing creators per 24 h (audit estimate); None = no cap for audited apps.
    creator_cap: int | None = None
    # Sandbox-style restriction: only these creators may authorize (None = everyone).
    target_users: list[str] | None = None
    progression: Any = None  # Progression | None, per-app override

    def public_view(self) -> dict[str, Any]:
        """The app as shown in state dumps: never the client secret."""
        return {
            "client_key": self.client_key,
            "name": self.name,
            "audited": self.audited,
            "redirect_uris": self.redirect_uris,
            "verified_url_prefixes": self.verified_url_prefixes,
            "verified_domains": self.verified_domains,
            "webhook_url": self.webhook_url,
            "scopes": self.scopes,
            "creator_cap": self.creator_cap,
            "target_users": self.target_users,
            "progression": self.progression.as_dict() if self.progression else None,
        }


@dataclass
class Creator:
    """A TikTok account that can sign in and post."""

    open_id: str
    nickname: str
    username: str
    avatar_color: str = "#25f4ee"
    private_account: bool = False
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False
    max_video_post_duration_sec: int = 600
    # "ok", "capped" (daily posting cap already reached) or "banned".
    posting_state: str = "ok"
    app_version: str | None = None
    bio_description: str = ""
    is_verified: bool = False
    follower_count: int = 0
    following_count: int = 0
    likes_count: int = 0

    @property
    def union_id(self) -> str:
        return "union-" + hashlib.sha256(self.open_id.encode()).hexdigest()[:24]

    def privacy_level_options(self) -> list[str]:
        if self.private_account:
            return [FOLLOWERS, MUTUAL, SELF_ONLY]
        return [PUBLIC, MUTUAL, SELF_ONLY]

    def view(self) -> dict[str, Any]:
        return {
            "open_id": self.open_id,
            "nickname": self.nickname,
            "username": self.username,
            "avatar_color": self.avatar_color,
            "private_account": self.private_account,
            "comment_disabled": self.comment_disabled,
            "duet_disabled": self.duet_disabled,
            "stitch_disabled": self.stitch_disabled,
            "max_video_post_duration_sec": self.max_video_post_duration_sec,
            "posting_state": self.posting_state,
            "app_version": self.app_version,
        }


@dataclass
class Token:
    """An access/refresh token pair issued to one app for one creator."""

    access_token: str
    refresh_token: str
    client_key: str
    open_id: str
    scopes: list[str]
    access_expires_at: float
    refresh_expires_at: float
    revoked: bool = False
    # Old access tokens stay valid until they expire after a refresh (like TikTok's).
    superseded: bool = False


@dataclass
class AuthCode:
    """A one-time authorization code from the consent page."""

    code: str
    client_key: str
    open_id: str
    scopes: list[str]
    redirect_uri: str
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class Publish:
    """One publish_id: an init and everything that happened to it afterwards."""

    publish_id: str
    client_key: str
    open_id: str
    media_type: str  # "VIDEO" | "PHOTO"
    post_mode: str  # "DIRECT_POST" | "MEDIA_UPLOAD"
    source: str  # "FILE_UPLOAD" | "PULL_FROM_URL"
    created_at: float
    request: dict[str, Any]
    status: str
    privacy_level: str | None = None
    fail_reason: str | None = None
    # FILE_UPLOAD
    video_size: int = 0
    chunk_size: int = 0
    total_chunk_count: int = 0
    upload_id: str | None = None
    upload_token: str | None = None
    upload_expires_at: float = 0.0
    uploaded_bytes: int = 0
    chunks_received: int = 0
    # PULL_FROM_URL
    urls: list[str] = field(default_factory=list)
    downloaded_bytes: int = 0
    download_started_at: float | None = None
    # Media and what processing found.
    media_paths: list[Path] = field(default_factory=list)
    sha256: str | None = None
    media_ready: bool = False
    probe: dict[str, Any] | None = None
    # Progression: the statuses still to reach once the media is in; polls in current status.
    plan: list[tuple[str, str | None]] = field(default_factory=list)
    entered_at: float = 0.0
    polls_in_state: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)
    forced_fail_reason: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def view(self) -> dict[str, Any]:
        return {
            "publish_id": self.publish_id,
            "client_key": self.client_key,
            "open_id": self.open_id,
            "media_type": self.media_type,
            "post_mode": self.post_mode,
            "source": self.source,
            "status": self.status,
            "fail_reason": self.fail_reason,
            "privacy_level": self.privacy_level,
            "created_at": self.created_at,
            "request": self.request,
            "video_size": self.video_size,
            "chunk_size": self.chunk_size,
            "total_chunk_count": self.total_chunk_count,
            "uploaded_bytes": self.uploaded_bytes,
            "chunks_received": self.chunks_received,
            "downloaded_bytes": self.downloaded_bytes,
            "urls": self.urls,
            "sha256": self.sha256,
            "media_ready": self.media_ready,
            "probe": self.probe,
            "history": self.history,
            "post_ids": [str(p) for p in self.post_ids],
        }


@dataclass
class Post:
    """What landed on a creator's profile."""

    post_id: int
    publish_id: str
    open_id: str
    client_key: str
    media_type: str
    title: str
    description: str
    privacy_level: str
    disable_comment: bool
    disable_duet: bool
    disable_stitch: bool
    brand_content_toggle: bool
    brand_organic_toggle: bool
    is_aigc: bool
    auto_add_music: bool
    media_count: int
    cover_index: int
    created_at: float
    via_inbox: bool = False
    # Emulator time at which a public post passes moderation and gets its public id (its
    # `post.publish.publicly_available`); None while the post is not public.
    public_at: float | None = None

    @property
    def commercial_label(self) -> str | None:
        if self.brand_content_toggle:
            return "Paid partnership"
        if self.brand_organic_toggle:
            return "Promotional content"
        return None

    def view(self) -> dict[str, Any]:
        return {
            "post_id": str(self.post_id),
            "publish_id": self.publish_id,
            "open_id": self.open_id,
            "client_key": self.client_key,
            "media_type": self.media_type,
            "title": self.title,
            "description": self.description,
            "privacy_level": self.privacy_level,
            "disable_comment": self.disable_comment,
            "disable_duet": self.disable_duet,
            "disable_stitch": self.disable_stitch,
            "brand_content_toggle": self.brand_content_toggle,
            "brand_organic_toggle": self.brand_organic_toggle,
            "commercial_label": self.commercial_label,
            "is_aigc": self.is_aigc,
            "ai_label": "Creator labeled as AI-generated" if self.is_aigc else None,
            "auto_add_music": self.auto_add_music,
            "media_count": self.media_count,
            "created_at": self.created_at,
            "via_inbox": self.via_inbox,
            "public_at": self.public_at,
        }


@dataclass
class WebhookDelivery:
    """One webhook event and every attempt to deliver it."""

    delivery_id: int
    client_key: str
    url: str
    event: str
    body: bytes
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False
    # Emulator time of the next attempt while it waits (a retry, or a delay fault).
    next_attempt_at: float | None = None
    # A copy sent by the `duplicate` webhook fault: the delivery it repeats.
    duplicate_of: int | None = None
    # Faults that fix an order: the first attempt waits for that delivery's first attempt.
    send_after: int | None = None

    def view(self) -> dict[str, Any]:
        import json

        return {
            "delivery_id": self.delivery_id,
            "client_key": self.client_key,
            "url": self.url,
            "event": self.event,
            "body": json.loads(self.body),
            "attempts": self.attempts,
            "delivered": self.delivered,
            "gave_up": self.gave_up,
            "next_attempt_at": self.next_attempt_at,
            "duplicate_of": self.duplicate_of,
        }


@dataclass
class Fault:
    """The next ``count`` calls of ``endpoint`` misbehave in the chosen way."""

    endpoint: str
    count: int
    error: str | None = None
    status: int | None = None
    message: str | None = None
    delay_s: float = 0.0
    drop: bool = False
    drop_after_bytes: int = 0
    fail_reason: str | None = None
    # Endpoint `webhook` only: send each event twice / hold `count` events, then send them
    # newest first.
    duplicate: bool = False
    reorder: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "count": self.count,
            "error": self.error,
            "status": self.status,
            "delay_s": self.delay_s,
            "drop": self.drop,
            "drop_after_bytes": self.drop_after_bytes,
            "fail_reason": self.fail_reason,
            "duplicate": self.duplicate,
            "reorder": self.reorder,
        }


@dataclass
class RateWindow:
    """Timestamps of accepted requests in the last minute for one (token, endpoint)."""

    hits: deque[float] = field(default_factory=deque)
