"""What pages may show about a post: `PostView` (no internal fields, no tokens), its cover, its
times in the creator's zone, the posts list's filters and the consent history (UX-5c). Used by the
posts pages, the calendar and the edit routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from directpost.publishing import lifecycle, outcomes, states
from directpost.rules.model import PRIVACY_LABELS
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.web.i18n import _


@dataclass(frozen=True, slots=True)
class PostView:
    """What a page may show about a post (no internal fields, no tokens)."""

    id: int
    kind: str
    mode: str
    state: str
    state_label: str
    final: bool
    title: str
    privacy_level: str
    reason: str
    log_id: str
    post_ids: list[str]
    links: list[str]
    scheduled_local: str
    time_zone: str
    editable: bool
    cancellable: bool
    needs_confirmation: bool
    created_at: str
    #: The cover (a photo, or the video shown at its cover frame), as this app serves it.
    thumb_url: str = ""
    thumb_is_video: bool = False
    account_name: str = ""
    audience: str = ""
    finished_local: str = ""
    #: A failed post TikTok provably did not publish may be sent again; else why not.
    retryable: bool = False
    retry_blocked: str = ""
    #: Published to everyone, and TikTok has not given its public id yet (it does so after
    #: moderation, usually within minutes): the page says the link is coming.
    link_pending: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "state_label": self.state_label,
            "final": self.final,
            "reason": self.reason,
            "log_id": self.log_id,
            # Post ids stay strings end to end: JavaScript numbers would round 19 digits.
            "post_ids": list(self.post_ids),
            "links": list(self.links),
            "cancellable": self.cancellable,
            "editable": self.editable,
            "link_pending": self.link_pending,
        }


def post_link(open_id: str, username: str, post_id: str) -> str:
    """The public TikTok address of a post (the handle is optional for TikTok's redirect)."""
    handle = username or open_id
    return f"https://www.tiktok.com/@{handle}/video/{post_id}"


def in_time_zone(moment: datetime, zone: str) -> str:
    """`moment` as the creator reads it: in the zone they picked, or in UTC (said so) when
    that zone is unknown here."""
    try:
        return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    except (KeyError, ValueError):
        return moment.strftime("%Y-%m-%d %H:%M UTC")


def _thumbnail(post: store.Post) -> tuple[str, bool]:
    """The post's cover as the preview served it (`/uploads/…/files/…`), while the upload is
    kept; ("", False) when there is none to show."""
    return cover_of(
        kind=post.kind, choices=post.choices, media=post.media, upload_id=post.upload_id
    )


def cover_of(
    *, kind: str, choices: dict[str, Any] | None, media: list[Any] | None, upload_id: str | None
) -> tuple[str, bool]:
    """`_thumbnail` from a post's stored fields (the calendar reads columns, not rows)."""
    choices = choices or {}
    media = media or []
    index = 0
    if kind == "photos":
        raw = choices.get("photo_cover_index")
        index = raw if isinstance(raw, int) and 0 <= raw < len(media) else 0
    if not media or not upload_id:
        return "", False
    key = str(media[index].get("key", ""))
    prefix = f"uploads/{upload_id}/"
    if not key.startswith(prefix):
        return "", False
    url = f"/uploads/{upload_id}/files/{key[len(prefix) :]}"
    if kind == "video":
        cover_ms = choices.get("cover_timestamp_ms")
        seconds = cover_ms / 1000 if isinstance(cover_ms, int) and cover_ms > 0 else 0.1
        return f"{url}#t={seconds:.1f}", True
    return url, False


#: The posts list's filters: a name in the address and the states it shows.
STATE_FILTERS: dict[str, frozenset[str]] = {
    "scheduled": frozenset({"scheduled"}),
    "in_progress": frozenset({"queued", "publishing", "processing"}),
    "done": frozenset({"published", "sent_to_inbox"}),
    "attention": frozenset(
        {"needs_confirmation", "try_later", "failed", "cancelled", "disconnected", "held"}
    ),
}
FILTER_LABELS = {
    "": "All",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "done": "Published",
    "attention": "Needs attention",
}


def post_view(post: store.Post) -> PostView:
    choices = post.choices or {}
    username = ""
    account_name = ""
    if post.consent is not None:
        username = str(post.consent.creator_info.get("username", ""))
        account_name = str(post.consent.creator_info.get("nickname", ""))
    privacy = str(choices.get("privacy_level") or "")
    if post.mode == "inbox":
        audience = _("Draft in your TikTok inbox")
    else:
        audience = _(PRIVACY_LABELS.get(privacy, privacy)) if privacy else ""
    thumb_url, thumb_is_video = _thumbnail(post)
    scheduled_local = ""
    if post.scheduled_at is not None:
        scheduled_local = in_time_zone(post.scheduled_at, post.time_zone)
    route = lifecycle.cancel_route(
        post.state,
        pulled=any(a.source == "PULL_FROM_URL" for a in post.attempts),
        tiktok_status=post.tiktok_status,
        cancel_requested=post.cancel_requested,
    )
    refusal = lifecycle.retry_refusal(post, now=utcnow()) if post.state == states.FAILED else None
    return PostView(
        id=post.id,
        kind=post.kind,
        mode=post.mode,
        state=post.state,
        state_label=_(outcomes.STATE_LABELS.get(post.state, post.state)),
        final=lifecycle.is_final(post.state),
        title=str(choices.get("title", "")),
        privacy_level=str(choices.get("privacy_level") or ""),
        reason=_(post.reason_text) if post.reason_text else "",
        log_id=post.log_id,
        post_ids=[str(i) for i in post.post_ids],
        links=[post_link(post.open_id, username, str(i)) for i in post.post_ids],
        scheduled_local=scheduled_local,
        time_zone=post.time_zone,
        editable=lifecycle.can_reschedule(post.state),
        cancellable=route is not None,
        needs_confirmation=lifecycle.can_retry(post.state),
        created_at=in_time_zone(post.created_at, post.time_zone),
        thumb_url=thumb_url,
        thumb_is_video=thumb_is_video,
        account_name=account_name,
        audience=audience,
        finished_local=(
            in_time_zone(post.finished_at, post.time_zone) if post.finished_at is not None else ""
        ),
        retryable=post.state == states.FAILED and refusal is None,
        retry_blocked=_(refusal) if refusal and post.state == states.FAILED else "",
        link_pending=link_pending(post, privacy),
    )


def link_pending(post: store.Post, privacy: str) -> bool:
    """A direct post to everyone that TikTok published (PUBLISH_COMPLETE) but has not yet
    given a public id: TikTok gives it after moderation, by status/fetch or the
    `post.publish.publicly_available` webhook
    (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status)."""
    return (
        post.state == states.PUBLISHED
        and post.mode != "inbox"
        and privacy == "PUBLIC_TO_EVERYONE"
        and not post.post_ids
    )


def consent_history(post: store.Post) -> list[dict[str, str]]:
    """Every consent the creator gave for the post (UX-5c), oldest first, in their time zone:
    when, to whom, what they chose and the declaration they agreed to."""
    shown: list[dict[str, str]] = []
    for consent in post.consents:
        choices = consent.choices or {}
        privacy = str(choices.get("privacy_level") or "")
        shown.append(
            {
                "when": in_time_zone(consent.consented_at, post.time_zone),
                "nickname": str(consent.creator_info.get("nickname", "")),
                "privacy": _(PRIVACY_LABELS.get(privacy, privacy)) if privacy else "",
                "declaration": _(consent.declaration),
                "label": _(consent.label) if consent.label else "",
            }
        )
    return shown
