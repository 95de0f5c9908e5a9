"""Prepared posts' life (issue 18): prepared by a script, a teammate or an agent; reviewed,
confirmed or rejected by the account's owner on the Post page; withdrawn by the preparer.

Nothing here talks to TikTok and nothing here makes a post: `confirmed` is reached only from
the Post page's confirm route, after the creator chose every control and consented there
(UX-5c). What a preparer suggests is checked by the same limits as the Post page's fields
(caption lengths, the 60-day schedule window, the privacy names) so a mistake is told to the
script at once, not to the creator later; what the creator must choose is never chosen here.

The preparer is told (notifications: in the app, e-mail, their webhook) when the owner confirms
or rejects, and when the post made from it is published or fails (`notify.post_moved`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from directpost.publishing import service
from directpost.rules import limits
from directpost.rules.model import PRIVACY_LABELS, PRIVACY_LEVELS
from directpost.rules.validate import utf16_len
from directpost.store import notifications as notes
from directpost.store import prepared as store
from directpost.store import team
from directpost.store import uploads as upload_store
from directpost.store.accounts import Person, TikTokAccount
from directpost.store.posts import Post

NOTE_MAX: Final = 2000
REASON_MAX: Final = 1000
KEY_MAX: Final = 200

#: A prepared post nobody reviewed within this long expires and its media is removed: the app
#: does not keep someone's media indefinitely for a decision nobody makes.
REVIEW_WITHIN: Final = timedelta(days=30)

EVENTS: Final = {
    store.CONFIRMED: "prepared.confirmed",
    store.REJECTED: "prepared.rejected",
    store.EXPIRED: "prepared.expired",
}


class PrepareRefused(Exception):
    """The request cannot become a prepared post; `problems` say why, in plain words."""

    def __init__(self, problems: list[str], *, status: int = 422) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems
        self.status = status


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What a preparer sends: the media (a checked upload) and what they suggest."""

    account_id: int
    upload_id: str
    title: str = ""
    description: str = ""
    privacy_suggestion: str = ""
    schedule_at: str = ""
    time_zone: str = "UTC"
    note: str = ""

    def digest(self) -> str:
        """The request's fingerprint, to tell a retry from another request with the same key."""
        raw = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _words_problems(kind: str, suggestion: Suggestion) -> list[str]:
    found: list[str] = []
    title_max = limits.PHOTO_TITLE_MAX_UTF16 if kind == "photos" else limits.VIDEO_TITLE_MAX_UTF16
    if utf16_len(suggestion.title) > title_max:
        found.append(f"The caption is too long: TikTok takes at most {title_max} characters.")
    if kind == "video" and suggestion.description:
        found.append("A description goes with photo posts only; put the words in the caption.")
    if utf16_len(suggestion.description) > limits.PHOTO_DESCRIPTION_MAX_UTF16:
        found.append(
            f"The description is too long: at most {limits.PHOTO_DESCRIPTION_MAX_UTF16} characters."
        )
    if suggestion.privacy_suggestion and suggestion.privacy_suggestion not in PRIVACY_LEVELS:
        found.append(
            "privacy_suggestion must be one of " + ", ".join(PRIVACY_LEVELS) + " (or left out)."
        )
    if len(suggestion.note) > NOTE_MAX:
        found.append(f"The note is too long: at most {NOTE_MAX} characters.")
    return found


