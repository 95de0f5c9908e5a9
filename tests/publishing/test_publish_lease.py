"""The creator's lease ("one publish at a time per creator"), on SQLite and on PostgreSQL.

Taken in one INSERT ... ON CONFLICT DO UPDATE ... WHERE statement: these tests hold it to the
rules the pipeline relies on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.db import create_engine_for_url, create_session_factory
from directpost.store.migrate import upgrade_database

TTL = timedelta(minutes=2)


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = (
        f"sqlite:///{tmp_path / 'app.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    upgrade_database(url)
    engine = create_engine_for_url(url)
    try:
        yield create_session_factory(engine)
    finally:
        engine.dispose()


def _account(factory: sessionmaker[Session]) -> int:
    with factory() as session, session.begin():
        person = accounts.Person()
        session.add(person)
        session.flush()
        account = accounts.TikTokAccount(person_id=person.id, open_id="lease-test")
        session.add(account)
        session.flush()
        return account.id


def _take(factory: sessionmaker[Session], account_id: int, post_id: int, *, at: datetime) -> bool:
    with factory() as session, session.begin():
        return store.try_take_lease(
            session,
            account_id=account_id,
            post_id=post_id,
            holder=f"post-{post_id}",
            ttl=TTL,
            now=at,
        )


def test_lease_goes_to_one_post_at_a_time(factory: sessionmaker[Session]) -> None:
    account_id = _account(factory)
    now = utcnow()
    assert _take(factory, account_id, 1, at=now)  # nobody holds it: inserted
    assert not _take(factory, account_id, 2, at=now)  # another post holds it
    assert _take(factory, account_id, 1, at=now + timedelta(seconds=5))  # the holder renews
    with factory() as session:
        assert store.lease_holder(session, account_id=account_id, now=now) == 1


def test_expired_lease_is_taken_over(factory: sessionmaker[Session]) -> None:
    account_id = _account(factory)
    now = utcnow()
    assert _take(factory, account_id, 1, at=now)
    # The holder's worker was killed: once its lease has run out, the next post takes it.
    assert not _take(factory, account_id, 2, at=now + TTL - timedelta(seconds=1))
    assert _take(factory, account_id, 2, at=now + TTL)
    with factory() as session:
        assert store.lease_holder(session, account_id=account_id, now=now + TTL) == 2


def test_released_lease_is_free_for_the_next_post(factory: sessionmaker[Session]) -> None:
    account_id = _account(factory)
    now = utcnow()
    assert _take(factory, account_id, 1, at=now)
    with factory() as session, session.begin():
        store.release_lease(
            session, account_id=account_id, post_id=2, now=now
        )  # not its lease: kept
    assert not _take(factory, account_id, 2, at=now)
    with factory() as session, session.begin():
        store.release_lease(session, account_id=account_id, post_id=1, now=now)
    assert _take(factory, account_id, 2, at=now)


def test_a_heartbeat_keeps_the_holders_lease_alive(factory: sessionmaker[Session]) -> None:
    """A long step (a budget wait, a slow upload) renews the lease through the job's heartbeat
    (`renew_lease`), so no other post takes it while the holder still works."""
    account_id = _account(factory)
    now = utcnow()
    assert _take(factory, account_id, 1, at=now)
    with factory() as session, session.begin():
        store.renew_lease(session, holder="post-1", ttl=TTL, now=now + TTL - timedelta(seconds=1))
    assert not _take(factory, account_id, 2, at=now + TTL)  # renewed: still the holder's
    assert _take(factory, account_id, 2, at=now + 2 * TTL)
