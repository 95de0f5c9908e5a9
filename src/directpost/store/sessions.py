"""Browser sessions kept on the server (TOS-1), and the operator sign-in throttle.

A session is a row: the cookie carries only a random token, and the row's key is the token's
SHA-256, so a copy of the database holds no live cookie. The row holds what the app remembers
for a browser (who is signed in, the CSRF token, a sign-in in progress, the last creator_info
snapshot) as JSON, with `person_id` copied into a column of its own so that one statement can
read the session together with its person and accounts (the Post page's budget: issue 11), and
so that one statement ends all of a person's sessions.

Ending a session is deleting its row: a cookie copied before sign-out, disconnect, delete or a
lockdown then names nothing on every process at once, because every request reads the row.
Idle and absolute timeouts are checked on each read (`is_current`); expired rows are removed
by `delete_expired`, which the web app calls now and then when it creates a session.

`SignInThrottle` counts wrong operator tokens per client address and in total, in the same
database, so every process shares one lockout (item 7 of issue 15).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, with_expression

from directpost.store.accounts import Person
from directpost.store.base import Base, UTCDateTime, utcnow
from directpost.store.notifications import unread_count_of
from directpost.store.prepared import to_review_count_of

#: The data key whose value is copied into `WebSession.person_id`.
PERSON_KEY = "person_id"


class WebSession(Base):
    """One browser's session: its data, who it signs in, when it began and was last used."""

    __tablename__ = "web_sessions"

    #: SHA-256 (hex) of the cookie's random token: the token itself is never stored.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, default=utcnow)


class SignInThrottle(Base):
    """Wrong operator tokens from one client address (or `GLOBAL_KEY`: from anyone)."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


def session_key(token: str) -> str:
    """The row key for a cookie's token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a session lives: since its last use (idle) and since it began (absolute)."""

    idle: timedelta
    absolute: timedelta

    def is_current(self, row: WebSession, now: datetime) -> bool:
        return now - row.last_seen_at < self.idle and now - row.created_at < self.absolute


#: The person's accounts, their unread notifications and the prepared posts waiting for them,
#: for the header's badges (subqueries: no statement of their own).
_WITH_ACCOUNTS = (
    joinedload(Person.accounts),
    with_expression(Person.unread_notifications, unread_count_of(Person.id)),
    with_expression(Person.to_review, to_review_count_of(Person.id)),
)


def read_session(
    db: Session, *, key: str, timeouts: Timeouts, now: datetime
) -> tuple[WebSession | None, Person | None]:
    """The session (None when unknown or expired) and its signed-in person with their accounts,
    in one statement: pages that show who is signed in pay nothing more for the session."""
    found = (
        db.execute(
            select(WebSession, Person)
            .outerjoin(Person, Person.id == WebSession.person_id)
            .options(*_WITH_ACCOUNTS)
            .where(WebSession.id == key)
        )
        .unique()
        .first()
    )
    if found is None:
        return None, None
    row, person = found
    if not timeouts.is_current(row, now):
        return None, None
    return row, person


def save_session(
    db: Session,
    *,
    key: str,
    data: dict[str, Any],
    now: datetime,
    created_at: datetime | None = None,
) -> None:
    """Write a session's data and mark it used now (creates the row when new)."""
    person = data.get(PERSON_KEY)
    row = db.get(WebSession, key)
    if row is None:
        row = WebSession(id=key, created_at=created_at or now)
        db.add(row)
    row.data = dict(data)
    row.person_id = person if isinstance(person, int) else None
    row.last_seen_at = now


def end_session(db: Session, *, key: str) -> None:
    """Forget one session (sign-out, a new id at sign-in, an expired row)."""
    db.execute(delete(WebSession).where(WebSession.id == key))


def end_person_sessions(db: Session, *, person_id: int, keep: str | None = None) -> int:
    """End every session of a person (disconnect, delete-everything), but `keep`'s; the count."""
    statement = delete(WebSession).where(WebSession.person_id == person_id)
    if keep is not None:
        statement = statement.where(WebSession.id != keep)
    return int(db.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def end_creator_sessions(db: Session) -> int:
    """End every signed-in creator's session (a lockdown, TOS-2); the count."""
    result = db.execute(delete(WebSession).where(WebSession.person_id.is_not(None)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_expired(db: Session, *, timeouts: Timeouts, now: datetime) -> int:
    """Remove the sessions no request can use any more; the count."""
    result = db.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at <= now - timeouts.idle)
            | (WebSession.created_at <= now - timeouts.absolute)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- the operator sign-in throttle -----------------------------------------------------------

GLOBAL_KEY = "global"


@dataclass(frozen=True, slots=True)
class Backoff:
    """When wrong tokens lock a key out, and for how long (doubling, capped)."""

    #: Wrong tokens allowed before a lock: the next one locks for `first_lock`.
    free_failures: int
    first_lock: timedelta
    longest_lock: timedelta
    #: Failures older than this are forgotten.
    forget_after: timedelta

    def lock_for(self, failures: int) -> timedelta | None:
        over = failures - self.free_failures - 1
        if over < 0:
            return None
        seconds = self.first_lock.total_seconds() * 2 ** min(over, 30)
        return min(timedelta(seconds=seconds), self.longest_lock)


def locked_until(db: Session, *, keys: tuple[str, ...], now: datetime) -> datetime | None:
    """The latest lock among `keys` still in force at `now`, if any."""
    rows = db.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))).all()
    ends = [row.locked_until for row in rows if row.locked_until and row.locked_until > now]
    return max(ends) if ends else None


def record_failure(db: Session, *, key: str, backoff: Backoff, now: datetime) -> datetime | None:
    """Count one wrong token for `key`; the end of the lock it now earns, if any.

    Read-modify-write under the row's lock on PostgreSQL (`with_for_update`); SQLite serialises
    writers anyway. Two processes racing on a first failure may both insert: the loser's
    IntegrityError is the caller's to retry or ignore (it only loses one count)."""
    row = db.scalars(
        select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()
    ).first()
    if row is None:
        row = SignInThrottle(key=key, failures=0, last_failure_at=now)
        db.add(row)
    elif now - row.last_failure_at > backoff.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    lock = backoff.lock_for(row.failures)
    row.locked_until = now + lock if lock is not None else None
    return row.locked_until


def clear_failures(db: Session, *, key: str) -> None:
    """A right token: this address starts afresh (the global count is left to age out)."""
    db.execute(delete(SignInThrottle).where(SignInThrottle.key == key))
