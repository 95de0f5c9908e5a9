"""After consent: the init (never retried), the upload with its progress, and the status
followed to a final state (UX-5d, UX-5e); and `--resume` of an upload that was cut.

The publish id and upload URL are stored before a byte is sent; an upload cut by Ctrl-C or a
dropped connection keeps them, so `directpost post --resume` continues at the upload host's
offset without a second init (no duplicate post, architecture.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from directpost.rules import Draft, texts
from directpost.tiktok import (
    NOT_GIVEN,
    APIError,
    FileUploadSource,
    PhotoPostInfo,
    PhotoSource,
    PrivacyLevel,
    PublishInit,
    PublishStatus,
    TikTokClient,
    TikTokError,
    TransportError,
    UploadError,
    UploadUrlExpiredError,
    VideoPostInfo,
)

from . import EXIT_PUBLISHED
from .accounts import Account
from .consent import ConsentLog
from .output import MiB, Result, Screen, interrupted, tiktok_failed
from .resume import PendingUpload, PendingUploads, fingerprint
from .target import Target

STATUS_WORDS = {
    "PROCESSING_UPLOAD": "TikTok is receiving the upload",
    "PROCESSING_DOWNLOAD": "TikTok is fetching the media",
    "SEND_TO_USER_INBOX": "sent to your TikTok inbox",
    "PUBLISH_COMPLETE": "published",
    "FAILED": "failed",
}


@dataclass
class Follow:
    """How the status is polled: first after `first_s`, then slower, within the 30/min budget."""

    first_s: float = 1.0
    max_s: float = 10.0
    give_up_s: float = 30 * 60
    sleep: Callable[[float], None] = time.sleep


def api_failure(doing: str, exc: TikTokError, **data: Any) -> Exception:
    """TikTok's error with its log_id for support (DG-6): exit 2."""
    if isinstance(exc, APIError):
        return tiktok_failed(
            f"TikTok refused {doing}: {exc.code}: {exc.message} (log_id {exc.log_id or '-'})",
            error={"code": exc.code, "message": exc.message, "log_id": exc.log_id},
            **data,
        )
    return tiktok_failed(f"TikTok could not be reached while {doing}: {exc}", **data)


def init_video(
    client: TikTokClient, account: Account, draft: Draft, size: int
) -> tuple[PublishInit, FileUploadSource]:
    """Start the video post or the inbox draft (FILE_UPLOAD: the file is on this machine, TECH-2)."""
    source = FileUploadSource.for_size(size)
    try:
        if draft.mode == "inbox":
            # https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
            return client.init_inbox_video(access_token=account.access_token, source=source), source
        branded = draft.disclose_commercial and draft.branded_content
        brand = draft.disclose_commercial and draft.your_brand
        info = VideoPostInfo(
            privacy_level=cast(PrivacyLevel, draft.privacy_level),  # validated by the rules
            title=draft.title,
            disable_comment=not draft.allow_comment,
            disable_duet=not draft.allow_duet,
            disable_stitch=not draft.allow_stitch,
            brand_content_toggle=branded,
            brand_organic_toggle=brand,
            is_aigc=draft.is_aigc if draft.is_aigc else NOT_GIVEN,
        )
        # https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
        return client.init_video(
            access_token=account.access_token, post_info=info, source=source
        ), source
    except TransportError as exc:
        # Ambiguous: TikTok may hold a publish that will never get its bytes; never re-sent.
        raise tiktok_failed(
            f"The answer to the post's start was lost ({exc}). TikTok may have started a post "
            "that never receives its bytes: it ends by itself. Nothing else was sent; run the "
            "command again to post."
        ) from exc
    except TikTokError as exc:
        raise api_failure("the post", exc) from exc


def init_photos(
    client: TikTokClient, account: Account, draft: Draft, urls: list[str]
) -> PublishInit:
    """Start the photo post (TikTok pulls the photos from `urls`)."""
    source = PhotoSource(urls, draft.photo_cover_index)
    mode: Literal["DIRECT_POST", "MEDIA_UPLOAD"]
    if draft.mode == "inbox":
        mode, info = "MEDIA_UPLOAD", PhotoPostInfo(title=draft.title, description=draft.description)
    else:
        mode = "DIRECT_POST"
        info = PhotoPostInfo(
            title=draft.title,
            description=draft.description,
            privacy_level=cast(PrivacyLevel, draft.privacy_level),
            disable_comment=not draft.allow_comment,
            brand_content_toggle=draft.disclose_commercial and draft.branded_content,
            brand_organic_toggle=draft.disclose_commercial and draft.your_brand,
        )
    try:
        # https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
        return client.init_photo(
            access_token=account.access_token,
            post_mode=mode,
            post_info=info,
            source=source,
            is_aigc=draft.is_aigc or None,
        )
    except TransportError as exc:
        raise tiktok_failed(
            f"The answer to the post's start was lost ({exc}); TikTok may still fetch the "
            "photos. Check your profile before posting again."
        ) from exc
    except TikTokError as exc:
        raise api_failure("the post", exc) from exc


