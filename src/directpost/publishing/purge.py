"""`directpost purge` (TOS-3): delete all TikTok information, then prove nothing is left.

On termination an operator must be able to delete everything the app holds from TikTok (tokens,
open_ids, nicknames, avatars, creator_info snapshots, publish and post ids, log ids, media) and
show that it is gone. The purge runs in four steps:

1. collect: every identifier the database holds (and the raw tokens behind the ciphertexts,
   with their budget hashes), and count every table and the media store;
2. delete the database rows (one transaction, children first), then every object and
   unfinished upload of the media store (listed from the store itself, not only from rows);
3. count again;
4. verify: read every table that exists (from the database's own catalogue): the emptied ones
   must be empty, the kept ones (`store.purge.KEPT_TABLES`) must hold none of the collected
   identifiers, and the store must list nothing.

It refuses to delete unless a lockdown is on (TOS-2): a process still sending to TikTok could
write new tokens and ids while the purge runs. A dry run counts and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from directpost.media.storage import MediaStore, MediaStoreError
from directpost.store import purge as statements
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher, TokenDecryptionError
from directpost.store.lockdown import active_lockdown
from directpost.tiktok import budget_key

#: Identifier kinds whose values are secrets: counted in the receipt, never shown.
_SECRET_KINDS = frozenset({"token", "encrypted_token", "token_hash", "media_url_token"})


class PurgeRefused(Exception):
    """No lockdown is on: the purge deleted nothing (the message says what to do)."""


@dataclass(frozen=True, slots=True)
class TableCount:
    """One table's rows before and after, and whether the purge empties or keeps it."""

    name: str
    before: int
    after: int
    kept: bool


@dataclass(frozen=True, slots=True)
class StoreCount:
    """The media store's finished objects and unfinished uploads, before and after."""

    where: str
    objects_before: int
    partial_before: int
    objects_after: int
    partial_after: int


@dataclass(slots=True)
class Receipt:
    """What a purge did and what the check after it found (also a dry run's forecast)."""

    dry_run: bool
    database: str
    started_at: datetime
    lockdown: str | None
    tables: list[TableCount] = field(default_factory=list)
    store: StoreCount | None = None
    identifiers: dict[str, int] = field(default_factory=dict)
    media_deleted: int = 0
    #: What the check found after the purge, in words; empty: nothing left.
    findings: list[str] = field(default_factory=list)
    finished_at: datetime | None = None

    @property
    def verified(self) -> bool:
        """True only for a real purge whose check found nothing left."""
        return not self.dry_run and not self.findings

    def to_json(self) -> dict[str, Any]:
        """The receipt for machines (`directpost purge --json`)."""
        return {
            "dry_run": self.dry_run,
            "verified": self.verified,
            "database": self.database,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "lockdown": self.lockdown,
            "tables": [
                {"name": t.name, "before": t.before, "after": t.after, "kept": t.kept}
                for t in self.tables
            ],
            "store": None
            if self.store is None
            else {
                "where": self.store.where,
                "objects_before": self.store.objects_before,
                "partial_before": self.store.partial_before,
                "objects_after": self.store.objects_after,
                "partial_after": self.store.partial_after,
                "deleted": self.media_deleted,
            },
            "identifiers": dict(sorted(self.identifiers.items())),
            "findings": list(self.findings),
        }

    def to_text(self) -> str:
        """The receipt for people: one table of counts and the verdict in words."""
        title = (
            "directpost purge: DRY RUN, nothing was deleted"
            if self.dry_run
            else ("directpost purge: receipt")
        )
        lines = [title, f"started {self.started_at:%Y-%m-%d %H:%M:%S} UTC"]
        if self.lockdown:
            lines.append(f"under {self.lockdown}")
        width = max([len(t.name) for t in self.tables] + [16])
        lines += ["", f"Database ({self.database})"]
        lines.append(f"  {'table':<{width}}  {'before':>7}  {'after':>7}")
        for t in self.tables:
            note = (
                "kept, scanned" if t.kept else ("would be emptied" if self.dry_run else "emptied")
            )
            lines.append(f"  {t.name:<{width}}  {t.before:>7}  {t.after:>7}  {note}")
        if self.store is not None:
            s = self.store
            lines += ["", f"Media store ({s.where})"]
            lines.append(f"  {'objects':<{width}}  {s.objects_before:>7}  {s.objects_after:>7}")
            lines.append(
                f"  {'partial uploads':<{width}}  {s.partial_before:>7}  {s.partial_after:>7}"
            )
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.identifiers.items())) or "none"
        lines += ["", f"TikTok identifiers collected (searched for afterwards): {kinds}", ""]
        if self.dry_run:
            lines.append("dry run: run without --dry-run (under a lockdown) to delete this.")
        elif self.verified:
            lines.append("verified: nothing left")
        else:
            lines.append("NOT verified, the check found:")
            lines += [f"  - {finding}" for finding in self.findings]
        return "\n".join(lines)


