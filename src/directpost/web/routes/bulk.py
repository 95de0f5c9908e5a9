"""Bulk (issue 17): up to 30 prepared posts from a CSV and a folder of media, at `/review/bulk`.

- `GET /review/bulk`: the form (account, CSV, media folder or files, time zone);
- `POST /review/bulk`: reads the CSV and checks every row (`publishing.bulk`), stores each good
  row's media exactly as the resumable upload route does (`store.uploads.create_upload`, the
  media store's append + finalize, `routes.uploads.finish` for the checks, TECH-3) and makes it
  a prepared post "To review", prepared by the person ("bulk: <csv name>"). The answer is the
  report: one line per row, made or why not.

Nothing is posted here and nothing reaches TikTok: each prepared post waits in "To review"
until its creator opens it on the Post page, chooses every control and confirms (UX-5c). The
row's privacy is only a suggestion, shown beside the unchosen control (UX-2b).

The request is bounded before any of it is read: `MAX_BATCH_BYTES` in all (Content-Length, and
counted as the bytes arrive) and `MAX_MEDIA_FILES` files; the form parser keeps each file past
1 MB in a temporary file on disk, not in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from directpost.media.storage import MediaStore, MediaStoreError
from directpost.publishing import bulk
from directpost.publishing import prepared as preparing
from directpost.rules.model import PRIVACY_LABELS
from directpost.store import prepared as prepared_store
from directpost.store import uploads as upload_store
from directpost.store.accounts import Person, TikTokAccount, get_account
from directpost.store.base import utcnow
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    answers,
    html_route,
    page,
)
from directpost.web.deps import CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.post_views import in_time_zone
from directpost.web.routes.uploads import AnnouncedFile, NewUploadBody, announce_problems, finish
from directpost.web.security import require_csrf
from directpost.web.templating import render

#: The most bytes one batch may send (media, CSV and form together).
MAX_BATCH_BYTES: Final = 2 * 1024**3
#: The most files one batch may send: 30 posts, photo posts of several photos, and the odd
#: other file a folder holds.
MAX_MEDIA_FILES: Final = 300
CAPTION_SHOWN: Final = 80


class _TooLarge(Exception):
    """The request body went past `MAX_BATCH_BYTES` while it arrived."""


def _too_large_page(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {
            "heading": _("This batch is too large"),
            "message": _(
                "All files of one batch may add up to %(gb)d GB; nothing was made. Send the "
                "posts in two batches (two CSV files), or choose smaller files."
            )
            % {"gb": MAX_BATCH_BYTES // 1024**3},
            "log_id": "",
            "retry_url": "/review/bulk",
            "retry_label": _("Back to the form"),
        },
        status_code=413,
    )


class _BoundedRoute(APIRoute):
    """A route whose body may not pass `MAX_BATCH_BYTES`: a declared larger Content-Length is
    answered at once, and the bytes are counted as they arrive (a body without a length).
    It wraps the whole handler, so the app's CSRF check (which reads the form) is bounded too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
                return _too_large_page(request)
            received = 0
            upstream: Receive = request.receive

            async def counted() -> Message:
                nonlocal received
                message = await upstream()
                received += len(message.get("body", b""))
                if received > MAX_BATCH_BYTES:
                    raise _TooLarge
                return message

            try:
                return await handler(Request(request.scope, counted))
            except (HTTPException, _TooLarge):
                if received > MAX_BATCH_BYTES:  # the parser reports it as a bad body
                    return _too_large_page(request)
                raise

        return bounded


