"""What each TikTok answer means for a post: which state it goes to, and the plain words the
creator reads (what went wrong, what to do). One table, used by the job, the webhook handler
and the status pages, so the same failure always reads the same way (DG-6: with TikTok's log_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from directpost.publishing import states


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a post goes after a TikTok answer, and why, in words for the creator."""

    state: str
    text: str


#: `fail_reason` values from status/fetch and `post.publish.failed` (spec §3.6).
FAIL_REASONS: Final[dict[str, Outcome]] = {
    "file_format_check_failed": Outcome(
        states.FAILED,
        "TikTok could not read this file's format. Export it as an MP4 (H.264) video or "
        "JPEG/WebP photos and publish it again.",
    ),
    "duration_check_failed": Outcome(
        states.FAILED,
        "TikTok refused the video's length for this account. Trim it and publish it again.",
    ),
    "frame_rate_check_failed": Outcome(
        states.FAILED,
        "TikTok refused the video's frame rate. Export it at 23 to 60 frames per second "
        "and publish it again.",
    ),
    "picture_size_check_failed": Outcome(
        states.FAILED,
        "TikTok refused the picture size. Use sides between 360 and 4096 pixels for video "
        "(at most 1080p for photos) and publish it again.",
    ),
    "internal": Outcome(
        states.FAILED,
        "Something inside TikTok was unavailable while it processed the post. Nothing was "
        "posted; publish it again in a little while.",
    ),
    "video_pull_failed": Outcome(
        states.FAILED,
        "TikTok could not download the video from this app in time. Nothing was posted; "
        "publish it again, and tell the operator if it keeps happening.",
    ),
    "photo_pull_failed": Outcome(
        states.FAILED,
        "TikTok could not download the photos from this app in time. Nothing was posted; "
        "publish them again, and tell the operator if it keeps happening.",
    ),
    "publish_cancelled": Outcome(states.CANCELLED, "You cancelled this post; nothing was posted."),
    "auth_removed": Outcome(
        states.DISCONNECTED,
        "Access to the TikTok account was removed while TikTok processed the post, so it was "
        "not posted. Connect the account again before posting.",
    ),
    "spam_risk_too_many_posts": Outcome(
        states.TRY_LATER,
        "This account has made TikTok's maximum number of posts for today. Nothing was "
        "posted; try again tomorrow.",
    ),
    "spam_risk_user_banned_from_posting": Outcome(
        states.FAILED,
        "TikTok is not letting this account post at the moment, so nothing was posted. "
        "Check the TikTok app for a notice.",
    ),
    "spam_risk_text": Outcome(
        states.FAILED,
        "TikTok judged the caption as spam, so nothing was posted. Change the caption before "
        "posting again.",
    ),
    "spam_risk": Outcome(
        states.FAILED,
        "TikTok judged this request as risky, so nothing was posted. Do not simply repeat it; "
        "check the TikTok app for a notice.",
    ),
}

#: Error codes of the init endpoints (spec §3.2, §3.4, §3.5) and of creator_info.
INIT_ERRORS: Final[dict[str, Outcome]] = {
    "spam_risk_too_many_posts": Outcome(
        states.TRY_LATER,
        "This account has reached TikTok's limit of posts for today. Nothing was posted; "
        "try again tomorrow.",
    ),
    "spam_risk_user_banned_from_posting": Outcome(
        states.TRY_LATER,
        "TikTok is not letting this account post at the moment. Nothing was posted; try "
        "again later.",
    ),
    "reached_active_user_cap": Outcome(
        states.TRY_LATER,
        "This app has reached TikTok's daily limit of accounts that may post. Nothing was "
        "posted; try again tomorrow.",
    ),
    "spam_risk_too_many_pending_share": Outcome(
        states.TRY_LATER,
        "Your TikTok inbox already holds 5 drafts from the last 24 hours waiting for you. "
        "Post or delete some in the TikTok app, then try again.",
    ),
    "unaudited_client_can_only_post_to_private_accounts": Outcome(
        states.NEEDS_CONFIRMATION,
        "Your TikTok account is public, and this app may only post to private accounts until "
        "TikTok audits it. Make the account private in the TikTok app, then confirm again.",
    ),
    "privacy_level_option_mismatch": Outcome(
        states.NEEDS_CONFIRMATION,
        "The audience you chose is no longer offered for this account. Choose it again on the "
        "Post page and confirm.",
    ),
    "url_ownership_unverified": Outcome(
        states.FAILED,
        "TikTok does not accept media from this app's address yet (the operator has not "
        "verified it with TikTok). Nothing was posted; tell the operator.",
    ),
    "scope_not_authorized": Outcome(
        states.DISCONNECTED,
        "The TikTok account did not grant this app permission to post. Connect it again and "
        "allow posting.",
    ),
    "access_token_invalid": Outcome(
        states.DISCONNECTED,
        "TikTok no longer accepts this app's access to the account. Connect it again.",
    ),
    "app_version_check_failed": Outcome(
        states.FAILED,
        "Your TikTok app is too old to receive photo drafts. Update the TikTok app (31.8 or "
        "newer) and publish again.",
    ),
    "invalid_param": Outcome(
        states.FAILED,
        "TikTok refused the post's settings as invalid. Nothing was posted; tell the operator "
        "with the reference below.",
    ),
    "invalid_params": Outcome(
        states.FAILED,
        "TikTok refused the post's settings as invalid. Nothing was posted; tell the operator "
        "with the reference below.",
    ),
    "invalid_file_upload": Outcome(
        states.FAILED,
        "TikTok refused the uploaded file. Nothing was posted; check the media and publish again.",
    ),
}

