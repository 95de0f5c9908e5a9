"""What the web app asks of publishing: record a consented post, edit or cancel it, re-confirm.

`submit_post` is the only way a post is created: the draft is validated on the server with
`rules.validate` against a creator_info fetched for this request, the caps are checked, and the
post is stored with its consent record (UX-5c) before any job can see it. Nothing reaches TikTok
here; the worker does that, from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from directpost.config import Settings
from directpost.publishing import lifecycle, states
from directpost.publishing.drafts import creator_facts_to_json, draft_to_choices
from directpost.publishing.policy import posting_policy
from directpost.rules import texts
from directpost.rules.model import CreatorFacts, Draft, Violation
from directpost.rules.validate import validate
from directpost.store import posts as store
from directpost.store.base import utcnow

#: How far ahead a post may be scheduled.
MAX_SCHEDULE_AHEAD = timedelta(days=60)


class PublishRefused(Exception):
    """The post cannot be accepted; `violations` say why, in plain words, with rule ids."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(" ".join(v.message for v in violations))
        self.violations = violations


class PostNotEditable(Exception):
    """The post has started (or finished): it can no longer be changed or cancelled here."""


def parse_schedule(
    value: str, zone_name: str, *, now: datetime | None = None
) -> tuple[datetime | None, str]:
    """A schedule time typed in the creator's zone ("2026-11-23T09:30") as UTC, plus the zone.

    Empty means "now". Raises `PublishRefused` with a clear sentence for a bad time or zone.
    """
    value = value.strip()
    zone_name = zone_name.strip() or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PublishRefused(
            [Violation("schedule", f"Unknown time zone {zone_name!r}; pick one from the list.")]
        ) from exc
    if not value:
        return None, zone_name
    try:
        local = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PublishRefused(
            [Violation("schedule", "The schedule time is not a date and time; pick it again.")]
        ) from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    when = local.astimezone(ZoneInfo("UTC"))
    now = now or utcnow()
    if when < now - timedelta(minutes=1):
        raise PublishRefused(
            [Violation("schedule", "The schedule time has passed; pick a time in the future.")]
        )
    if when > now + MAX_SCHEDULE_AHEAD:
        raise PublishRefused(
            [Violation("schedule", "Posts can be scheduled at most 60 days ahead.")]
        )
    return when, zone_name


@dataclass(frozen=True, slots=True)
class Submission:
    """Everything the publish route knows when the creator presses publish."""

    person_id: int
    account_id: int
    open_id: str
    creator: CreatorFacts
    draft: Draft
    media: list[dict[str, Any]]
    upload_id: str | None
    scheduled_at: datetime | None
    time_zone: str


def _require_valid(
    session: Session,
    settings: Settings,
    open_id: str,
    creator: CreatorFacts,
    draft: Draft,
    now: datetime,
) -> None:
    """`rules.validate` with the caps' counts (one query); `PublishRefused` names what breaks."""
    problems = validate(creator, draft, posting_policy(session, settings, open_id=open_id, now=now))
    if problems:
        raise PublishRefused(problems)


def _consent_words(draft: Draft) -> tuple[str, str]:
    """The declaration and the label prompt the creator saw for this draft (UX-5c)."""
    declaration = texts.declaration(
        branded_content=draft.disclose_commercial and draft.branded_content
    ).text
    label = ""
    if draft.disclose_commercial:
        label = (
            texts.label_prompt(
                draft.media.kind, your_brand=draft.your_brand, branded_content=draft.branded_content
            )
            or ""
        )
    return declaration, label


def submit_post(
    session: Session, *, settings: Settings, submission: Submission, now: datetime | None = None
) -> store.Post:
    """Validate, check caps, and store the post with its consent record (UX-5c).

    Raises `PublishRefused` when a rule or cap forbids it; nothing is stored then.
    """
    now = now or utcnow()
    draft = submission.draft
    _require_valid(session, settings, submission.open_id, submission.creator, draft, now)
    kind = "photos" if draft.media.kind == "photos" else "video"
    declaration, label = _consent_words(draft)
    state, due_at = lifecycle.first_state(submission.scheduled_at, now)
    return store.create_post(
        session,
        person_id=submission.person_id,
        account_id=submission.account_id,
        open_id=submission.open_id,
        kind=kind,
        mode=draft.mode,
        choices=draft_to_choices(draft),
        media=submission.media,
        upload_id=submission.upload_id,
        scheduled_at=submission.scheduled_at,
        time_zone=submission.time_zone,
        state=state,
        due_at=due_at,
        creator_info=creator_facts_to_json(submission.creator),
        declaration=declaration,
        label=label,
        now=now,
    )