router = APIRouter(tags=["review"], dependencies=[Depends(require_csrf)], route_class=_BoundedRoute)


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One CSV row as the report shows it."""

    number: int
    files: str
    caption: str
    when: str
    privacy: str
    #: The prepared post made from the row (now or by an earlier, identical batch).
    prepared_id: int | None = None
    #: Made by an earlier batch: the row was not made twice.
    earlier: bool = False
    #: The prepared post's state in words, when it is no longer waiting for review.
    decided: str = ""
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class Batch:
    """What the form sent, as the route reads it."""

    account: TikTokAccount
    csv_name: str
    zone: str
    #: The media files by name without folders (several under one name: refused by the row).
    media: dict[str, list[UploadFile]] = field(default_factory=dict)


def _shortened(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= CAPTION_SHOWN else flat[: CAPTION_SHOWN - 1].rstrip() + "…"


def _line(checked: bulk.CheckedRow, zone: str, **made: Any) -> ReportLine:
    row = checked.row
    when = in_time_zone(checked.scheduled_at, zone) if checked.scheduled_at else row.time
    return ReportLine(
        number=row.number,
        files=", ".join(checked.files) or row.file,
        caption=_shortened(row.caption),
        when=when,
        privacy=_(PRIVACY_LABELS[checked.privacy]) if checked.privacy else row.privacy,
        **made,
    )


def _earlier_line(checked: bulk.CheckedRow, earlier: prepared_store.PreparedPost) -> ReportLine:
    decided = (
        "" if earlier.state == prepared_store.TO_REVIEW else _(earlier.state.replace("_", " "))
    )
    return _line(checked, earlier.time_zone, prepared_id=earlier.id, earlier=True, decided=decided)


# --- storing one row ---------------------------------------------------------------------------


def _digest(part: UploadFile) -> str:
    part.file.seek(0)
    digest = hashlib.sha256()
    while piece := part.file.read(1024 * 1024):
        digest.update(piece)
    return digest.hexdigest()


def _size(part: UploadFile) -> int:
    if part.size is not None:
        return part.size
    part.file.seek(0, 2)
    return part.file.tell()


def _forget_upload(db: Session, store: MediaStore, upload: upload_store.Upload) -> None:
    """Remove an upload that will make no prepared post, with its bytes."""
    keys = [upload_store.storage_key(upload.id, f.id) for f in upload.files]
    db.delete(upload)
    db.commit()
    for key in keys:
        store.delete(key)


def _stored_upload(
    db: Session, store: MediaStore, batch: Batch, person: Person, checked: bulk.CheckedRow
) -> tuple[upload_store.Upload | None, list[str]]:
    """The row's media stored and checked like a resumable upload (TECH-3): (the upload,
    what the checks found); no upload when the files cannot even be announced."""
    assert checked.kind is not None
    parts = [batch.media[name][0] for name in checked.files]
    try:
        body = NewUploadBody(
            kind=checked.kind,
            files=[
                AnnouncedFile(name=name, size=_size(p), type=p.content_type or "")
                for name, p in zip(checked.files, parts, strict=True)
            ],
        )
    except ValidationError:
        return None, [_("A file name of this row cannot be stored; rename the file.")]
    problems = announce_problems(body)
    if problems:
        return None, problems
    upload = upload_store.create_upload(
        db,
        person_id=person.id,
        account_id=batch.account.id,
        kind=checked.kind,
        files=[upload_store.NewFile(f.name, f.type, f.size) for f in body.files],
    )
    for upload_file, part in zip(upload.files, parts, strict=True):
        part.file.seek(0)
        key = upload_store.storage_key(upload.id, upload_file.id)
        upload_store.record_received(upload_file, received=store.append(key, 0, part.file))
    try:
        finish(upload, store)
    except MediaStoreError as exc:
        return upload, [str(exc)]
    return upload, list(upload.problems) if upload.state != "ready" else []


def _make_row(
    db: Session,
    store: MediaStore,
    batch: Batch,
    person: Person,
    checked: bulk.CheckedRow,
    *,
    now: datetime,
) -> ReportLine:
    """One row made into a prepared post, or the reasons it was not (it then leaves nothing)."""
    problems = list(checked.problems)
    media_known = checked.kind is not None and all(
        len(batch.media.get(name, [])) == 1 for name in checked.files
    )
    if not media_known:
        return _line(checked, batch.zone, problems=tuple(problems))
    digests = [_digest(batch.media[name][0]) for name in checked.files]
    key = bulk.row_key(
        csv_name=batch.csv_name,
        row=checked.row,
        account_id=batch.account.id,
        time_zone=batch.zone,
        file_digests=digests,
    )
    if not problems:
        earlier = prepared_store.by_idempotency_key(db, person_id=person.id, key=key)
        if earlier is not None:
            return _earlier_line(checked, earlier)
    upload, media_problems = _stored_upload(db, store, batch, person, checked)
    problems += media_problems
    if problems:
        if upload is not None:
            _forget_upload(db, store, upload)
        return _line(checked, batch.zone, problems=tuple(problems))
    assert upload is not None
    suggestion = preparing.Suggestion(
        account_id=batch.account.id,
        upload_id=upload.id,
        title=checked.row.caption,
        description=checked.row.description,
        privacy_suggestion=checked.privacy,
        schedule_at=checked.row.time,
        time_zone=batch.zone,
        note=checked.row.note,
    )
    try:
        made, _new = preparing.prepare(
            db,
            person=person,
            preparer_name=f"bulk: {bulk.media_name(batch.csv_name)}",
            suggestion=suggestion,
            idempotency_key=key,
            now=now,
        )
        db.commit()
    except (preparing.PrepareRefused, IntegrityError) as refused:
        # Refused by a rule, or the same row made by a batch sent at the same moment.
        db.rollback()
        for upload_file in upload.files:
            store.delete(upload_store.storage_key(upload.id, upload_file.id))
        earlier = prepared_store.by_idempotency_key(db, person_id=person.id, key=key)
        if earlier is not None:
            return _earlier_line(checked, earlier)
        reasons = refused.problems if isinstance(refused, preparing.PrepareRefused) else []
        return _line(checked, batch.zone, problems=tuple(reasons or [str(refused)]))
    return _line(checked, batch.zone, prepared_id=made.id)


def make_batch(
    db: Session, store: MediaStore, batch: Batch, person: Person, rows: list[bulk.CsvRow]
) -> tuple[list[ReportLine], list[str]]:
    """Every row checked, the good ones made (each row stands alone, committed on its own);
    the report lines and the media files no row named."""
    now = utcnow()
    checked = bulk.check_rows(rows, media_names=batch.media, time_zone=batch.zone, now=now)
    lines = [_make_row(db, store, batch, person, row, now=now) for row in checked]
    return lines, bulk.unnamed_files(checked, batch.media, batch.csv_name)


# --- the pages ---------------------------------------------------------------------------------


def _form_page(
    request: Request, *, problems: list[str] | None = None, account_id: int = 0, zone: str = ""
) -> HTMLResponse:
    view = getattr(request.state, "person_view", None)
    accounts = [a for a in (view.accounts if view else ()) if a.connected]
    chosen = account_id or (view.active_account.id if view and view.active_account else 0)
    context = {
        "accounts": accounts,
        "chosen": chosen,
        "zone": zone,
        "problems": problems or [],
        "max_rows": bulk.MAX_ROWS,
        "max_bytes": MAX_BATCH_BYTES,
        "max_files": MAX_MEDIA_FILES,
        "example_day": (utcnow() + timedelta(days=1)).date().isoformat(),
    }
    return render(request, "review/bulk.html", context, status_code=422 if problems else 200)


@router.get("/review/bulk", response_class=HTMLResponse, responses=html_route(SIGNED_IN, DATABASE))
def bulk_form(request: Request, person: CurrentPerson) -> HTMLResponse:
    """The form: an account, a CSV, the media, a time zone."""
    return _form_page(request)


def _chosen_media(folder: list[UploadFile], files: list[UploadFile]) -> dict[str, list[UploadFile]]:
    media: dict[str, list[UploadFile]] = {}
    for part in [*folder, *files]:
        name = bulk.media_name(part.filename or "")
        if name:
            media.setdefault(name, []).append(part)
    return media


def _csv_part(csv_file: UploadFile | None, media: dict[str, list[UploadFile]]) -> UploadFile | None:
    """The CSV chosen, or the only one inside the folder chosen."""
    if csv_file is not None and csv_file.filename:
        return csv_file
    inside = [parts[0] for name, parts in media.items() if name.lower().endswith(".csv")]
    return inside[0] if len(inside) == 1 else None


@router.post(
    "/review/bulk",
    response_class=HTMLResponse,
    responses=answers(
        {
            200: page("The report: one line per CSV row, made or why not."),
            413: page("More than 2 GB sent: nothing was made."),
            422: page(
                "The batch was refused (a CSV that cannot be read, too many rows, no "
                "such account): nothing was made."
            ),
        },
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
        {400: page("The form could not be read (too many files, a broken upload).")},
    ),
    form_limits={"max_files": MAX_MEDIA_FILES + 1, "max_fields": 20, "max_part_size": 64 * 1024},
)
async def bulk_submit(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    account_id: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "",
    csv_file: Annotated[UploadFile | None, File()] = None,
    folder: Annotated[list[UploadFile] | None, File()] = None,
    media: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    """Make a prepared post of every good row; answer the report."""
    chosen = int(account_id) if account_id.isdigit() and len(account_id) < 12 else 0
    zone = time_zone.strip() or "UTC"
    sent = _chosen_media(folder or [], media or [])
    account = await run_in_threadpool(get_account, db, person_id=person.id, account_id=chosen)
    if account is None:
        problems = [_("Choose one of your connected accounts.")]
        return _form_page(request, problems=problems, zone=zone)
    part = _csv_part(csv_file, sent)
    if part is None:
        problems = [_("Choose the CSV file that lists the posts.")]
        return _form_page(request, problems=problems, account_id=chosen, zone=zone)
    batch = Batch(account=account, csv_name=part.filename or "posts.csv", zone=zone, media=sent)
    batch.media.pop(bulk.media_name(batch.csv_name), None)
    try:
        rows = bulk.read_csv(await part.read(bulk.MAX_CSV_BYTES + 1))
        bulk.check_zone(zone)
    except bulk.BatchRefused as refused:
        problems = [_(p) for p in refused.problems]
        return _form_page(request, problems=problems, account_id=chosen, zone=zone)
    store = services.media_store
    lines, unnamed = await run_in_threadpool(make_batch, db, store, batch, person, rows)
    context = {
        "lines": lines,
        "unnamed": unnamed,
        "zone": zone,
        "csv_name": bulk.media_name(batch.csv_name),
        "account": account.display_name or account.open_id,
        "made": sum(1 for line in lines if line.prepared_id is not None),
        "first": next((ln.prepared_id for ln in lines if ln.prepared_id and not ln.decided), None),
    }
    return render(request, "review/bulk_report.html", context)
