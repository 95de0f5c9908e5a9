"""The statements of a purge (TOS-3): count every table, empty the ones that may hold TikTok
information, collect the identifiers to look for, and scan the tables that stay.

The tables come from the database itself (SQLAlchemy's inspector), not from our models: a table
added by a later migration, or by hand, is counted, emptied and checked like the others. Only
the tables in `KEPT_TABLES` stay, and they are scanned for every identifier collected before
the purge, so a kept table that picked up TikTok information is found, not trusted.
The use case that orders these steps is `directpost.publishing.purge`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, inspect, select, table, text
from sqlalchemy.orm import Session

from directpost.store.accounts import TikTokAccount
from directpost.store.posts.models import (
    Post,
    PostConsent,
    PublishAttempt,
    RateBudgetHit,
    WebhookEvent,
)
from directpost.store.uploads import Upload, UploadFile, storage_key

#: Tables a purge keeps: Alembic's revision, the lockdown record (who stopped the app and when:
#: the purge runs under it) and DG-3's aggregates (counts by endpoint and error code). Every
#: other table, known to our models or not, is emptied.
KEPT_TABLES = frozenset({"alembic_version", "lockdowns", "measures"})

#: Keys of a consent's creator_info snapshot that name the creator (UX-5c keeps what they saw).
_CREATOR_INFO_KEYS = {"nickname": "nickname", "username": "username", "avatar_url": "avatar_url"}

#: Identifiers this short are matched only as a whole value: as substrings they would match
#: any text ("a" in every sentence), and a whole-value match still finds them.
_SUBSTRING_MIN = 4


@dataclass(frozen=True, slots=True)
class Finding:
    """A kept table holding one of the collected identifiers (the value itself is not shown:
    it may be a token)."""

    table: str
    column: str
    kind: str
    rows: int


def tables_in_order(connection: Connection) -> list[str]:
    """Every table of the database, the ones others point at last (children are deleted first,
    so foreign keys hold at every statement on SQLite and PostgreSQL alike)."""
    ordered = inspect(connection).get_sorted_table_and_fkc_names()
    names = [name for name, _ in ordered if name is not None]
    return list(reversed(names))


def count_rows(connection: Connection) -> dict[str, int]:
    """Rows per table, for every table the database has."""
    return {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in sorted(tables_in_order(connection))
    }


def delete_all(connection: Connection, *, keep: Iterable[str] = KEPT_TABLES) -> dict[str, int]:
    """Empty every table but `keep`, children first; rows deleted per table.

    Plain `DELETE` (not `TRUNCATE`): the same statement on both databases, inside the caller's
    transaction, so a failure leaves every row where it was."""
    kept = set(keep)
    deleted: dict[str, int] = {}
    for name in tables_in_order(connection):
        if name in kept:
            continue
        before = int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        connection.execute(delete(table(name)))
        deleted[name] = before
    return deleted


def tiktok_identifiers(session: Session) -> dict[str, set[str]]:
    """Every TikTok identifier and personal value the database holds, by kind, read before a
    purge so the tables that stay can be searched for them afterwards."""
    found: dict[str, set[str]] = {}

    def add(kind: str, values: Iterable[Any]) -> None:
        for value in values:
            if isinstance(value, str) and value.strip():
                found.setdefault(kind, set()).add(value)

    for row in session.execute(
        select(
            TikTokAccount.open_id,
            TikTokAccount.display_name,
            TikTokAccount.avatar_url,
            TikTokAccount.access_token_enc,
            TikTokAccount.refresh_token_enc,
        )
    ):
        add("open_id", [row.open_id])
        add("nickname", [row.display_name])
        add("avatar_url", [row.avatar_url])
        add("encrypted_token", [row.access_token_enc, row.refresh_token_enc])
    for post in session.execute(
        select(Post.open_id, Post.publish_id, Post.post_ids, Post.log_id, Post.upload_id)
    ):
        add("open_id", [post.open_id])
        add("publish_id", [post.publish_id])
        add("post_id", [str(p) for p in post.post_ids or []])
        add("log_id", [post.log_id])
        add("upload_id", [post.upload_id])
    for (creator_info,) in session.execute(select(PostConsent.creator_info)):
        if isinstance(creator_info, Mapping):
            for key, kind in _CREATOR_INFO_KEYS.items():
                add(kind, [creator_info.get(key)])
    for attempt in session.execute(
        select(
            PublishAttempt.publish_id,
            PublishAttempt.media_token,
            PublishAttempt.upload_url,
            PublishAttempt.log_id,
        )
    ):
        add("publish_id", [attempt.publish_id])
        add("media_url_token", [attempt.media_token])
        add("upload_url", [attempt.upload_url])
        add("log_id", [attempt.log_id])
    for event in session.execute(select(WebhookEvent.open_id, WebhookEvent.publish_id)):
        add("open_id", [event.open_id])
        add("publish_id", [event.publish_id])
    # Budget keys are "<family>:<sha256 of the access token>": the hash names the token.
    add(
        "token_hash", (key.rpartition(":")[2] for key in session.scalars(select(RateBudgetHit.key)))
    )
    add("upload_id", session.scalars(select(Upload.id)))
    add("media_key", media_keys(session))
    return found


def media_keys(session: Session) -> list[str]:
    """Every media-store key the database knows of, finished or still arriving."""
    keys: set[str] = set()
    for upload_id, file_id, stored in session.execute(
        select(UploadFile.upload_id, UploadFile.id, UploadFile.storage_key)
    ):
        keys.add(storage_key(upload_id, file_id))
        if stored:
            keys.add(stored)
    for (media,) in session.execute(select(Post.media)):
        for item in media or []:
            if isinstance(item, Mapping) and isinstance(item.get("key"), str) and item["key"]:
                keys.add(item["key"])
    return sorted(keys)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _holds(cell: str, identifier: str) -> bool:
    if len(identifier) < _SUBSTRING_MIN:
        return cell == identifier
    return identifier in cell


def scan_tables(
    connection: Connection, *, tables: Iterable[str], identifiers: Mapping[str, Iterable[str]]
) -> list[Finding]:
    """Read every row of `tables` and say where any identifier appears (any column, as text:
    JSON columns included)."""
    wanted = [(kind, value) for kind, values in identifiers.items() for value in set(values)]
    present = set(tables_in_order(connection))
    findings: list[Finding] = []
    for name in sorted(set(tables) & present):
        quoted = connection.dialect.identifier_preparer.quote(name)
        result = connection.execute(text(f"SELECT * FROM {quoted}"))  # noqa: S608 - a table name from the inspector, quoted
        columns = list(result.keys())
        hits: dict[tuple[str, str], int] = {}
        for row in result:
            for column, value in zip(columns, row, strict=True):
                cell = _as_text(value)
                if not cell:
                    continue
                for kind in {kind for kind, identifier in wanted if _holds(cell, identifier)}:
                    hits[(column, kind)] = hits.get((column, kind), 0) + 1
        findings.extend(
            Finding(table=name, column=column, kind=kind, rows=rows)
            for (column, kind), rows in sorted(hits.items())
        )
    return findings