def cancel_post(
    session: Session, *, person_id: int, post_id: int, now: datetime | None = None
) -> store.Post:
    """Cancel a post that has not started; while TikTok is still downloading it, ask TikTok to
    cancel (the job does, at its next look). Raises `PostNotEditable` otherwise."""
    now = now or utcnow()
    post = store.get_post(session, post_id=post_id, person_id=person_id)
    if post is None:
        raise LookupError("no such post")
    route = lifecycle.cancel_route(
        post.state,
        pulled=any(a.source == "PULL_FROM_URL" for a in post.attempts),
        tiktok_status=post.tiktok_status,
    )
    if route == "now":
        lifecycle.move(
            post,
            states.CANCELLED,
            now=now,
            reason_code="cancelled",
            reason_text="You cancelled this post; nothing was posted.",
        )
        return post
    if route == "ask_tiktok":
        # The job asks TikTok at its next look, which is now.
        post.cancel_requested = True
        post.due_at = now
        post.updated_at = now
        return post
    raise PostNotEditable("This post has already gone to TikTok and can no longer be cancelled.")


def reschedule_post(
    session: Session,
    *,
    person_id: int,
    post_id: int,
    scheduled_at: datetime | None,
    time_zone: str,
    now: datetime | None = None,
) -> store.Post:
    """Move a post that has not started to another time (None: now)."""
    now = now or utcnow()
    post = store.get_post(session, post_id=post_id, person_id=person_id)
    if post is None:
        raise LookupError("no such post")
    if not lifecycle.can_reschedule(post.state):
        raise PostNotEditable("This post has already started; it can no longer be rescheduled.")
    post.scheduled_at = scheduled_at
    post.time_zone = time_zone
    state, due_at = lifecycle.first_state(scheduled_at, now)
    lifecycle.move(post, state, now=now, due_at=due_at)
    post.enqueued_until = None
    return post


@dataclass(frozen=True, slots=True)
class Edit:
    """What an edit on the Post page changes besides the choices: the media and the time."""

    media: list[dict[str, Any]]
    upload_id: str | None
    scheduled_at: datetime | None
    time_zone: str


def reconfirm_post(
    session: Session,
    *,
    settings: Settings,
    person_id: int,
    post_id: int,
    creator: CreatorFacts,
    draft: Draft,
    edit: Edit | None = None,
    now: datetime | None = None,
) -> store.Post:
    """The creator confirmed (possibly changed) choices for a post that has not started, needed
    confirmation, was told to try later, or failed where TikTok provably did not publish it:
    validate again against fresh creator_info, record a new consent (the earlier ones kept),
    queue it again. `edit`: new media and time from the Post page (issue 17)."""
    now = now or utcnow()
    post = store.get_post(session, post_id=post_id, person_id=person_id)
    if post is None:
        raise LookupError("no such post")
    if post.state == states.FAILED:  # sent again only where TikTok provably did not publish
        refusal = lifecycle.retry_refusal(post, now=now)
        if refusal is not None:
            raise PostNotEditable(refusal)
    elif not lifecycle.can_edit(post.state):
        raise PostNotEditable("This post has already gone to TikTok; it can no longer be changed.")
    if edit is not None and _held_at_tiktok(post):
        raise PostNotEditable(
            "TikTok already has this post, so it can only be confirmed as it was, not changed."
        )
    _require_valid(session, settings, post.open_id, creator, draft, now)
    choices = draft_to_choices(draft)
    post.choices = choices
    post.mode = draft.mode
    if edit is not None:
        post.kind = "photos" if draft.media.kind == "photos" else "video"
        post.media = edit.media
        post.upload_id = edit.upload_id
        post.scheduled_at = edit.scheduled_at
        post.time_zone = edit.time_zone
    # A publish that TikTok ended (a "try later" failure) is over: the next one starts anew.
    # A post held by a lockdown (TOS-2) while TikTok had its publish keeps it: the job then
    # follows that publish, and never sends the post a second time.
    if not _held_at_tiktok(post):
        for attempt in post.attempts:
            if attempt.state == states.CONFIRMED:
                lifecycle.move_attempt(attempt, states.FINISHED, now=now)
        post.publish_id = None
        post.tiktok_status = ""
    post.polls = 0
    declaration, label = _consent_words(draft)
    store.add_consent(
        post,
        creator_info=creator_facts_to_json(creator),
        declaration=declaration,
        label=label,
        choices=choices,
        now=now,
    )
    state, due_at = lifecycle.first_state(post.scheduled_at, now)
    lifecycle.move(post, state, now=now, due_at=due_at)
    post.tries = 0
    post.enqueued_until = None
    return post


def _held_at_tiktok(post: store.Post) -> bool:
    """Held by a lockdown after TikTok answered its init: that publish may still go out."""
    return post.state == states.HELD and any(
        attempt.state == states.CONFIRMED for attempt in post.attempts
    )
