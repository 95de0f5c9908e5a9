"""Display API: ``/v2/video/query/``, the creator's public videos by id (share URLs and more).

``POST /v2/video/query/?fields=id,share_url,…`` with ``{"filters": {"video_ids": [...]}}`` (1 to
20 ids), scope ``video.list``, 600 requests a minute (tiktok-api-v2-rate-limit). Answers
``data.videos``: the videos among those ids that belong to the token's creator and are public
(their id was given out: moderation passed), with the requested fields of TikTok's Video Object
(tiktok-api-v2-video-object). Ids that are not the creator's, not public or not videos are left
out, as TikTok's query leaves out videos that do not belong to the user. Counts are 0.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..state import Post, Token
from .core import Core

VIDEO_FIELDS = (
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "is_aigc",
)
MAX_VIDEO_IDS = 20


class DisplayMixin(Core):
    """What the Display API tells an app about a creator's videos."""

    def video_query(
        self, token: Token, fields_param: str | None, body: Any, base_url: str
    ) -> dict[str, Any]:
        fields = [f.strip() for f in (fields_param or "").split(",") if f.strip()]
        if not fields:
            raise self.invalid_param("The fields parameter is required, e.g. fields=id,share_url.")
        unknown = [f for f in fields if f not in VIDEO_FIELDS]
        if unknown:
            raise self.invalid_param(f"Unknown fields: {','.join(unknown)}.")
        filters = body.get("filters") if isinstance(body, dict) else None
        ids = filters.get("video_ids") if isinstance(filters, dict) else None
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_VIDEO_IDS
            or not all(isinstance(i, str) and i.isdigit() for i in ids)
        ):
            raise self.invalid_param(
                f"filters.video_ids must list 1 to {MAX_VIDEO_IDS} video ids (strings of digits)."
            )
        wanted = set(ids)
        videos = [
            self._video_object(post, fields, base_url)
            for post in self.posts
            if str(post.post_id) in wanted and self._listed(post, token)
        ]
        return {"videos": videos}

    def _listed(self, post: Post, token: Token) -> bool:
        """The creator's public video whose id was given out (moderation passed)."""
        publish = self.publishes.get(post.publish_id)
        return (
            post.open_id == token.open_id
            and post.media_type == "VIDEO"
            and publish is not None
            and post.post_id in publish.post_ids
        )

    def _video_object(self, post: Post, fields: list[str], base_url: str) -> dict[str, Any]:
        creator = self.creators.get(post.open_id)
        handle = creator.username if creator else post.open_id
        publish = self.publishes.get(post.publish_id)
        probe = (publish.probe if publish else None) or {}
        track = f"utm_campaign=tt4d_open_api&utm_source={post.client_key}"
        share_url = f"{base_url}@{handle}/video/{post.post_id}?{track}"
        values: dict[str, Any] = {
            # A string here (the Video Object says so), unlike the post ids of status/fetch.
            "id": str(post.post_id),
            "create_time": int(post.created_at),
            "cover_image_url": f"{base_url}_emulator/covers/{post.post_id}.jpg",
            "share_url": share_url,
            "video_description": post.title[:150],
            "duration": round(float(probe.get("duration_s", 0))),
            "height": int(probe.get("height", 0)),
            "width": int(probe.get("width", 0)),
            "title": post.title[:150],
            "embed_html": (
                f'<blockquote class="tiktok-embed" cite="{escape(share_url)}" '
                f'data-video-id="{post.post_id}"><section><a href="{escape(share_url)}">'
                f"{escape(post.title[:150])}</a></section></blockquote>"
            ),
            "embed_link": f"{base_url}player/v1/{post.post_id}?{track}",
            "like_count": 0,
            "comment_count": 0,
            "share_count": 0,
            "view_count": 0,
            "is_aigc": post.is_aigc,
        }
        return {f: values[f] for f in fields}
