"""The person is told when a post needs them or ends: which moves make an event, and the event
written in the same transaction as the move (an outbox).

`lifecycle.move` calls `post_moved` for every move; a move to one of `EVENTS`' states adds a
notification, and a delivery per channel the person has (`store.notifications`), to the session
that holds the post. So the event exists exactly when the move is committed: a rolled-back move
tells nobody, and a committed one is never forgotten (a worker sends the deliveries later,
`notify_delivery`; nothing is sent from inside the transaction that moves a post).

Why the post's own session (`inspect(post).session`) rather than a relationship on `Post`: the
lifecycle functions take a loaded post and no session, and a write-only collection on `Post`
would make the posts' models know of notifications; the session the post is attached to is
the transaction the move commits in, which is exactly the one the outbox needs. A post not
attached to a session (built in memory by a test) is not stored either: nothing to tell.

What a notification holds is chosen here and nowhere else: the post's id, state, title,
account nickname, the reason shown on its page and its scheduled time. Never a token, a media
URL or a publish_id (tests scan every notification and delivery for the account's tokens).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import inspect, select

from directpost.publishing import states
from directpost.store import notifications as store
from directpost.store.accounts import TikTokAccount

#: The moves that make an event, and the event's name (webhook `event`, e-mail subject).
EVENTS: Final[dict[str, str]] = {
    states.NEEDS_CONFIRMATION: "post.needs_confirmation",
    states.FAILED: "post.failed",
    states.PUBLISHED: "post.published",
    # The draft waits in the creator's TikTok inbox: only they can finish it, in TikTok.
    states.SENT_TO_INBOX: "post.sent_to_inbox",
}
#: The event a person sends themselves from the settings page.
TEST_EVENT: Final = "test"


def post_moved(post: Any, target: str, *, now: datetime) -> None:
    """Record the event of a move to `target`, if it makes one, in the post's transaction.

    `post` is the store's `Post` (typed loosely: `lifecycle` moves anything shaped like one).
    One statement reads the account's nickname and the person's channels together (columns, no
    objects), one or two insert the event.
    """
    event = EVENTS.get(target)
    if event is None:
        return
    state = inspect(post, raiseerr=False)  # None: not a mapped object (a test's stand-in)
    session = state.session if state is not None else None
    if session is None:
        return
    Settings = store.NotificationSettings
    found = session.execute(
        select(
            TikTokAccount.display_name,
            Settings.in_app,
            Settings.email_address,
            Settings.webhook_url,
            Settings.webhook_secret_enc.is_not(None),
        )
        .outerjoin(Settings, Settings.person_id == TikTokAccount.person_id)
        .where(TikTokAccount.id == post.account_id)
    ).first()
    channels = store.Channels()  # a person who never opened the settings: in the app only
    nickname = ""
    if found is not None:
        nickname = found[0] or ""
        if found[1] is not None:  # the person has a settings row
            channels = store.Channels(
                in_app=bool(found[1]),
                email_address=found[2] or "",
                webhook_url=(found[3] or "") if found[4] else "",
            )
    store.record_event(
        session,
        person_id=post.person_id,
        channels=channels,
        event=event,
        now=now,
        post_id=post.id,
        state=target,
        title=str((post.choices or {}).get("title") or ""),
        account_name=nickname,
        reason=post.reason_text or "",
        scheduled_at=post.scheduled_at,
    )
    if getattr(post, "prepared_by", None) is not None and target != states.NEEDS_CONFIRMATION:
        # Prepared by a teammate or their script (issue 18): they are told how it ended too.
        # Imported here: `prepared` builds on the service, which moves posts through here.
        from directpost.publishing.prepared import tell_preparer_of_post

        tell_preparer_of_post(session, post, event=event, state=target, now=now)
