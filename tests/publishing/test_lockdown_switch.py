"""TOS-2: the switch every TikTok request reads first, on SQLite and PostgreSQL: seen at once by
every thread, holding no transaction open, and surviving a connection the server dropped."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from directpost.store import lockdown as switch
from directpost.store.db import create_session_factory
from directpost.store.migrate import upgrade_database


def _engine(url: str) -> Engine:
    upgrade_database(url)
    return create_engine(url)


def _in_another_thread(reader: switch.SwitchReader) -> bool:
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(reader.locked()))
    thread.start()
    thread.join()
    return seen[0]


def _check_switch(engine: Engine) -> switch.SwitchReader:
    reader = switch.SwitchReader(engine)
    assert reader.locked() is False
    assert _in_another_thread(reader) is False
    factory = create_session_factory(engine)
    with factory() as session, session.begin():
        switch.start_lockdown(session, by="tester")
    # The reader's connections were open before: autocommit, so they see the switch at once.
    assert reader.locked() is True
    assert _in_another_thread(reader) is True
    with factory() as session, session.begin():
        switch.lift_lockdown(session, by="tester")
    assert reader.locked() is False
    return reader


def test_tos_2_the_switch_is_seen_at_once_by_every_thread_on_sqlite(tmp_path: Path) -> None:
    engine = _engine(f"sqlite:///{tmp_path / 'switch.db'}")
    _check_switch(engine)
    engine.dispose()


@pytest.mark.postgres
def test_tos_2_the_switch_on_postgresql_holds_no_transaction_and_survives_a_dropped_connection(
    postgres_url: str,
) -> None:
    engine = _engine(postgres_url)
    reader = _check_switch(engine)
    with engine.connect() as connection:
        idle_in_transaction = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction'"
            )
        ).scalar_one()
        assert idle_in_transaction == 0
        # The server drops the reader's connection (a restart, a proxy's timeout) ...
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    # ... and the next read opens a new one.
    assert reader.locked() is False
    engine.dispose()
