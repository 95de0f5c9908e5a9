"""Content Posting API: creator_info, posting blocks, the three inits, status and cancel.

Holds the caps and blocks (bans, daily posts, active users, pending inbox shares), URL ownership
checks, the privacy rules for unaudited clients, parsing and validating ``source_info`` and
``post_info``, ``init_publish``, ``status_fetch`` and ``cancel``. Follows spec §3 (3.1 creator
info, 3.2 video init, 3.4 inbox init, 3.5 photo init, 3.6 status, 3.7 cancel), §5.2 and §5.3
(daily caps, unaudited clients) and §7 (URL ownership); the routes are in ``emulator/posting.py``.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from ..errors import ApiError
from ..sample_video import is_sample_video_url
from ..state import SELF_ONLY, App, Creator, Publish, Token
from .core import Core, _random_digits

DAY = 86400.0


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit TikTok's title limits count in."""
    return len(text.encode("utf-16-le")) // 2


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


class PostingMixin(Core):
    """Creator info, publish inits, status and cancel."""

    # ------------------------------------------------------------------ creator info and caps

    def _posting_block(self, app: App, creator: Creator, *, direct: bool) -> str | None:
        """The posting-blocked code for this creator right now, or None."""
        if creator.posting_state == "banned":
            return "spam_risk_user_banned_from_posting"
        if not direct:
            return None
        now = self.now()
        recent = [t for t in self.direct_inits if now - t[0] < DAY]
        if creator.posting_state == "capped" or (
            sum(1 for t in recent if t[1] == creator.open_id) >= self.config.posting_cap_per_day
        ):
            return "spam_risk_too_many_posts"
        cap = app.creator_cap
        if not app.audited:
            cap = self.config.unaudited_creator_cap if cap is None else min(cap, 5)
        if cap is not None:
            active = {t[1] for t in recent if t[2] == app.client_key}
            if creator.open_id not in active and len(active) >= cap:
                return "reached_active_user_cap"
        return None

    BLOCK_MESSAGES: dict[str, str] = {  # noqa: RUF012 - constant table
        "spam_risk_user_banned_from_posting": "This user is banned from posting.",
        "spam_risk_too_many_posts": "This user has reached the daily limit of posts.",
        "reached_active_user_cap": "The app has reached its daily quota of active publishing users.",
        "spam_risk_too_many_pending_share": (
            "This user has too many pending shares in the inbox in the last 24 hours."
        ),
    }

    def creator_info(self, token: Token, base_url: str) -> dict[str, Any]:
        app = self.apps[token.client_key]
        creator = self._creator_or_404(token.open_id)
        block = self._posting_block(app, creator, direct=True)
        if block:
            self._refuse(app.client_key, creator.open_id, "creator_info", block)
            # Intentionally HTTP 200 (spec §3.1).
            raise ApiError(block, self.BLOCK_MESSAGES[block], 200)
        return {
            "creator_avatar_url": f"{base_url}_emulator/avatars/{creator.open_id}.png",
            "creator_username": creator.username,
            "creator_nickname": creator.nickname,
            "privacy_level_options": creator.privacy_level_options(),
            "comment_disabled": creator.comment_disabled,
            "duet_disabled": creator.duet_disabled or creator.private_account,
            "stitch_disabled": creator.stitch_disabled or creator.private_account,
            "max_video_post_duration_sec": creator.max_video_post_duration_sec,
        }

    # ------------------------------------------------------------------ inits

    def _url_verified(self, app: App, url: str, *, video: bool) -> bool:
        if video and is_sample_video_url(url):
            return True  # TikTok's own sample needs no verification (spec §4)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "https" and not (parts.scheme == "http" and self._loopback_ok(host)):
            return False
        if any(url.startswith(prefix) for prefix in app.verified_url_prefixes):
            return True
        return any(host == d or host.endswith("." + d) for d in app.verified_domains)

    def _check_urls(
        self, app: App, creator: Creator, urls: list[str], endpoint: str, *, video: bool
    ) -> None:
        for url in urls:
            if not self._url_verified(app, url, video=video):
                self._refuse(app.client_key, creator.open_id, endpoint, "url_ownership_unverified")
                raise ApiError(
                    "url_ownership_unverified",
                    f"The URL {url} is not under a domain or URL prefix verified for this app.",
                )

    def _block_or_raise(self, app: App, creator: Creator, endpoint: str, *, direct: bool) -> None:
        block = self._posting_block(app, creator, direct=direct)
        if block:
            self._refuse(app.client_key, creator.open_id, endpoint, block)
            raise ApiError(block, self.BLOCK_MESSAGES[block])

    def _check_pending(self, creator: Creator, endpoint: str, client_key: str) -> None:
        now = self.now()
        pending = sum(
            1
            for p in self.publishes.values()
            if p.open_id == creator.open_id
            and p.post_mode == "MEDIA_UPLOAD"
            and now - p.created_at < DAY
            and p.status not in ("PUBLISH_COMPLETE", "FAILED")
        )
        if pending >= self.config.pending_share_cap:
            code = "spam_risk_too_many_pending_share"
            self._refuse(client_key, creator.open_id, endpoint, code)
            raise ApiError(code, self.BLOCK_MESSAGES[code])

    def _check_privacy(self, app: App, creator: Creator, post_info: dict[str, Any]) -> str:
        """Return the privacy level the post will have, or raise the documented 403s."""
        if not app.audited and not creator.private_account:
            raise ApiError(
                "unaudited_client_can_only_post_to_private_accounts",
                "Unaudited clients can only post to private accounts; make the account private.",
            )
        level = post_info.get("privacy_level")
        if not isinstance(level, str) or level not in creator.privacy_level_options():
            raise ApiError(
                "privacy_level_option_mismatch",
                f"privacy_level must be one of {creator.privacy_level_options()} for this creator.",
            )
        if not app.audited and level != SELF_ONLY:
            if self.config.unaudited_privacy == "reject":
                raise ApiError(
                    "privacy_level_option_mismatch",
                    "Unaudited clients can only post with privacy_level SELF_ONLY.",
                )
            level = SELF_ONLY
        return level

    def _parse_source(self, body: dict[str, Any], *, photo: bool) -> dict[str, Any]:
        source_info = body.get("source_info")
        if not isinstance(source_info, dict):
            raise self.invalid_param("source_info is required and must be an object.")
        source = source_info.get("source")
        if photo:
            if source != "PULL_FROM_URL":
                raise self.invalid_param("source_info.source must be PULL_FROM_URL for photos.")
            images = source_info.get("photo_images")
            if (
                not isinstance(images, list)
                or not 1 <= len(images) <= 35
                or not all(isinstance(u, str) and u for u in images)
            ):
                raise self.invalid_param("source_info.photo_images must list 1 to 35 image URLs.")
            cover = source_info.get("photo_cover_index")
            if (
                not isinstance(cover, int)
                or isinstance(cover, bool)
                or not 0 <= cover < len(images)
            ):
                raise self.invalid_param(
                    "source_info.photo_cover_index is required: a 0-based index into photo_images."
                )
            return {"source": source, "urls": images, "cover": cover}
        if source == "PULL_FROM_URL":
            url = source_info.get("video_url")
            if not isinstance(url, str) or not url:
                raise self.invalid_param("source_info.video_url is required for PULL_FROM_URL.")
            return {"source": source, "urls": [url]}
        if source != "FILE_UPLOAD":
            raise self.invalid_param("source_info.source must be FILE_UPLOAD or PULL_FROM_URL.")
        values = {}
        for name in ("video_size", "chunk_size", "total_chunk_count"):
            value = source_info.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise self.invalid_param(f"source_info.{name} must be a positive integer.")
            values[name] = value
        self._check_chunk_plan(
            values["video_size"], values["chunk_size"], values["total_chunk_count"]
        )
        return {"source": source, "urls": [], **values}

    def _check_chunk_plan(self, size: int, chunk: int, count: int) -> None:
        cfg = self.config
        if size > cfg.max_video_bytes:
            raise ApiError(
                "invalid_file_upload",
                f"video_size {size} is over the {cfg.max_video_bytes}-byte limit.",
                400,
            )
        if size < cfg.min_chunk_bytes:
            if chunk != size or count != 1:
                raise self.invalid_param(
                    "Files under 5 MB must be uploaded whole: chunk_size = video_size and "
                    "total_chunk_count = 1."
                )
            return
        if not cfg.min_chunk_bytes <= chunk <= cfg.max_chunk_bytes and not (
            count == 1 and chunk == size and size <= cfg.max_chunk_bytes
        ):
            raise self.invalid_param("chunk_size must be between 5 MB and 64 MB.")
        if count != size // chunk:
            raise self.invalid_param(
                f"total_chunk_count must be floor(video_size / chunk_size) = {size // chunk}."
            )
        if not 1 <= count <= cfg.max_chunks:
            raise self.invalid_param("total_chunk_count must be between 1 and 1000.")
        if size - (count - 1) * chunk > cfg.max_final_chunk_bytes:
            raise self.invalid_param("The final chunk would be over 128 MB; use bigger chunks.")

    def _parse_post_info(
        self, body: dict[str, Any], *, photo: bool, direct: bool
    ) -> dict[str, Any]:
        post_info = body.get("post_info", {} if not direct else None)
        if not isinstance(post_info, dict):
            raise self.invalid_param("post_info is required and must be an object.")
        title = post_info.get("title", "")
        if not isinstance(title, str):
            raise self.invalid_param("post_info.title must be a string.")
        limit = 90 if photo else 2200
        if utf16_len(title) > limit:
            raise self.invalid_param(f"post_info.title is longer than {limit} characters.")
        description = post_info.get("description", "")
        if not isinstance(description, str) or utf16_len(description) > 4000:
            raise self.invalid_param("post_info.description must be a string of ≤ 4000 characters.")
        bools = ["disable_comment", "brand_content_toggle", "brand_organic_toggle", "is_aigc"]
        bools += ["auto_add_music"] if photo else ["disable_duet", "disable_stitch"]
        if photo and ("disable_duet" in post_info or "disable_stitch" in post_info):
            raise self.invalid_param("Photo posts do not take disable_duet or disable_stitch.")
        for name in bools:
            if name in post_info and not isinstance(post_info[name], bool):
                raise self.invalid_param(f"post_info.{name} must be true or false.")
        cover = post_info.get("video_cover_timestamp_ms")
        if cover is not None and (not isinstance(cover, int) or isinstance(cover, bool)):
            raise self.invalid_param("post_info.video_cover_timestamp_ms must be an integer.")
        if "privacy_level" in post_info and not isinstance(post_info["privacy_level"], str):
            raise self.invalid_param("post_info.privacy_level must be a string.")
        if photo and "is_aigc" in body and not isinstance(body["is_aigc"], bool):
            raise self.invalid_param("is_aigc must be true or false.")
        return post_info

    def init_publish(
        self, token: Token, body: Any, *, endpoint: str, base_url: str
    ) -> dict[str, Any]:
        """Video direct (video_init), video inbox (inbox_video_init) or photo (content_init)."""
        if not isinstance(body, dict):
            raise self.invalid_param("The request body must be a JSON object.")
        app = self.apps[token.client_key]
        creator = self._creator_or_404(token.open_id)
        photo = endpoint == "content_init"
        if photo:
            if body.get("media_type") != "PHOTO":
                raise self.invalid_param("media_type must be PHOTO.")
            post_mode = body.get("post_mode")
            if post_mode not in ("DIRECT_POST", "MEDIA_UPLOAD"):
                raise self.invalid_param("post_mode must be DIRECT_POST or MEDIA_UPLOAD.")
            needed = "video.publish" if post_mode == "DIRECT_POST" else "video.upload"
            if needed not in token.scopes:
                raise ApiError("scope_not_authorized", f"{post_mode} needs the {needed} scope.")
        else:
            post_mode = "DIRECT_POST" if endpoint == "video_init" else "MEDIA_UPLOAD"
        direct = post_mode == "DIRECT_POST"
        post_info = self._parse_post_info(body, photo=photo, direct=direct)
        source = self._parse_source(body, photo=photo)
        if photo and not direct:
            version = creator.app_version or self.config.default_app_version
            if _version_tuple(version) < (31, 8):
                raise ApiError(
                    "app_version_check_failed",
                    "The creator's TikTok app must be version 31.8 or later to receive photo drafts.",
                )
        self._block_or_raise(app, creator, endpoint, direct=direct)
        privacy: str | None = None
        if direct:
            try:
                privacy = self._check_privacy(app, creator, post_info)
            except ApiError as exc:
                self._refuse(app.client_key, creator.open_id, endpoint, exc.code)
                raise
        else:
            self._check_pending(creator, endpoint, app.client_key)
        self._check_urls(app, creator, source["urls"], endpoint, video=not photo)

        now = self.now()
        kind = "p" if photo else "v"
        mode = "pub" if direct else "inbox"
        how = "file" if source["source"] == "FILE_UPLOAD" else "url"
        publish_id = f"{kind}_{mode}_{how}~v2-1.{_random_digits(19)}"
        publish = Publish(
            publish_id=publish_id,
            client_key=app.client_key,
            open_id=creator.open_id,
            media_type="PHOTO" if photo else "VIDEO",
            post_mode=post_mode,
            source=source["source"],
            created_at=now,
            request=body,
            status="PROCESSING_UPLOAD" if how == "file" else "PROCESSING_DOWNLOAD",
            privacy_level=privacy,
            urls=list(source["urls"]),
            entered_at=now,
        )
        publish.history.append({"at": now, "status": publish.status})
        self.publishes[publish_id] = publish
        if direct:
            self.direct_inits.append((now, creator.open_id, app.client_key))
        data: dict[str, Any] = {"publish_id": publish_id}
        if how == "file":
            publish.video_size = source["video_size"]
            publish.chunk_size = source["chunk_size"]
            publish.total_chunk_count = source["total_chunk_count"]
            publish.upload_id = _random_digits(19)
            publish.upload_token = secrets.token_urlsafe(24)
            publish.upload_expires_at = now + self.config.upload_url_ttl_s
            self.uploads[publish.upload_id] = publish_id
            data["upload_url"] = (
                f"{base_url}upload/video/?upload_id={publish.upload_id}"
                f"&upload_token={publish.upload_token}"
            )
        else:
            publish.download_started_at = now
            self.pending_pulls.append(publish_id)
        return data

    # ------------------------------------------------------------------ status and cancel

    def _own_publish(self, token: Token, body: Any) -> Publish:
        if not isinstance(body, dict) or not isinstance(body.get("publish_id"), str):
            raise self.invalid_param("publish_id is required and must be a string.")
        publish = self.publishes.get(body["publish_id"])
        if publish is None:
            raise ApiError("invalid_publish_id", "No publish task with this publish_id exists.")
        if publish.client_key != token.client_key or publish.open_id != token.open_id:
            raise ApiError(
                "token_not_authorized_for_specified_publish_id",
                "This access token is not authorized to read this publish_id.",
            )
        return publish

    def status_fetch(self, token: Token, body: Any) -> dict[str, Any]:
        publish = self._own_publish(token, body)
        self.advance(publish, poll=True)
        data: dict[str, Any] = {"status": publish.status}
        if publish.status == "FAILED":
            data["fail_reason"] = publish.fail_reason
        data["publicaly_available_post_id"] = list(publish.post_ids)
        if publish.source == "FILE_UPLOAD":
            if self.config.status_always_has_progress or publish.uploaded_bytes:
                data["uploaded_bytes"] = publish.uploaded_bytes
        elif self.config.status_always_has_progress or publish.downloaded_bytes:
            data["downloaded_bytes"] = publish.downloaded_bytes
        return data

    def cancel(self, token: Token, body: Any) -> None:
        publish = self._own_publish(token, body)
        self.advance(publish, poll=False)
        if publish.source != "PULL_FROM_URL" or publish.status != "PROCESSING_DOWNLOAD":
            raise ApiError(
                "publish_not_cancellable",
                "Only a pull-from-URL task that is still downloading can be cancelled.",
            )
        app = self.apps[publish.client_key]
        creator = self._creator_or_404(publish.open_id)
        self._check_urls(app, creator, publish.urls, "cancel", video=publish.media_type == "VIDEO")
        self._apply(publish, "FAILED", "publish_cancelled")