UNKNOWN_FAILURE: Final = Outcome(
    states.FAILED,
    "TikTok could not publish this post. Nothing more will be tried automatically; publish it "
    "again or tell the operator with the reference below.",
)

UPLOAD_EXPIRED: Final = Outcome(
    states.FAILED,
    "The upload to TikTok took longer than the hour TikTok allows, so nothing was posted. "
    "Publish it again.",
)

TOO_MANY_TRIES: Final = Outcome(
    states.FAILED,
    "TikTok did not answer after several tries. Nothing was posted; publish it again later.",
)

DISCONNECTED: Final = Outcome(
    states.DISCONNECTED,
    "The TikTok account was disconnected from this app, so this post was not sent. Connect "
    "the account again and publish it again.",
)

CANCELLED_BY_CREATOR: Final = Outcome(
    states.CANCELLED, "You cancelled this post; nothing was posted."
)

#: The operator stopped all traffic to TikTok (`directpost lockdown`, TOS-2).
HELD_BY_LOCKDOWN: Final = Outcome(
    states.HELD,
    "The app's operator stopped all publishing to TikTok, so this post was held and nothing "
    "more of it was sent. When publishing is back, sign in with TikTok again, open the post "
    "and confirm it: if TikTok already had it, it is only followed, never sent twice.",
)


#: Shown on a post that waits for our media service to answer before it starts.
MEDIA_SERVICE_DOWN: Final = (
    "This app's media service is not answering right now, and TikTok would have to download "
    "the post from it. The post waits and starts on its own when the service is back."
)

#: `fail_reason`s of a pull: TikTok could not download the media from our URL.
PULL_FAILURES: Final = frozenset({"video_pull_failed", "photo_pull_failed"})
#: New attempts after pulls that failed before our media service sent every file.
MAX_PULL_RETRIES: Final = 3


def pull_retry_text(*, kind: str, retry: int) -> str:
    """What the creator reads while a pull that failed because of us is tried again."""
    media = "photos" if kind == "photos" else "video"
    return (
        f"TikTok could not download the {media} while this app was not sending it, so nothing "
        f"was posted yet. The app is sending it again on its own (retry {retry} of "
        f"{MAX_PULL_RETRIES}); you do not need to do anything."
    )


def fail_reason_outcome(reason: str) -> Outcome:
    """The outcome of a `fail_reason` (unknown reasons fail with generic words)."""
    return FAIL_REASONS.get(reason, UNKNOWN_FAILURE)


def init_error_outcome(code: str) -> Outcome:
    """The outcome of an init or creator_info error code."""
    return INIT_ERRORS.get(code, UNKNOWN_FAILURE)


#: Short state names for the creator.
STATE_LABELS: Final[dict[str, str]] = {
    states.SCHEDULED: "Scheduled",
    states.QUEUED: "Waiting to start",
    states.PUBLISHING: "Sending to TikTok",
    states.PROCESSING: "Processing at TikTok",
    states.NEEDS_CONFIRMATION: "Needs your confirmation",
    states.TRY_LATER: "Try again later",
    states.PUBLISHED: "Published",
    states.SENT_TO_INBOX: "In your TikTok inbox",
    states.FAILED: "Failed",
    states.CANCELLED: "Cancelled",
    states.DISCONNECTED: "Account disconnected",
    states.HELD: "Held by the operator",
}