def describe_store(store: MediaStore) -> str:
    """Where the store keeps its bytes, in the words of the setting that chose it."""
    bucket = getattr(store, "bucket", None)
    if bucket is not None:
        prefix = getattr(store, "prefix", "")
        return f"s3://{bucket}/{prefix}".rstrip("/")
    root = getattr(store, "root", None)
    return f"local folder {root}" if root is not None else type(store).__name__


def _count_store(store: MediaStore) -> tuple[int, int]:
    """(finished objects, unfinished uploads) the store holds now."""
    objects = partial = 0
    for key in store.iter_keys():
        try:
            objects += store.stat(key) is not None
            partial += store.upload_size(key) is not None
        except MediaStoreError:  # a name that is not a key (put there by hand): still an object
            objects += 1
    return objects, partial


def _collect(session: Session, cipher: TokenCipher) -> dict[str, set[str]]:
    """The identifiers, plus the raw tokens behind the ciphertexts and their budget hashes (a
    kept table must not hold a token in any form)."""
    found = statements.tiktok_identifiers(session)
    for ciphertext in found.get("encrypted_token", set()):
        try:
            token = cipher.decrypt(ciphertext)
        except TokenDecryptionError:  # a key rotated away: the ciphertext is still searched for
            continue
        found.setdefault("token", set()).add(token)
        found.setdefault("token_hash", set()).add(budget_key(token))
    return found


def run_purge(
    *,
    factory: sessionmaker[Session],
    media_store: MediaStore,
    cipher: TokenCipher,
    dry_run: bool = False,
) -> Receipt:
    """Delete all TikTok information from the database and the media store, and check that
    nothing is left (see the module's docstring). Raises `PurgeRefused` without a lockdown
    (unless `dry_run`), before anything is read or deleted."""
    engine = factory.kw["bind"]
    assert isinstance(engine, Engine)
    with factory() as session:
        lockdown = active_lockdown(session)
        if lockdown is None and not dry_run:
            raise PurgeRefused(
                "No lockdown is on, so a process may still be sending to TikTok and writing new "
                "tokens and ids. Run `directpost lockdown` first, then `directpost purge` "
                "(`--dry-run` shows what would go). Nothing was deleted."
            )
        identifiers = _collect(session, cipher)
        referenced_keys = statements.media_keys(session)
    receipt = Receipt(
        dry_run=dry_run,
        database=engine.dialect.name,
        started_at=utcnow(),
        lockdown=None
        if lockdown is None
        else f"lockdown #{lockdown.id}, started {lockdown.started_at:%Y-%m-%d %H:%M} UTC "
        f"by {lockdown.started_by}",
        identifiers={kind: len(values) for kind, values in identifiers.items()},
    )
    with engine.connect() as connection:
        before = statements.count_rows(connection)
    objects_before, partial_before = _count_store(media_store)
    if not dry_run:
        with engine.begin() as connection:
            statements.delete_all(connection)
        receipt.media_deleted = _delete_media(media_store, referenced_keys, receipt.findings)
    with engine.connect() as connection:
        after = statements.count_rows(connection)
    objects_after, partial_after = _count_store(media_store)
    receipt.tables = [
        TableCount(
            name=name,
            before=before.get(name, 0),
            after=after.get(name, 0),
            kept=name in statements.KEPT_TABLES,
        )
        for name in sorted(set(before) | set(after))
    ]
    receipt.store = StoreCount(
        where=describe_store(media_store),
        objects_before=objects_before,
        partial_before=partial_before,
        objects_after=objects_after,
        partial_after=partial_after,
    )
    if not dry_run:
        receipt.findings += verify(engine=engine, media_store=media_store, identifiers=identifiers)
    receipt.finished_at = utcnow()
    return receipt


def _delete_media(store: MediaStore, referenced: list[str], problems: list[str]) -> int:
    """Delete every key the store lists and every key the rows named; how many were listed."""
    listed = list(store.iter_keys())
    for key in sorted(set(listed) | set(referenced)):
        try:
            store.delete(key)
        except MediaStoreError as exc:
            problems.append(f"media store: could not delete {key!r}: {exc}")
    return len(listed)


def verify(
    *, engine: Engine, media_store: MediaStore, identifiers: dict[str, set[str]]
) -> list[str]:
    """What is left after a purge, in words (empty: nothing). Reads every table the database
    has, not only the ones our models know, and lists the whole media store."""
    findings: list[str] = []
    with engine.connect() as connection:
        counts = statements.count_rows(connection)
        for name, rows in sorted(counts.items()):
            if name not in statements.KEPT_TABLES and rows:
                findings.append(f"table {name} still holds {rows} row(s)")
        for hit in statements.scan_tables(
            connection, tables=statements.KEPT_TABLES, identifiers=identifiers
        ):
            findings.append(
                f"kept table {hit.table}, column {hit.column}: {hit.rows} row(s) hold a "
                f"{hit.kind}" + ("" if hit.kind in _SECRET_KINDS else " collected before the purge")
            )
    left = list(media_store.iter_keys())
    if left:
        shown = ", ".join(left[:5]) + (", ..." if len(left) > 5 else "")
        findings.append(f"media store still lists {len(left)} key(s): {shown}")
    return findings
