"""The lockdown switch (TOS-2): one row per lockdown, the open one stops all traffic to TikTok.

A lockdown is a row with no `lifted_at`. Every process reads it before every TikTok request
(`SwitchReader`: one indexed read on a table of a handful of rows), so a lockdown started on one
machine stops the others at their next request. Rows are never deleted: the history of who
stopped the app and who brought it back is the record the operator page shows (and a purge
keeps: it holds no TikTok information).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Engine, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from directpost.store.base import Base, UTCDateTime, utcnow


class Lockdown(Base):
    """One lockdown: who started it and when, what it did, and who lifted it."""

    __tablename__ = "lockdowns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500), default="")
    #: What the lockdown did: tokens revoked, revocations that failed, posts held.
    report: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True, default=None)
    lifted_by: Mapped[str | None] = mapped_column(String(200), default=None)


@dataclass(frozen=True, slots=True)
class LockdownView:
    """A lockdown as pages and commands show it."""

    id: int
    started_at: datetime
    started_by: str
    reason: str
    report: dict[str, object]
    lifted_at: datetime | None
    lifted_by: str | None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


def _view(row: Lockdown) -> LockdownView:
    return LockdownView(
        id=row.id,
        started_at=row.started_at,
        started_by=row.started_by,
        reason=row.reason,
        report=dict(row.report or {}),
        lifted_at=row.lifted_at,
        lifted_by=row.lifted_by,
    )


_IS_LOCKED = "SELECT 1 FROM lockdowns WHERE lifted_at IS NULL LIMIT 1"


class SwitchReader:
    """Reads the switch before every TikTok request, on a connection of its own per thread.

    Not through the pool: under load every pooled connection may be lent to a request's reads,
    and the gate, which runs on the event loop's thread too, would then wait for one (a busy
    Post page stalled the loop so). Each thread keeps one DBAPI connection in autocommit, so a
    read holds no transaction open (no snapshot kept on PostgreSQL, no WAL checkpoint held back
    on SQLite) and costs one statement: microseconds on SQLite, one round trip on PostgreSQL.
    A connection the server dropped is replaced once; a database that is down raises, and no
    request leaves (fail closed). The connections of threads that ended are closed when the
    next one opens, and all of them by `close()` or when the reader is collected."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        #: thread ident -> (the thread, its connection)
        self._held: dict[int, tuple[threading.Thread, Any]] = {}
        self._finalizer = weakref.finalize(self, _close_all, self._held, self._lock)

    def locked(self) -> bool:
        """Whether a lockdown is on now."""
        error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        for attempt in (1, 2):
            connection = self._connection()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(_IS_LOCKED)
                    return cursor.fetchone() is not None
                finally:
                    cursor.close()
            except error:
                self._forget(connection)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every connection the reader holds (the end of the process's services)."""
        self._finalizer()

    def _connection(self) -> Any:
        me = threading.current_thread()
        with self._lock:
            held = self._held.get(me.ident or 0)
            if held is not None and held[0] is me:
                return held[1]
            for ident, (thread, connection) in list(self._held.items()):
                if not thread.is_alive():
                    del self._held[ident]
                    _close_quietly(connection)
            pooled = self._engine.raw_connection()
            pooled.detach()  # this thread's own from now on, never lent to anyone else
            connection = pooled.dbapi_connection
            assert connection is not None  # a checked-out connection always has one
            self._engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
            self._held[me.ident or 0] = (me, connection)
            return connection

    def _forget(self, connection: Any) -> None:
        with self._lock:
            for ident, (_thread, held) in list(self._held.items()):
                if held is connection:
                    del self._held[ident]
        _close_quietly(connection)


def _close_quietly(connection: Any) -> None:
    with contextlib.suppress(Exception):  # already broken: closing it is all that is left
        connection.close()


def _close_all(held: dict[int, tuple[threading.Thread, Any]], lock: threading.Lock) -> None:
    with lock:
        connections = [connection for _thread, connection in held.values()]
        held.clear()
    for connection in connections:
        _close_quietly(connection)


def is_locked(engine: Engine) -> bool:
    """Whether a lockdown is on now (one read on a pooled connection: for commands and pages;
    the gate before each TikTok request uses a `SwitchReader`)."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(_IS_LOCKED).first() is not None


def active_lockdown(session: Session) -> LockdownView | None:
    """The lockdown that is on, if any."""
    row = session.scalars(
        select(Lockdown).where(Lockdown.lifted_at.is_(None)).order_by(Lockdown.id.desc())
    ).first()
    return _view(row) if row is not None else None


def recent_lockdowns(session: Session, *, limit: int = 5) -> list[LockdownView]:
    """The latest lockdowns, newest first (the operator page's history)."""
    rows = session.scalars(select(Lockdown).order_by(Lockdown.id.desc()).limit(limit)).all()
    return [_view(row) for row in rows]


def start_lockdown(session: Session, *, by: str, reason: str = "") -> tuple[LockdownView, bool]:
    """Open a lockdown (the caller commits at once: from then on every request is refused).

    Returns the lockdown and whether it is new; one already on is returned as it is."""
    current = active_lockdown(session)
    if current is not None:
        return current, False
    row = Lockdown(started_by=by[:200], reason=reason[:500], report={})
    session.add(row)
    session.flush()
    return _view(row), True


def record_report(session: Session, lockdown_id: int, report: dict[str, object]) -> None:
    """Keep what the lockdown did (revocations, failures, posts held) on its row."""
    session.execute(update(Lockdown).where(Lockdown.id == lockdown_id).values(report=report))


def lift_lockdown(session: Session, *, by: str) -> LockdownView | None:
    """Close the lockdown that is on (None: there was none)."""
    row = session.scalars(
        select(Lockdown).where(Lockdown.lifted_at.is_(None)).order_by(Lockdown.id.desc())
    ).first()
    if row is None:
        return None
    now = utcnow()
    session.execute(
        update(Lockdown)
        .where(Lockdown.lifted_at.is_(None))
        .values(lifted_at=now, lifted_by=by[:200])
    )
    session.flush()
    session.refresh(row)
    return _view(row)
