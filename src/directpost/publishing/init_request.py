"""The init a post sends to TikTok, built from what the job read under the creator's lease, in
the library's own types, and sent through the library's typed client.

Follows https://developers.tiktok.com/doc/content-posting-api-reference-direct-post and its
sibling pages for inbox videos and photos (spec/tiktok-api.md §3.2, §3.4, §3.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from directpost import tiktok
from directpost.config import Settings
from directpost.media.urls import attempt_media_filename, media_url
from directpost.publishing.drafts import draft_from_choices
from directpost.store import posts as store

TransferSource = Literal["PULL_FROM_URL", "FILE_UPLOAD"]


def transfer_source(settings: Settings, post: store.PostToStart) -> TransferSource:
    """PULL_FROM_URL for media the server holds (TECH-2); FILE_UPLOAD only when the operator
    chose it for a deployment without a public URL. Photos can only be pulled."""
    if post.kind == "photos":
        return "PULL_FROM_URL"
    return "FILE_UPLOAD" if settings.transfer_mode == "file_upload" else "PULL_FROM_URL"


def attempt_urls(settings: Settings, post: store.PostToStart, media_token: str) -> list[str]:
    """The attempt's own public media URLs, one per media item, in the post's order."""
    base = settings.resolved_media_public_base_url
    return [
        media_url(base, media_token, attempt_media_filename(i, str(item.get("filename", ""))))
        for i, item in enumerate(post.media)
    ]


@dataclass(frozen=True, slots=True)
class VideoInit:
    """A direct video post."""

    post_info: tiktok.VideoPostInfo
    source: tiktok.VideoSource


@dataclass(frozen=True, slots=True)
class InboxVideoInit:
    """A video sent to the creator's inbox as a draft."""

    source: tiktok.VideoSource


@dataclass(frozen=True, slots=True)
class PhotoInit:
    """A photo post, direct or to the inbox."""

    post_mode: tiktok.PostMode
    post_info: tiktok.PhotoPostInfo
    source: tiktok.PhotoSource
    is_aigc: bool | None


InitRequest = VideoInit | InboxVideoInit | PhotoInit


def build_init(
    settings: Settings, post: store.PostToStart, source: TransferSource, media_token: str | None
) -> InitRequest:
    """The init for the post's stored choices (never changed silently) and its transfer."""
    draft = draft_from_choices(post.choices)
    urls = attempt_urls(settings, post, media_token) if media_token else []
    privacy = cast(tiktok.PrivacyLevel, draft.privacy_level)  # validated by the rules
    brand_content = draft.disclose_commercial and draft.branded_content
    brand_organic = draft.disclose_commercial and draft.your_brand
    if post.kind == "photos":
        photos = tiktok.PhotoSource(urls, draft.photo_cover_index)
        if post.mode == "inbox":
            info = tiktok.PhotoPostInfo(title=draft.title, description=draft.description)
            return PhotoInit("MEDIA_UPLOAD", info, photos, None)
        info = tiktok.PhotoPostInfo(
            title=draft.title,
            description=draft.description,
            privacy_level=privacy,
            disable_comment=not draft.allow_comment,
            brand_content_toggle=brand_content,
            brand_organic_toggle=brand_organic,
        )
        return PhotoInit("DIRECT_POST", info, photos, draft.is_aigc)
    video: tiktok.VideoSource
    if source == "PULL_FROM_URL":
        video = tiktok.PullFromUrlSource(urls[0])
    else:
        video = tiktok.FileUploadSource.for_size(int(post.media[0]["size"]))
    if post.mode == "inbox":
        return InboxVideoInit(video)
    video_info = tiktok.VideoPostInfo(
        privacy_level=privacy,
        title=draft.title,
        disable_comment=not draft.allow_comment,
        disable_duet=not draft.allow_duet,
        disable_stitch=not draft.allow_stitch,
        brand_content_toggle=brand_content,
        brand_organic_toggle=brand_organic,
        is_aigc=draft.is_aigc,
        video_cover_timestamp_ms=(
            draft.cover_timestamp_ms if draft.cover_timestamp_ms is not None else tiktok.NOT_GIVEN
        ),
    )
    return VideoInit(video_info, video)


async def send_init(
    client: tiktok.AsyncTikTokClient, token: str, request: InitRequest
) -> tiktok.PublishInit:
    """Send the init (never retried by itself: it is not idempotent)."""
    if isinstance(request, PhotoInit):
        # https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
        return await client.init_photo(
            access_token=token,
            post_mode=request.post_mode,
            post_info=request.post_info,
            source=request.source,
            is_aigc=request.is_aigc,
        )
    if isinstance(request, InboxVideoInit):
        # https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
        return await client.init_inbox_video(access_token=token, source=request.source)
    # https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
    return await client.init_video(
        access_token=token, post_info=request.post_info, source=request.source
    )
