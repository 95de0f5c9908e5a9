"""A publish after its init: processing results, status transitions, posts and webhooks.

Holds ``media_processed`` and ``fail_now``, ``advance`` and ``tick`` (progression by polls or
seconds, pull time-outs), ``_apply`` (each status and the webhook it sends), creating posts,
privacy changes, moderation (a public post's id comes ``public_post_delay_s`` after it is
posted) and ``creator_posts_draft`` (the inbox draft posted in the TikTok app, once or several
times). Webhook events are queued by ``webhook_events.py``. Follows spec §3.6 (statuses, public
ids after moderation), §4 (processing), §6.3 (events) and docs/emulator.md ("Control plane":
posting a draft, changing privacy).
"""

from __future__ import annotations

from typing import Any

from ..config import MIB, Progression
from ..errors import ControlError
from ..state import PRIVACY_LEVELS, PUBLIC, SELF_ONLY, App, Post, Publish
from .core import Core, _random_digits


class LifecycleMixin(Core):
    """What happens to a publish once its media is in."""

    # ------------------------------------------------------------------ processing and progression

    def media_processed(
        self, publish: Publish, fail_reason: str | None, probe: dict[str, Any] | None
    ) -> None:
        """The media is in and was checked: plan the statuses that follow."""
        if publish.is_final:
            return
        publish.media_ready = True
        publish.probe = probe
        fault = self.take_fault("processing")
        if fault is not None and fault.fail_reason:
            fail_reason = fault.fail_reason
        if fail_reason:
            publish.plan = [("FAILED", fail_reason)]
        elif publish.post_mode == "DIRECT_POST":
            publish.plan = [("PUBLISH_COMPLETE", None)]
        else:
            publish.plan = [("SEND_TO_USER_INBOX", None)]
        publish.entered_at = self.now()
        publish.polls_in_state = 0
        self.advance(publish, poll=False)

    def fail_now(self, publish: Publish, reason: str) -> None:
        if not publish.is_final:
            self._apply(publish, "FAILED", reason)

    def _progression(self, publish: Publish) -> Progression:
        app = self.apps.get(publish.client_key)
        if app is not None and app.progression is not None:
            prog: Progression = app.progression
            return prog
        return self.config.progression

    def advance(self, publish: Publish, *, poll: bool) -> None:
        self._release_moderated()
        if publish.is_final or not publish.plan:
            return
        if poll:
            publish.polls_in_state += 1
        prog = self._progression(publish)
        ready = (
            prog.mode == "immediate"
            or (prog.mode == "polls" and publish.polls_in_state >= prog.value)
            or (prog.mode == "seconds" and self.now() - publish.entered_at >= prog.value)
        )
        if ready and publish.status.startswith("PROCESSING_"):
            # The media's own processing time comes first, on the emulator clock.
            ready = self.now() - publish.entered_at >= self.processing_seconds(publish)
        if ready:
            status, reason = publish.plan.pop(0)
            self._apply(publish, status, reason)

    def processing_seconds(self, publish: Publish) -> float:
        """How long TikTok takes to process this publish's media (``processing_seconds_per_mib``)."""
        size = publish.video_size if publish.source == "FILE_UPLOAD" else publish.downloaded_bytes
        return size / MIB * self.config.processing_seconds_per_mib

    def tick(self) -> None:
        """Apply time-based transitions, time out slow downloads, end moderations that are due
        and queue the webhook attempts whose time came."""
        self._release_moderated()
        self.release_due_webhooks()
        now = self.now()
        for publish in list(self.publishes.values()):
            if publish.is_final:
                continue
            if (
                publish.status == "PROCESSING_DOWNLOAD"
                and not publish.media_ready
                and publish.download_started_at is not None
                and now - publish.download_started_at > self.config.pull_timeout_s
            ):
                reason = (
                    "photo_pull_failed" if publish.media_type == "PHOTO" else "video_pull_failed"
                )
                self._apply(publish, "FAILED", reason)
                continue
            if publish.plan and self._progression(publish).mode != "polls":
                self.advance(publish, poll=False)

    def _apply(self, publish: Publish, status: str, reason: str | None) -> None:
        now = self.now()
        publish.status = status
        publish.fail_reason = reason if status == "FAILED" else None
        publish.plan = [] if status == "FAILED" else publish.plan
        publish.entered_at = now
        publish.polls_in_state = 0
        publish.history.append({"at": now, "status": status, "fail_reason": publish.fail_reason})
        app = self.apps.get(publish.client_key)
        if app is None:
            return
        base = {"publish_id": publish.publish_id, "publish_type": self._publish_type(publish)}
        if status == "FAILED":
            self.emit(app, publish.open_id, "post.publish.failed", {**base, "reason": reason})
        elif status == "SEND_TO_USER_INBOX":
            self.emit(app, publish.open_id, "post.publish.inbox_delivered", base)
        elif status == "PUBLISH_COMPLETE":
            info = publish.request.get("post_info") or {}
            post = self._create_post(publish, info, privacy=publish.privacy_level or SELF_ONLY)
            self.emit(app, publish.open_id, "post.publish.complete", base)
            self._maybe_public(app, publish, post)

    def _create_post(
        self, publish: Publish, info: dict[str, Any], *, privacy: str, via_inbox: bool = False
    ) -> Post:
        creator = self.creators.get(publish.open_id)
        cover = publish.request.get("source_info", {}).get("photo_cover_index", 0)
        is_aigc = bool(info.get("is_aigc", False)) or bool(publish.request.get("is_aigc", False))
        post = Post(
            post_id=int("7" + _random_digits(18)),
            publish_id=publish.publish_id,
            open_id=publish.open_id,
            client_key=publish.client_key,
            media_type=publish.media_type,
            title=str(info.get("title", "")),
            description=str(info.get("description", "")),
            privacy_level=privacy,
            # The server forces what the creator's settings forbid (spec §3.2).
            disable_comment=bool(info.get("disable_comment", False))
            or bool(creator and creator.comment_disabled),
            disable_duet=publish.media_type == "VIDEO"
            and (
                bool(info.get("disable_duet", False))
                or bool(creator and (creator.duet_disabled or creator.private_account))
            ),
            disable_stitch=publish.media_type == "VIDEO"
            and (
                bool(info.get("disable_stitch", False))
                or bool(creator and (creator.stitch_disabled or creator.private_account))
            ),
            brand_content_toggle=bool(info.get("brand_content_toggle", False)),
            brand_organic_toggle=bool(info.get("brand_organic_toggle", False)),
            is_aigc=is_aigc,
            auto_add_music=bool(info.get("auto_add_music", False)),
            media_count=len(publish.media_paths),
            cover_index=cover if isinstance(cover, int) else 0,
            created_at=self.now(),
            via_inbox=via_inbox,
        )
        self.posts.append(post)
        return post

    def _maybe_public(self, app: App, publish: Publish, post: Post) -> None:
        """A public post (of an audited app, or posted by the creator from the inbox) goes to
        moderation; its public id comes once it passes (spec §3.6)."""
        if post.privacy_level != PUBLIC or not (app.audited or post.via_inbox):
            return
        post.public_at = self.now() + self.config.public_post_delay_s
        if self.config.public_post_delay_s <= 0:
            self._make_public(post)
        else:
            self.moderating.append(post)

    def _release_moderated(self) -> None:
        """Posts whose moderation ended by now get their public id and webhook."""
        if not self.moderating:
            return
        now = self.now()
        due = [p for p in self.moderating if p.public_at is not None and p.public_at <= now]
        for post in due:
            self.moderating.remove(post)
            self._make_public(post)

    def _make_public(self, post: Post) -> None:
        publish = self.publishes.get(post.publish_id)
        app = self.apps.get(post.client_key)
        if publish is None or post.post_id in publish.post_ids:
            return
        publish.post_ids.append(post.post_id)
        if app is not None:
            self.emit(
                app,
                post.open_id,
                "post.publish.publicly_available",
                {
                    "publish_id": publish.publish_id,
                    "post_id": self._webhook_post_id(post.post_id),
                    "publish_type": self._publish_type(publish),
                },
            )

    def _publish_type(self, publish: Publish) -> str:
        """Webhook ``publish_type``: INBOX_SHARE for inbox uploads, the configured one otherwise."""
        if publish.post_mode == "MEDIA_UPLOAD":
            return "INBOX_SHARE"
        return self.config.direct_publish_type

    def _webhook_post_id(self, post_id: int) -> int | str:
        return post_id if self.config.webhook_post_id_as == "number" else str(post_id)

    def creator_posts_draft(self, publish_id: str, body: dict[str, Any]) -> Post:
        """The creator opens the inbox notification and posts the draft in the TikTok app; a
        draft already posted can be posted again (another post, another id: spec §3.6, §6.3)."""
        publish = self.publishes.get(publish_id)
        if publish is None:
            raise ControlError(f"no publish {publish_id!r}", 404)
        posted_before = publish.post_mode == "MEDIA_UPLOAD" and publish.status == "PUBLISH_COMPLETE"
        if publish.status != "SEND_TO_USER_INBOX" and not posted_before:
            raise ControlError(
                f"publish {publish_id} is {publish.status}; only inbox drafts "
                "(SEND_TO_USER_INBOX, or already posted from the inbox) can be posted"
            )
        creator = self._creator_or_404(publish.open_id)
        privacy = body.get("privacy_level", SELF_ONLY)
        if privacy not in creator.privacy_level_options():
            raise ControlError(f"privacy_level must be one of {creator.privacy_level_options()}")
        info = {**(publish.request.get("post_info") or {}), **body}
        publish.status = "PUBLISH_COMPLETE"
        publish.history.append({"at": self.now(), "status": "PUBLISH_COMPLETE"})
        post = self._create_post(publish, info, privacy=privacy, via_inbox=True)
        app = self.apps[publish.client_key]
        self.emit(
            app,
            publish.open_id,
            "post.publish.complete",
            {"publish_id": publish.publish_id, "publish_type": self._publish_type(publish)},
        )
        self._maybe_public(app, publish, post)
        return post

    def set_post_privacy(self, post_id: str, privacy: str) -> Post:
        post = next((p for p in self.posts if str(p.post_id) == post_id), None)
        if post is None:
            raise ControlError(f"no post {post_id!r}", 404)
        if privacy not in PRIVACY_LEVELS:
            raise ControlError(f"privacy_level must be one of {list(PRIVACY_LEVELS)}")
        publish = self.publishes[post.publish_id]
        app = self.apps[post.client_key]
        was_available = post.post_id in publish.post_ids
        post.privacy_level = privacy
        content = {
            "publish_id": publish.publish_id,
            "post_id": self._webhook_post_id(post.post_id),
            "publish_type": self._publish_type(publish),
        }
        if privacy != PUBLIC:
            post.public_at = None
            if post in self.moderating:  # made private before it passed moderation: no news
                self.moderating.remove(post)
            if was_available:
                publish.post_ids.remove(post.post_id)
                self.emit(app, post.open_id, "post.publish.no_longer_publicaly_available", content)
        elif not was_available and post not in self.moderating:
            post.public_at = self.now()
            self._make_public(post)
        return post
