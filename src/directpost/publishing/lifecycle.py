"""A post's life: how it moves between states, the questions pages and services ask of it, and
the one function that applies TikTok's answer, whether it came by polling or by webhook.

The states and the table of allowed moves are data in `publishing.states` (a leaf, so the
store's SQL can guard its statements with the same table). Every change of a loaded post's state
goes through `move` (a move the table does not allow raises `TransitionRefused`), every change of
an attempt's state through `move_attempt`; the few steps of a start that are single guarded
statements (`store.mark_publishing`, `store.start_tracking`, ...) change no row that the table
does not allow to move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import inspect

from directpost import tiktok
from directpost.publishing import notify, outcomes
from directpost.publishing.states import (
    AMBIGUOUS,
    ATTEMPT_TRANSITIONS,
    CANCELLED,
    CONFIRMED,
    FAILED,
    FINAL_STATES,
    FINISHED,
    HELD,
    INIT_SENT,
    NEEDS_CONFIRMATION,
    NEW,
    PROCESSING,
    PUBLISHED,
    PUBLISHING,
    QUEUED,
    SCHEDULED,
    SENT_TO_INBOX,
    TRANSITIONS,
    TRY_LATER,
    WAITING_STATES,
    WITH_TIKTOK_STATES,
)
from directpost.rules.limits import PULL_DOWNLOAD_TIMEOUT_S, UPLOAD_URL_TTL_S
from directpost.store import posts as store


class TransitionRefused(Exception):
    """A move the table of transitions does not allow: a bug in the caller, never data."""

    def __init__(self, what: str, source: str, target: str) -> None:
        super().__init__(f"a {what} cannot move from {source or 'nothing'!r} to {target!r}")
        self.source = source
        self.target = target


class _Movable(Protocol):
    """What `move` changes on a post (the store's `Post` has these)."""

    state: str
    reason_code: str
    reason_text: str
    log_id: str
    due_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def attempts(self) -> Iterable[store.PublishAttempt]: ...


def may_move(source: str, target: str) -> bool:
    """Whether the table allows a post in `source` to move to `target`."""
    return target in TRANSITIONS.get(source, frozenset())


def first_state(scheduled_at: datetime | None, now: datetime) -> tuple[str, datetime]:
    """A new post's state and due time: scheduled for later, or queued now."""
    if scheduled_at is not None and scheduled_at > now:
        return SCHEDULED, scheduled_at
    return QUEUED, now


def move(
    post: _Movable,
    target: str,
    *,
    now: datetime,
    reason_code: str = "",
    reason_text: str = "",
    log_id: str | None = None,
    due_at: datetime | None = None,
) -> None:
    """Move a loaded post to `target`, with the reason shown to the creator.

    A final post's media URLs are revoked as it ends (a ghost pull can only fail); a post
    that leaves a final state (confirmed again) is no longer finished.
    """
    if not may_move(post.state, target):
        raise TransitionRefused("post", post.state, target)
    if target in FINAL_STATES and not _claim_end(post, target):
        return  # another writer ended it first (and told the person): nothing more to do
    post.state = target
    post.reason_code = reason_code
    post.reason_text = reason_text
    if log_id is not None:
        post.log_id = log_id
    if due_at is not None:
        post.due_at = due_at
    post.updated_at = now
    if target in FINAL_STATES:
        post.finished_at = now
        for attempt in post.attempts:
            store.revoke_attempt_url(attempt, now=now)
    else:
        post.finished_at = None
    # Told in the same transaction (an outbox): needs confirmation, failed, published.
    notify.post_moved(post, target, now=now)


def _claim_end(post: _Movable, target: str) -> bool:
    """Claim a stored post's end in its own transaction (`store.claim_end`); on losing, the
    post is read again as the winner left it. A post held by no session (built in memory)
    has nobody to race."""
    found = inspect(post, raiseerr=False)
    if found is None or not found.persistent or found.session is None:
        return True
    session = found.session
    post_id = found.identity[0] if found.identity else None
    if post_id is None or store.claim_end(
        session, post_id=int(post_id), source=post.state, target=target
    ):
        return True
    session.refresh(post)
    return False


def move_attempt(attempt: store.PublishAttempt, target: str, *, now: datetime) -> None:
    """Move a publish attempt (architecture.md "No duplicate posts"); an attempt that can no
    longer become a publish of ours has its media URL revoked."""
    if target not in ATTEMPT_TRANSITIONS.get(attempt.state, frozenset()):
        raise TransitionRefused("publish attempt", attempt.state, target)
    attempt.state = target
    if target != CONFIRMED:
        store.revoke_attempt_url(attempt, now=now)


def end_with(
    post: _Movable, outcome: outcomes.Outcome, *, now: datetime, code: str = "", log_id: str = ""
) -> None:
    """End the post with an outcome of a TikTok answer or of the job (state and words)."""
    move(
        post,
        outcome.state,
        now=now,
        reason_code=code,
        reason_text=outcome.text,
        log_id=log_id or None,
    )


# --- the questions pages and services ask ----------------------------------------------------


def is_final(state: str) -> bool:
    """Nothing more will happen to the post without the creator acting."""
    return state in FINAL_STATES


def can_reschedule(state: str) -> bool:
    """The post has not started: its time may change (and its choices be confirmed anew)."""
    return state in WAITING_STATES


def can_edit(state: str) -> bool:
    """The post's choices may still change (confirmed again with a new consent record)."""
    return state in WAITING_STATES or can_retry(state)


def needs_confirmation(state: str) -> bool:
    """The creator's TikTok settings changed: the stored choices must be confirmed again."""
    return state == NEEDS_CONFIRMATION


def can_retry(state: str) -> bool:
    """The post stopped before TikTok posted anything and may be sent again once the creator
    confirms it (changed settings, a "try later" cap, or held by a lockdown)."""
    return state in (NEEDS_CONFIRMATION, TRY_LATER, HELD)


CancelRoute = Literal["now", "ask_tiktok"]


def cancel_route(
    state: str, *, pulled: bool, tiktok_status: str, cancel_requested: bool = False
) -> CancelRoute | None:
    """How the post can be cancelled: at once (nothing of it is at TikTok), by asking TikTok
    while it still downloads the media (PULL_FROM_URL only), or not at all (None)."""
    if CANCELLED in TRANSITIONS[state] and state not in (PUBLISHING, PROCESSING):
        return "now"
    if (
        state in (PUBLISHING, PROCESSING)
        and pulled
        and not cancel_requested
        and tiktok_status in ("", "PROCESSING_DOWNLOAD")
    ):
        return "ask_tiktok"
    return None


# --- TikTok's answer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TikTokAnswer:
    """What TikTok said about a publish, from status/fetch or from a webhook, in one shape.

    `status` is status/fetch's vocabulary (PUBLISH_COMPLETE, SEND_TO_USER_INBOX, FAILED,
    PROCESSING_UPLOAD, PROCESSING_DOWNLOAD) or "" for an event that only changes visibility.
    """

    status: str = ""
    fail_reason: str = ""
    post_ids: tuple[str, ...] = ()
    #: True/False when TikTok said the post became public / stopped being public.
    publicly_available: bool | None = None


def answer_from_status(status: tiktok.PublishStatus) -> TikTokAnswer:
    """status/fetch's answer."""
    return TikTokAnswer(
        status=status.status,
        fail_reason=status.fail_reason or "",
        post_ids=tuple(str(i) for i in status.post_ids),
    )


def answer_from_event(event: tiktok.WebhookEvent) -> TikTokAnswer | None:
    """A `post.publish.*` event's answer (None for events about something else)."""
    if isinstance(event, tiktok.PubliclyAvailableEvent):
        return TikTokAnswer(post_ids=(str(event.post_id),), publicly_available=True)
    if isinstance(event, tiktok.NoLongerPubliclyAvailableEvent):
        return TikTokAnswer(publicly_available=False)
    if isinstance(event, tiktok.PublishCompleteEvent):
        return TikTokAnswer(status="PUBLISH_COMPLETE")
    if isinstance(event, tiktok.InboxDeliveredEvent):
        return TikTokAnswer(status="SEND_TO_USER_INBOX")
    if isinstance(event, tiktok.PublishFailedEvent):
        return TikTokAnswer(status="FAILED", fail_reason=event.reason)
    return None


def apply_answer(post: store.Post, answer: TikTokAnswer, *, now: datetime) -> None:
    """Record what TikTok said about the post's publish and move the post accordingly.

    Polling and webhooks both call this, so they cannot disagree. An answer about a publish of
    an earlier round (the post was confirmed again since and waits to start) changes nothing;
    an answer that would move a post backwards (a late "processing" after "published") only
    adds what it knows (post ids, visibility).
    """
    if post.state in WAITING_STATES:
        return
    if answer.post_ids:
        post.post_ids = sorted(set(post.post_ids) | set(answer.post_ids))
    if answer.publicly_available is not None:
        post.publicly_available = answer.publicly_available
    if answer.status:
        post.tiktok_status = answer.status
    post.updated_at = now
    if post.state not in WITH_TIKTOK_STATES:
        return
    if answer.status == "PUBLISH_COMPLETE" or answer.publicly_available:
        # Direct post: done. Inbox draft: the creator posted it from the TikTok app.
        target, reason = PUBLISHED, None
    elif answer.status == "SEND_TO_USER_INBOX":
        # Final for drafts: the creator finishes the post in the TikTok app.
        target, reason = SENT_TO_INBOX, None
    elif answer.status == "FAILED":
        if pull_retry_allowed(post, answer.fail_reason):
            retry_pull(post, answer.fail_reason, now=now)
            return
        reason = outcomes.fail_reason_outcome(answer.fail_reason)
        target = reason.state
    else:
        return
    if post.state == target or not may_move(post.state, target):
        return
    if reason is None:
        move(post, target, now=now)
    else:
        move(post, target, now=now, reason_code=answer.fail_reason[:64], reason_text=reason.text)


def _current_attempt(post: store.Post) -> store.PublishAttempt | None:
    return next((a for a in post.attempts if a.state == CONFIRMED), None)


def answer_is_current(post: store.Post, publish_id: str) -> bool:
    """Whether an answer about `publish_id` concerns the post's current publish: one about a
    publish TikTok already ended, the post since sent anew (`retry_pull`, or confirmed again),
    must not move the new one (TikTok's webhooks come late and in any order)."""
    if not publish_id or post.publish_id == publish_id:
        return True
    return not any(a.publish_id == publish_id and a.state == FINISHED for a in post.attempts)


def pull_retry_allowed(post: store.Post, fail_reason: str) -> bool:
    """TikTok could not pull the media, and our media service had not sent every file of the
    attempt's URL: the failure may be ours (the app was down or unreachable), so the post is
    sent again with a new attempt, at most `MAX_PULL_RETRIES` times. Safe: TikTok reported
    that publish failed, and its URL is revoked as the attempt finishes."""
    if fail_reason not in outcomes.PULL_FAILURES:
        return False
    attempt = _current_attempt(post)
    if attempt is None or attempt.source != "PULL_FROM_URL":
        return False
    every_file = (1 << max(1, len(post.media))) - 1
    if attempt.media_served & every_file == every_file:
        return False  # TikTok had every byte: its failure is not ours to repeat
    return _pull_retries(post) < outcomes.MAX_PULL_RETRIES


def _pull_retries(post: store.Post) -> int:
    return sum(
        1 for a in post.attempts if a.state == FINISHED and a.error_code in outcomes.PULL_FAILURES
    )


def retry_pull(post: store.Post, fail_reason: str, *, now: datetime) -> None:
    """End the failed publish's attempt (its URL revoked) and queue the post again; the start
    then asks for fresh creator_info and checks every rule again before a new init."""
    attempt = _current_attempt(post)
    if attempt is not None:
        attempt.error_code = fail_reason[:64]
        move_attempt(attempt, FINISHED, now=now)
    retry = _pull_retries(post)
    post.publish_id = None
    post.tiktok_status = ""
    post.polls = 0
    move(
        post,
        QUEUED,
        now=now,
        reason_code="pull_retry",
        reason_text=outcomes.pull_retry_text(kind=post.kind, retry=retry),
        due_at=now + timedelta(seconds=PULL_RETRY_DELAY_S * retry),
    )


#: An init whose answer was lost is settled once TikTok's windows for it have passed: its media
#: URL was revoked at once (a pull can only fail), and an upload URL lasts an hour (spec §3.3).
AMBIGUOUS_SETTLES_AFTER = timedelta(seconds=max(PULL_DOWNLOAD_TIMEOUT_S, UPLOAD_URL_TTL_S))


def retry_refusal(post: store.Post, *, now: datetime) -> str | None:
    """Why a failed post may not be sent again, or None when TikTok provably did not publish
    it: every init was refused, or TikTok said its publish failed (the pull or the processing),
    and no init's answer is still unknown. A lost answer is waited out, never guessed."""
    if post.state != FAILED:
        return "Only a post that failed can be sent again."
    if any(not item.get("key") for item in post.media):
        return (
            "This post's media was deleted after the app's retention period. Make the post "
            "again on the Post page."
        )
    for attempt in post.attempts:
        if attempt.state in (INIT_SENT, AMBIGUOUS):
            settled = attempt.created_at + AMBIGUOUS_SETTLES_AFTER
            if now < settled:
                return (
                    "TikTok's answer to an earlier try of this post was lost, so it is not yet "
                    "certain that TikTok did not publish it. It can be sent again after "
                    f"{settled:%H:%M} UTC, once TikTok can no longer have it."
                )
        elif attempt.state == CONFIRMED and post.tiktok_status != "FAILED":
            return (
                "TikTok has this post and has not said that publishing it failed, so sending "
                "it again could post it twice. Check your TikTok profile."
            )
    return None


#: A pull that failed because of us is sent again after this long times the retry's number:
#: the worker's check of our media service (`media_check`) holds the init until it answers.
PULL_RETRY_DELAY_S = 2.0


__all__ = [
    "NEW",
    "CancelRoute",
    "TikTokAnswer",
    "TransitionRefused",
    "answer_from_event",
    "answer_from_status",
    "answer_is_current",
    "apply_answer",
    "can_edit",
    "can_reschedule",
    "can_retry",
    "cancel_route",
    "end_with",
    "first_state",
    "is_final",
    "may_move",
    "move",
    "move_attempt",
    "needs_confirmation",
    "pull_retry_allowed",
    "retry_pull",
    "retry_refusal",
]
