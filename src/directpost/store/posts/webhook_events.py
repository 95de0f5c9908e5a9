"""Webhook de-duplication: TikTok delivers at least once, so every applied delivery is kept."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Table,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directpost.store.base import utcnow
from directpost.store.posts.models import WebhookEvent, dialect, param


def _record_webhook_statement(insert: Any) -> Any:
    table = cast(Table, WebhookEvent.__table__)
    return (
        insert(table)
        .values(
            dedupe_key=param("dedupe_key"),
            event=param("event"),
            open_id=param("open_id"),
            publish_id=param("publish_id"),
            received_at=param("now"),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )


_RECORD_WEBHOOK = {
    "postgresql": _record_webhook_statement(pg_insert),
    "sqlite": _record_webhook_statement(sqlite_insert),
}


def record_webhook_event(
    session: Session, *, dedupe_key: str, event: str, open_id: str, publish_id: str
) -> bool:
    """Remember a delivery; False when the same delivery was already recorded (a duplicate).

    One INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite both have it): no savepoint
    round trips on the path that must answer TikTok fast.
    """
    added = session.execute(
        _RECORD_WEBHOOK[dialect(session)],
        {
            "dedupe_key": dedupe_key,
            "event": event,
            "open_id": open_id,
            "publish_id": publish_id,
            "now": utcnow(),
        },
    )
    return added.first() is not None
