"""Engine and session factory built from Settings: SQLite (embedded) or PostgreSQL (at scale).

SQLite gets WAL (readers do not block the writer), foreign keys on (SQLite ignores them
otherwise, and deletes rely on ON DELETE CASCADE) and a busy timeout so concurrent writers
wait instead of failing with "database is locked".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from directpost.config import Settings

#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


#: PostgreSQL connections a process keeps open. The web app runs its database work in up to
#: 40 threads (anyio's default); a burst of TikTok pulls and webhooks used to open and close a
#: connection (a PostgreSQL process fork) per request beyond SQLAlchemy's default pool of 5.
DEFAULT_POOL_SIZE = 20
DEFAULT_MAX_OVERFLOW = 10


def create_engine_for_url(
    url: str, *, pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW
) -> Engine:
    """An engine for a SQLAlchemy URL, with the SQLite pragmas applied on every connection.
    `pool_size`/`max_overflow`: the connections kept open and the extra ones allowed (not
    for SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Pooled like PostgreSQL's: beyond SQLAlchemy's default 5 + 10, a burst of pulls and
        # webhooks opened a connection per request (and ran the pragmas above on each).
        file_backed = bool(database) and database != ":memory:"
        pooling = {"pool_size": pool_size, "max_overflow": max_overflow} if file_backed else {}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pooling,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    _ping_when_idle(engine)
    return engine


#: A kept connection idle longer than this is checked (one `SELECT 1`) before it is handed out.
IDLE_PING_S = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per transaction, which
    was a tenth of a busy worker's time (a start runs four transactions). A connection used a
    moment ago is alive unless the server just went away, and then the statement fails and the
    job is simply run again later; one that sat idle (a server restart overnight, a firewall
    timeout) is pinged first, and a dead one is replaced (`DisconnectionError` makes the pool
    retry with a fresh connection).
    """

    @event.listens_for(engine, "checkin")
    def _mark_idle(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:
            raise exc.DisconnectionError("a kept connection was dead; taking a new one") from error


def create_engine_from_settings(settings: Settings, **pool: int) -> Engine:
    """The engine for `settings.resolved_database_url` (SQLite in data_dir by default);
    `pool`: `pool_size` and `max_overflow` as for `create_engine_for_url`."""
    return create_engine_for_url(settings.resolved_database_url, **pool)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (views are built after the commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    with factory() as session, session.begin():
        yield session