def prepare(
    session: Session,
    *,
    person: Person,
    preparer_name: str,
    suggestion: Suggestion,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[store.PreparedPost, bool]:
    """Store a prepared post for the owner to review; (the post, made now?).

    A retry with the same idempotency key answers the first request's prepared post (made
    False); the same key with another request is refused (409). The checked upload moves to
    the account's owner: it is theirs to post or to reject.
    """
    digest = suggestion.digest()
    if idempotency_key is not None:
        if not idempotency_key or len(idempotency_key) > KEY_MAX:
            raise PrepareRefused([f"Idempotency-Key must be 1 to {KEY_MAX} characters."])
        earlier = store.by_idempotency_key(session, person_id=person.id, key=idempotency_key)
        if earlier is not None:
            if earlier.request_digest != digest:
                raise PrepareRefused(
                    [
                        "This Idempotency-Key was used for another request. Use a new key for "
                        "a new prepared post."
                    ],
                    status=409,
                )
            return earlier, False
    found = team.preparable_account(session, person_id=person.id, account_id=suggestion.account_id)
    if found is None:
        raise PrepareRefused(
            ["No such account, or you may not prepare posts for it (see GET /api/v1/accounts)."],
            status=404,
        )
    account, _owns = found
    try:
        upload = upload_store.get_upload(
            session, person_id=person.id, upload_id=suggestion.upload_id
        )
    except upload_store.UploadNotFoundError:
        raise PrepareRefused(["No such upload (or not yours): upload the media first."]) from None
    problems: list[str] = []
    if upload.state != "ready":
        problems.append(
            "The upload is not checked and ready yet: finish it (POST .../finish) first."
            if upload.state in ("receiving", "checking")
            else "The upload was rejected by the checks: " + " ".join(upload.problems)
        )
    if upload.account_id not in (None, account.id):
        problems.append("This upload was made for another account.")
    taken = session.scalar(
        select(store.PreparedPost.id).where(store.PreparedPost.upload_id == upload.id).limit(1)
    )
    if taken is not None:
        problems.append(
            f"This upload belongs to prepared post {taken} already: upload the media again for "
            "another prepared post."
        )
    problems.extend(_words_problems(upload.kind, suggestion))
    scheduled_at = None
    zone = suggestion.time_zone or "UTC"
    try:
        scheduled_at, zone = service.parse_schedule(suggestion.schedule_at, zone, now=now)
    except service.PublishRefused as refused:
        problems.extend(v.message for v in refused.violations)
    if problems:
        raise PrepareRefused(problems)
    # The media is the owner's from now on (their data rights, their review); the preparer
    # keeps seeing it through the prepared post only.
    upload.person_id = account.person_id
    upload.account_id = account.id
    prepared = store.PreparedPost(
        account_id=account.id,
        prepared_by=person.id,
        prepared_by_name=preparer_name[:200],
        upload_id=upload.id,
        kind=upload.kind,
        title=suggestion.title,
        description=suggestion.description,
        privacy_suggestion=suggestion.privacy_suggestion,
        schedule_suggestion=scheduled_at,
        time_zone=zone,
        note=suggestion.note,
        state=store.TO_REVIEW,
        reason="",
        idempotency_key=idempotency_key,
        request_digest=digest,
        created_at=now,
    )
    session.add(prepared)
    session.flush()
    return prepared, True


def _media_keys(session: Session, prepared: store.PreparedPost) -> list[str]:
    """Remove the prepared post's upload (nobody will post it); the media-store keys to delete."""
    if prepared.upload_id is None:
        return []
    upload = session.get(upload_store.Upload, prepared.upload_id)
    if upload is None:
        return []
    keys = [upload_store.storage_key(upload.id, f.id) for f in upload.files]
    keys += [f.storage_key for f in upload.files if f.storage_key and f.storage_key not in keys]
    prepared.upload_id = None
    session.delete(upload)
    return keys


def withdraw(
    session: Session, *, person_id: int, prepared_id: int, now: datetime
) -> tuple[store.PreparedPost, list[str]]:
    """The preparer takes back a prepared post still to review; (it, media keys to delete)."""
    prepared = store.get_visible(session, person_id=person_id, prepared_id=prepared_id)
    if prepared is None or prepared.prepared_by != person_id:
        raise PrepareRefused(["No such prepared post (or not one you prepared)."], status=404)
    if prepared.state != store.TO_REVIEW:
        raise PrepareRefused(
            [
                f"This prepared post is {prepared.state.replace('_', ' ')}: it can no longer be "
                "withdrawn."
            ],
            status=409,
        )
    prepared.state = store.WITHDRAWN
    prepared.decided_at = now
    return prepared, _media_keys(session, prepared)


def reject(
    session: Session, *, owner_id: int, prepared_id: int, reason: str, now: datetime
) -> tuple[store.PreparedPost, list[str]]:
    """The owner turns a prepared post down, with a reason the preparer reads."""
    prepared = store.get_for_owner(session, person_id=owner_id, prepared_id=prepared_id)
    if prepared is None:
        raise PrepareRefused(["No such prepared post."], status=404)
    if prepared.state != store.TO_REVIEW:
        raise PrepareRefused(["This prepared post has been decided already."], status=409)
    prepared.state = store.REJECTED
    prepared.reason = reason.strip()[:REASON_MAX]
    prepared.decided_at = now
    _tell_preparer(session, prepared, event=EVENTS[store.REJECTED], now=now)
    return prepared, _media_keys(session, prepared)


def expire_unreviewed(session: Session, *, now: datetime) -> list[str]:
    """Expire prepared posts nobody reviewed within `REVIEW_WITHIN` (a batch); their preparers
    are told; the media-store keys to delete."""
    keys: list[str] = []
    for prepared in store.unreviewed_since(session, before=now - REVIEW_WITHIN):
        prepared.state = store.EXPIRED
        prepared.decided_at = now
        keys += _media_keys(session, prepared)
        _tell_preparer(session, prepared, event=EVENTS[store.EXPIRED], now=now)
    return keys


def confirmed(session: Session, prepared: store.PreparedPost, post: Post, *, now: datetime) -> None:
    """The owner confirmed it on the Post page and `post` was made, in this transaction.

    One conditional update: of two confirmations at once (two tabs, a double click), one
    moves it and the other is refused with `PrepareRefused` (409) and rolls its post back.
    """
    moved = session.execute(
        update(store.PreparedPost)
        .where(store.PreparedPost.id == prepared.id, store.PreparedPost.state == store.TO_REVIEW)
        .values(state=store.CONFIRMED, post_id=post.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):
        raise PrepareRefused(["This prepared post has been decided already."], status=409)
    session.refresh(prepared)
    if prepared.prepared_by is not None and prepared.prepared_by != post.person_id:
        post.prepared_by = prepared.prepared_by
    _tell_preparer(session, prepared, event=EVENTS[store.CONFIRMED], now=now, post=post)


def _owner_of(session: Session, prepared: store.PreparedPost) -> int | None:
    return session.scalar(
        select(TikTokAccount.person_id).where(TikTokAccount.id == prepared.account_id)
    )


def _channels(session: Session, person_id: int) -> notes.Channels:
    row = notes.get_settings(session, person_id=person_id)
    return notes.channels_of(row)


def _tell_preparer(
    session: Session,
    prepared: store.PreparedPost,
    *,
    event: str,
    now: datetime,
    post: Post | None = None,
    state: str = "",
) -> None:
    """One notification to whoever prepared it (in this transaction: an outbox)."""
    if prepared.prepared_by is None:
        return
    account_name = session.scalar(
        select(TikTokAccount.display_name).where(TikTokAccount.id == prepared.account_id)
    )
    channels = _channels(session, prepared.prepared_by)
    if (post is not None and post.person_id == prepared.prepared_by) or (
        event == EVENTS[store.REJECTED] and _owner_of(session, prepared) == prepared.prepared_by
    ):
        # The owner decided on what they prepared themselves (a bulk batch, their own script):
        # no message telling them what they just did; their script's webhook still hears it.
        channels = notes.Channels(in_app=False, webhook_url=channels.webhook_url)
    notification = notes.add_notification(
        session,
        person_id=prepared.prepared_by,
        channels=channels,
        event=event,
        now=now,
        post_id=post.id if post is not None and post.person_id == prepared.prepared_by else None,
        state=state or prepared.state,
        title=prepared.title,
        account_name=account_name or "",
        reason=prepared.reason,
        scheduled_at=prepared.schedule_suggestion,
    )
    notification.prepared_id = prepared.id


def tell_preparer_of_post(
    session: Session, post: Any, *, event: str, state: str, now: datetime
) -> None:
    """A post made from a prepared post ended (published, failed): its preparer is told too."""
    prepared = store.by_post(session, post_id=post.id)
    if prepared is None or prepared.prepared_by is None:
        return
    _tell_preparer(session, prepared, event=event, now=now, state=state)


def suggestion_words(prepared: store.PreparedPost) -> str:
    """The privacy suggestion as the Post page shows it (text beside the unchosen control)."""
    return PRIVACY_LABELS.get(prepared.privacy_suggestion, "")


def withdraw_all_of(session: Session, *, person_id: int, now: datetime) -> list[str]:
    """Before the person's data is deleted (DG-5): withdraw everything they prepared that still
    waits for review, removing its media; the media-store keys to delete. (The rows themselves
    go with the person: `store.person_data.DELETED_WITH_PERSON`.)"""
    keys: list[str] = []
    waiting = session.scalars(
        select(store.PreparedPost).where(
            store.PreparedPost.prepared_by == person_id,
            store.PreparedPost.state == store.TO_REVIEW,
        )
    )
    for prepared in list(waiting):
        prepared.state = store.WITHDRAWN
        prepared.decided_at = now
        keys.extend(_media_keys(session, prepared))
    session.flush()
    return keys
