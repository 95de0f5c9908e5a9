"""The rules' inputs read from this app's own records: one query for the caps' counts, turned into
the `AppPolicy` that `rules.validate` decides with (the arithmetic lives in `rules.caps`).

The Post page, the publish route and the publish job all ask here, once per request or start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from directpost import rules
from directpost.config import Settings
from directpost.rules.limits import CAP_WINDOW_HOURS
from directpost.store import posts as store


def posting_policy(
    session: Session, settings: Settings, *, open_id: str, now: datetime
) -> rules.AppPolicy:
    """What the app may do for this creator now (CAP-1, CAP-2, CAP-3, CAP-5), in one query."""
    counts = store.cap_standing(
        session, open_id=open_id, since=now - timedelta(hours=CAP_WINDOW_HOURS)
    )
    return rules.app_policy(
        audited=settings.app_audited,
        configured_creator_cap=settings.creator_cap_per_day,
        creators_posted=counts.creators_posted,
        creator_posted=counts.creator_posted,
        posts_started=counts.started,
        inbox_started=counts.inbox_started,
    )