def send_video(
    *,
    client: TikTokClient,
    account: Account,
    draft: Draft,
    path: Path,
    consent_id: str,
    consents: ConsentLog,
    uploads: PendingUploads,
    screen: Screen,
    target: Target,
    follow: Follow,
    username: str = "",
) -> Result:
    """Init, store the publish at once, upload with progress, follow to the end."""
    size = path.stat().st_size
    started, source = init_video(client, account, draft, size)
    pending = PendingUpload(
        account=account.name,
        publish_id=started.publish_id,
        upload_url=started.upload_url or "",
        path=str(path.resolve()),
        size=size,
        chunk_size=source.chunk_size,
        fingerprint=fingerprint(path),
        mode=draft.mode,
        started_at=time.time(),
    )
    uploads.save(pending)  # before anything else happens after the init
    consents.record_started(
        consent_id=consent_id,
        open_id=account.open_id,
        mode=draft.mode,
        publish_id=pending.publish_id,
    )
    screen.say(f"TikTok accepted the post: publish id {pending.publish_id}")
    return upload_and_follow(
        client, account, pending, path, uploads, screen, target, follow, username
    )


def upload_and_follow(
    client: TikTokClient,
    account: Account,
    pending: PendingUpload,
    path: Path,
    uploads: PendingUploads,
    screen: Screen,
    target: Target,
    follow: Follow,
    username: str = "",
) -> Result:
    """PUT the file to the stored upload URL (from the host's offset), then follow the status."""
    ids = {"publish_id": pending.publish_id}
    with screen.progress(f"Uploading {path.name}", pending.size) as draw:

        def progress(sent: int, total: int) -> None:
            draw(sent, total)
            pending.acknowledged = sent
            uploads.save(pending)

        began = time.monotonic()
        try:
            # https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
            client.upload_file(
                upload_url=pending.upload_url,
                file=path,
                chunk_size=pending.chunk_size,
                progress=progress,
            )
        except KeyboardInterrupt:
            raise interrupted(
                f"Interrupted after {pending.acknowledged / MiB:.1f} of {pending.size / MiB:.1f} "
                "MiB. Continue with: directpost post --resume",
                **ids,
            ) from None
        except UploadUrlExpiredError as exc:
            uploads.drop(pending.account)
            raise tiktok_failed(
                "The upload address has expired (TikTok keeps it one hour); this post cannot "
                "receive its bytes and ends by itself. Post the file again.",
                **ids,
            ) from exc
        except (UploadError, TransportError) as exc:
            raise interrupted(
                f"The upload stopped after {pending.acknowledged / MiB:.1f} MiB: {exc}. "
                "Continue with: directpost post --resume",
                **ids,
            ) from exc
    seconds = time.monotonic() - began
    uploads.drop(pending.account)
    result = follow_to_end(
        client, account, pending.publish_id, screen, target, follow, username=username
    )
    # For scripts and bench/terminal_post.py: this run's own transfer time.
    result.data["upload_seconds"] = round(seconds, 3)
    return result


def follow_to_end(
    client: TikTokClient,
    account: Account,
    publish_id: str,
    screen: Screen,
    target: Target,
    follow: Follow,
    on_poll: Callable[[PublishStatus], None] | None = None,
    username: str = "",
) -> Result:
    """Poll status/fetch until the post is final, saying each new state (UX-5d, UX-5e)."""
    screen.say(texts.PROCESSING_NOTICE)
    ids = {"publish_id": publish_id}
    wait, waited, last = follow.first_s, 0.0, ""
    try:
        while True:
            try:
                # https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
                status = client.fetch_status(
                    access_token=account.access_token, publish_id=publish_id
                )
            except TikTokError as exc:
                raise api_failure("the status", exc, **ids) from exc
            if on_poll is not None:
                on_poll(status)
            if status.status != last:
                screen.say(f"Status: {STATUS_WORDS.get(status.status, status.status)}")
                last = status.status
            if status.is_final:
                return final_result(status, publish_id, account, target, username)
            if waited >= follow.give_up_s:
                raise interrupted(
                    f"Still {status.status} after {waited / 60:.0f} min; check later with: "
                    f"directpost status {publish_id}",
                    **ids,
                )
            follow.sleep(wait)
            waited += wait
            wait = min(wait * 1.5, follow.max_s)
    except KeyboardInterrupt:
        raise interrupted(
            f"Stopped following; the post goes on at TikTok. Check with: directpost status {publish_id}",
            **ids,
        ) from None


def post_link(target: Target, account: Account, username: str, post_id: str) -> str:
    """The post's page; in demo mode the emulator's page of the creator's "profile"."""
    if target.demo:
        return f"{target.api_base_url}/_emulator/creators/{account.open_id}"
    return f"https://www.tiktok.com/@{username}/video/{post_id}"


def final_result(
    status: PublishStatus, publish_id: str, account: Account, target: Target, username: str = ""
) -> Result:
    data: dict[str, Any] = {
        "publish_id": publish_id,
        "status": status.status,
        "post_ids": status.post_ids,
        "account": account.name,
        "nickname": account.nickname,
    }
    if status.status == "FAILED":
        raise tiktok_failed(
            f"TikTok could not publish it: {status.fail_reason or 'no reason given'} "
            f"(publish id {publish_id}).",
            fail_reason=status.fail_reason,
            **data,
        )
    if status.status == "SEND_TO_USER_INBOX":
        return Result(
            "inbox",
            EXIT_PUBLISHED,
            "Sent to your TikTok inbox: open TikTok to finish the post there.",
            data,
        )
    if status.post_ids:
        link = post_link(target, account, username, status.post_ids[0])
        data["link"] = link
        return Result("published", EXIT_PUBLISHED, f"Published: {link}", data)
    return Result(
        "published",
        EXIT_PUBLISHED,
        "Published. TikTok gives the post's link once it is public and has been reviewed.",
        data,
    )
