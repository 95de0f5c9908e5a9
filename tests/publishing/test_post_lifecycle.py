"""A post's life is one table: every move it allows works, every other move is refused, and
TikTok's answer means the same whether it came by polling or by webhook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from directpost import tiktok
from directpost.publishing import lifecycle, states
from directpost.store import posts as store
from directpost.store.base import utcnow

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=utcnow().tzinfo)
ALL_PAIRS = [(s, t) for s in states.POST_STATES for t in states.POST_STATES]


@dataclass
class _Post:
    """The fields `lifecycle` reads and writes, without a database."""

    state: str
    reason_code: str = ""
    reason_text: str = ""
    log_id: str = ""
    due_at: datetime = NOW
    updated_at: datetime = NOW
    finished_at: datetime | None = None
    publish_id: str | None = "p-1"
    post_ids: list[str] = field(default_factory=list)
    publicly_available: bool = False
    tiktok_status: str = ""
    attempts: list[store.PublishAttempt] = field(default_factory=list)


def _attempt(state: str, token: str | None = "tok") -> store.PublishAttempt:
    return store.PublishAttempt(
        number=1, source="PULL_FROM_URL", state=state, media_token=token, token_revoked_at=None
    )


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS)
def test_every_post_move_is_allowed_exactly_when_the_table_has_it(source: str, target: str) -> None:
    post = _Post(state=source, attempts=[_attempt(states.CONFIRMED)])
    if target in states.TRANSITIONS[source]:
        lifecycle.move(post, target, now=NOW, reason_text="why")
        assert post.state == target
        assert post.reason_text == "why"
        # A post that ends stops serving media to TikTok; one that lives again is unfinished.
        assert (post.finished_at == NOW) is (target in states.FINAL_STATES)
        revoked = post.attempts[0].token_revoked_at is not None
        assert revoked is (target in states.FINAL_STATES)
    else:
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.move(post, target, now=NOW)
        assert post.state == source, "a refused move changes nothing"


def test_the_table_names_every_state_and_every_state_is_reachable() -> None:
    assert set(states.TRANSITIONS) == {states.NEW, *states.POST_STATES}
    reached = {t for targets in states.TRANSITIONS.values() for t in targets}
    assert reached == set(states.POST_STATES)
    # What ends a post stays ended, except that a draft in the inbox may still be posted and a
    # post waiting for the creator may be sent again once confirmed; a post held by a lockdown
    # (TOS-2) may still hear from TikTok that what it already had went out.
    for state in states.FINAL_STATES:
        heard_from_tiktok = {states.SENT_TO_INBOX} if state == states.HELD else set()
        assert states.TRANSITIONS[state] <= {
            states.PUBLISHED,
            states.SCHEDULED,
            states.QUEUED,
            states.CANCELLED,
            *heard_from_tiktok,
        }


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in states.ATTEMPT_TRANSITIONS if s for t in states.ATTEMPT_TRANSITIONS if t],
)
def test_every_attempt_move_is_allowed_exactly_when_the_table_has_it(
    source: str, target: str
) -> None:
    attempt = _attempt(source)
    if target in states.ATTEMPT_TRANSITIONS[source]:
        lifecycle.move_attempt(attempt, target, now=NOW)
        assert attempt.state == target
        # Only a confirmed attempt keeps its media URL: an ambiguous init's ghost must fail.
        assert (attempt.token_revoked_at is None) is (target == states.CONFIRMED)
    else:
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.move_attempt(attempt, target, now=NOW)
        assert attempt.state == source


def _event(kind: type[Any], **extra: Any) -> Any:
    return kind(
        client_key="k",
        event="post.publish.x",
        create_time=0,
        user_openid="o",
        content={},
        publish_id="p-1",
        publish_type="DIRECT_PUBLISH",
        **extra,
    )


#: The same news from TikTok, as status/fetch says it and as a webhook says it.
SAME_NEWS = [
    (tiktok.PublishStatus("PUBLISH_COMPLETE"), _event(tiktok.PublishCompleteEvent)),
    (tiktok.PublishStatus("SEND_TO_USER_INBOX"), _event(tiktok.InboxDeliveredEvent)),
    (
        tiktok.PublishStatus("FAILED", fail_reason="video_pull_failed"),
        _event(tiktok.PublishFailedEvent, reason="video_pull_failed"),
    ),
    (
        tiktok.PublishStatus("FAILED", fail_reason="spam_risk_too_many_posts"),
        _event(tiktok.PublishFailedEvent, reason="spam_risk_too_many_posts"),
    ),
    (
        tiktok.PublishStatus("FAILED", fail_reason="publish_cancelled"),
        _event(tiktok.PublishFailedEvent, reason="publish_cancelled"),
    ),
]


@pytest.mark.parametrize("source", states.POST_STATES)
@pytest.mark.parametrize(("status", "event"), SAME_NEWS)
def test_polling_and_webhooks_move_a_post_the_same_way_UX_5e(
    source: str, status: tiktok.PublishStatus, event: Any
) -> None:
    polled, told = _Post(state=source), _Post(state=source)
    lifecycle.apply_answer(polled, lifecycle.answer_from_status(status), now=NOW)  # type: ignore[arg-type]
    answer = lifecycle.answer_from_event(event)
    assert answer is not None
    lifecycle.apply_answer(told, answer, now=NOW)  # type: ignore[arg-type]
    assert (polled.state, polled.reason_code, polled.reason_text) == (
        told.state,
        told.reason_code,
        told.reason_text,
    )
    assert polled.state == source or polled.state in states.TRANSITIONS[source]
    if source in states.WAITING_STATES:
        assert polled.state == source, "news of an earlier round's publish changes nothing"


def test_a_late_processing_answer_never_moves_a_published_post_back() -> None:
    post = _Post(state=states.PUBLISHED)
    lifecycle.apply_answer(post, lifecycle.TikTokAnswer(status="PROCESSING_DOWNLOAD"), now=NOW)  # type: ignore[arg-type]
    assert post.state == states.PUBLISHED


def test_a_public_post_id_is_kept_as_a_string_even_after_the_post_ended() -> None:
    post = _Post(state=states.PUBLISHED)
    event = _event(tiktok.PubliclyAvailableEvent, post_id="7234567890123456789")
    lifecycle.apply_answer(post, lifecycle.answer_from_event(event), now=NOW)  # type: ignore[arg-type]
    assert post.post_ids == ["7234567890123456789"]
    assert post.publicly_available is True


@pytest.mark.parametrize("source", states.POST_STATES)
def test_the_questions_pages_ask_follow_the_table(source: str) -> None:
    route = lifecycle.cancel_route(source, pulled=True, tiktok_status="")
    assert (route == "now") is (
        states.CANCELLED in states.TRANSITIONS[source]
        and source not in (states.PUBLISHING, states.PROCESSING)
    )
    assert (route == "ask_tiktok") is (source in (states.PUBLISHING, states.PROCESSING))
    if lifecycle.can_reschedule(source):
        assert {states.SCHEDULED, states.QUEUED} <= states.TRANSITIONS[source]
    if lifecycle.can_retry(source):
        assert states.QUEUED in states.TRANSITIONS[source]
    assert lifecycle.is_final(source) is (source in states.FINAL_STATES)


def test_cancelling_at_tiktok_is_offered_only_while_it_downloads_a_pulled_post() -> None:
    assert lifecycle.cancel_route(states.PROCESSING, pulled=False, tiktok_status="") is None
    assert (
        lifecycle.cancel_route(states.PROCESSING, pulled=True, tiktok_status="PROCESSING_UPLOAD")
        is None
    )
    assert (
        lifecycle.cancel_route(
            states.PROCESSING, pulled=True, tiktok_status="", cancel_requested=True
        )
        is None
    )


def test_a_new_post_starts_scheduled_or_queued() -> None:
    assert lifecycle.first_state(NOW + timedelta(hours=1), NOW) == (
        states.SCHEDULED,
        NOW + timedelta(hours=1),
    )
    assert lifecycle.first_state(None, NOW) == (states.QUEUED, NOW)
    assert lifecycle.first_state(NOW - timedelta(seconds=5), NOW) == (states.QUEUED, NOW)
