"""Kept database connections: checked before use only after sitting idle.

A ping on every checkout (SQLAlchemy's `pool_pre_ping`) was a round trip per transaction, a
tenth of a busy worker's time; a connection the server dropped while it sat idle must still
never reach a caller.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from directpost.store import db


def _backend_pid(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_kept_connection_that_died_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.create_engine_for_url(postgres_url, pool_size=1, max_overflow=0)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        kept = _backend_pid(engine)
        # The server ends the connection while it sits in the pool (a restart, an idle timeout).
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": kept})
        monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # it has been idle "long enough"
        assert _backend_pid(engine) != kept  # a fresh connection, and no error
    finally:
        engine.dispose()
        admin.dispose()
