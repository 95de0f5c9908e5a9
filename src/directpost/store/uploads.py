"""Media the creator uploads from the browser to the app, before it becomes a post.

An *upload* is one post's media: a single video or 1-35 photos, each a *file* that arrives in
resumable chunks (the browser asks for the current `received` offset and continues from
there). When every file is complete, the app probes and checks them and records what it found,
so the Post page can explain problems and the publish route can trust the measured facts
instead of anything the browser claims. Every function takes `person_id`: one person can never
see or touch another person's upload (USE-2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from directpost.store.base import Base, UTCDateTime, utcnow

UploadKind = Literal["video", "photos"]
#: receiving: files still arriving; checking: being probed; ready: may be posted;
#: rejected: a check found a problem (the reasons are in `problems`).
UploadState = Literal["receiving", "checking", "ready", "rejected"]

#: Unfinished uploads older than this may be swept away with their bytes.
STALE_AFTER = timedelta(days=2)


class Upload(Base):
    """One post's media as uploaded by a person for one of their TikTok accounts."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="receiving")
    #: Plain-language problems found by the checks, for the whole upload.
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    files: Mapped[list[UploadFile]] = relationship(
        back_populates="upload",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="UploadFile.position",
    )

    @property
    def complete(self) -> bool:
        return bool(self.files) and all(f.complete for f in self.files)


class UploadFile(Base):
    """One file of an upload: its size, how much has arrived, and what the probe measured."""

    __tablename__ = "upload_files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Where the complete bytes live in the media store ("" until complete).
    storage_key: Mapped[str] = mapped_column(Text, default="")
    #: What the probe measured (duration_s, width, height, fps, codec, format...).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    upload: Mapped[Upload] = relationship(back_populates="files")

    @property
    def complete(self) -> bool:
        return self.received >= self.size


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file the browser is about to send: its name, type and size in bytes."""

    filename: str
    content_type: str
    size: int


class UploadNotFoundError(LookupError):
    """No such upload or file for this person (it may belong to someone else)."""


def _new_id() -> str:
    # Hex, so an id is also a safe media-store key segment.
    return secrets.token_hex(16)


def storage_key(upload_id: str, file_id: str) -> str:
    """Where a file's bytes live in the media store (while arriving and once complete)."""
    return f"uploads/{upload_id}/{file_id}"


def create_upload(
    session: Session,
    *,
    person_id: int,
    account_id: int | None,
    kind: UploadKind,
    files: list[NewFile],
    now: datetime | None = None,
) -> Upload:
    """Start an upload with its files announced (sizes known up front, bytes to follow)."""
    now = now or utcnow()
    upload = Upload(
        id=_new_id(),
        person_id=person_id,
        account_id=account_id,
        kind=kind,
        state="receiving",
        problems=[],
        created_at=now,
        updated_at=now,
    )
    upload.files = [
        UploadFile(
            id=_new_id(),
            position=i,
            filename=f.filename[:255],
            content_type=f.content_type[:100],
            size=f.size,
            received=0,
            storage_key="",
            facts={},
            problems=[],
            created_at=now,
        )
        for i, f in enumerate(files)
    ]
    session.add(upload)
    session.flush()
    return upload


def get_upload(session: Session, *, person_id: int, upload_id: str) -> Upload:
    """The person's upload, or `UploadNotFoundError` (also when it is someone else's)."""
    upload = session.scalar(
        select(Upload).where(Upload.id == upload_id, Upload.person_id == person_id)
    )
    if upload is None:
        raise UploadNotFoundError("This upload does not exist (or it was removed).")
    return upload


def get_file(session: Session, *, person_id: int, upload_id: str, file_id: str) -> UploadFile:
    """One file of the person's upload, or `UploadNotFoundError`."""
    upload = get_upload(session, person_id=person_id, upload_id=upload_id)
    for f in upload.files:
        if f.id == file_id:
            return f
    raise UploadNotFoundError("This file is not part of the upload.")


def record_received(upload_file: UploadFile, *, received: int) -> None:
    """Note how many bytes of the file the media store now holds (the store is the truth)."""
    upload_file.received = min(received, upload_file.size)
    upload_file.upload.updated_at = utcnow()


def record_checks(
    upload: Upload,
    *,
    results: list[tuple[str, dict[str, Any], list[str]]],
    problems: list[str],
) -> None:
    """Store what the checks found: per file (storage key, facts, problems) and for the set."""
    for upload_file, (key, facts, file_problems) in zip(upload.files, results, strict=True):
        upload_file.storage_key = key
        upload_file.facts = facts
        upload_file.problems = file_problems
    all_problems = [p for _, _, ps in results for p in ps] + problems
    upload.problems = all_problems
    upload.state = "rejected" if all_problems else "ready"
    upload.updated_at = utcnow()


def delete_upload(session: Session, *, person_id: int, upload_id: str) -> list[str]:
    """Remove the person's upload; the storage keys whose bytes the caller should delete."""
    upload = get_upload(session, person_id=person_id, upload_id=upload_id)
    keys = [f.storage_key for f in upload.files if f.storage_key]
    session.delete(upload)
    session.flush()
    return keys


@dataclass(frozen=True, slots=True)
class InFlight:
    """A person's uploads still receiving bytes: how many, and the bytes they announced."""

    uploads: int
    announced_bytes: int


def in_flight(session: Session, *, person_id: int) -> InFlight:
    """What the person has announced and not finished (the upload quota counts these)."""
    count, total = session.execute(
        select(func.count(func.distinct(Upload.id)), func.coalesce(func.sum(UploadFile.size), 0))
        .select_from(Upload)
        .join(UploadFile, UploadFile.upload_id == Upload.id)
        .where(Upload.person_id == person_id, Upload.state == "receiving")
    ).one()
    return InFlight(int(count), int(total))


def stale_uploads(session: Session, *, now: datetime | None = None) -> list[Upload]:
    """Unfinished uploads nobody touched for `STALE_AFTER` (for a sweeper)."""
    cutoff = (now or utcnow()) - STALE_AFTER
    rows = session.scalars(
        select(Upload).where(Upload.state == "receiving", Upload.updated_at < cutoff)
    )
    return list(rows)


def delete_person_uploads(session: Session, *, person_id: int) -> list[str]:
    """Remove every upload of a person (DG-5); the storage keys to delete."""
    keys = [
        f.storage_key
        for u in session.scalars(select(Upload).where(Upload.person_id == person_id))
        for f in u.files
        if f.storage_key
    ]
    session.execute(delete(Upload).where(Upload.person_id == person_id))
    return keys


def storage_keys_for_person(session: Session, *, person_id: int) -> list[str]:
    """Every media-store key that may hold bytes of the person's uploads, finished or not
    (DG-5: "delete everything" removes the bytes, not only the rows)."""
    rows = session.execute(
        select(UploadFile.upload_id, UploadFile.id, UploadFile.storage_key)
        .join(Upload, Upload.id == UploadFile.upload_id)
        .where(Upload.person_id == person_id)
        .order_by(UploadFile.upload_id, UploadFile.position)
    )
    keys: list[str] = []
    for upload_id, file_id, stored_key in rows:
        for key in (storage_key(upload_id, file_id), stored_key):
            if key and key not in keys:
                keys.append(key)
    return keys


def media_manifest(upload: Upload) -> list[dict[str, Any]]:
    """What a post sends, in order: [{"key", "filename", "content_type", "size"}]."""
    return [
        {
            "key": f.storage_key,
            "filename": f.filename,
            "content_type": f.content_type,
            "size": f.size,
        }
        for f in upload.files
    ]
