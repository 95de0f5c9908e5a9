"""Resumable browser uploads of a post's media: one video or 1-35 photos.

The protocol, JSON in and out, every request scoped to the signed-in person:

- `POST /uploads` with `{"kind": "video"|"photos", "files": [{"name", "size", "type"}]}` announces
  the files and answers the upload with an id per file;
- `PUT /uploads/{id}/files/{file_id}?offset=N` sends raw bytes starting at byte N. The media
  store accepts a chunk only where the bytes it holds end, so a chunk is never written twice or
  skipped; a wrong offset answers 409 with the offset to continue from;
- `GET /uploads/{id}` tells how much of each file has arrived (resume after a reload or a
  network error) and what the checks found;
- `POST /uploads/{id}/finish` makes the files readable, probes and checks them (TECH-3) and
  answers "ready" or "rejected" with the problems in plain words;
- `GET /uploads/{id}/files/{file_id}` plays the file back for the preview (UX-5a), byte-exact
  (UX-5b), with Range support (`media.serving`); `DELETE /uploads/{id}` removes it.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.media import checks
from directpost.media.serving import serve_media
from directpost.media.storage import MediaStore, MediaStoreError, OffsetMismatchError
from directpost.rules import limits
from directpost.store import uploads as upload_store
from directpost.store.uploads import NewFile, Upload, UploadFile, UploadNotFoundError
from directpost.web.api_contract import (
    CHANGE,
    CHUNK_BODY,
    DATABASE,
    INVALID,
    MEDIA_BYTES,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    ChunkReceived,
    Responses,
    UploadOut,
    UploadProblem,
    answers,
    json_only,
)
from directpost.web.deps import CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.security import require_csrf

router = APIRouter(prefix="/uploads", tags=["uploads"], dependencies=[Depends(require_csrf)])

#: The largest chunk one request may carry (the browser sends 8 MiB).
MAX_CHUNK_BYTES = 64 * 1024 * 1024
#: A person's quota of unfinished uploads: how many at once, and the bytes they may announce
#: (two of TikTok's largest videos). Announced bytes count, not received ones: an announcement
#: is a promise of disk the server must be able to keep.
MAX_OPEN_UPLOADS = 5
MAX_BYTES_IN_FLIGHT = 2 * limits.VIDEO_MAX_BYTES
#: MIME types the preview may be served as (anything else is sent as bytes to download).
_PREVIEW_TYPES = frozenset(limits.VIDEO_MIME_TYPES.values()) | frozenset(
    limits.PHOTO_MIME_TYPES.values()
)


class AnnouncedFile(BaseModel):
    """A file the browser is about to send."""

    # No NUL character: no file system or database stores one (PostgreSQL refuses it).
    name: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00]+$")
    size: int = Field(ge=0)
    type: str = Field(default="", max_length=200, pattern=r"^[^\x00]*$")


class NewUploadBody(BaseModel):
    """What the browser announces before sending bytes."""

    kind: Literal["video", "photos"]
    files: list[AnnouncedFile] = Field(min_length=1)


#: A 404 of the uploads API: not this person's upload (or none at all: it looks the same).
_NO_UPLOAD: Responses = {404: json_only("No such upload (or not yours).", UploadProblem)}


def _problem(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _own_upload(db: Session, person_id: int, upload_id: str) -> Upload | JSONResponse:
    """The person's upload, or the 404 answer to give (nobody reaches anyone else's, USE-2)."""
    try:
        return upload_store.get_upload(db, person_id=person_id, upload_id=upload_id)
    except UploadNotFoundError as exc:
        return _problem(404, str(exc))


def _own_file(
    db: Session, person_id: int, upload_id: str, file_id: str
) -> UploadFile | JSONResponse:
    """A file of the person's upload, or the 404 answer to give (USE-2)."""
    try:
        return upload_store.get_file(db, person_id=person_id, upload_id=upload_id, file_id=file_id)
    except UploadNotFoundError as exc:
        return _problem(404, str(exc))


def _received(store: MediaStore, upload_file: UploadFile) -> int:
    if upload_file.upload.state in ("ready", "rejected"):
        return upload_file.size  # all of it arrived (a rejected file's bytes are gone since)
    if upload_file.storage_key and store.stat(upload_file.storage_key) is not None:
        return upload_file.size
    held = store.upload_size(upload_store.storage_key(upload_file.upload_id, upload_file.id))
    return held or 0


def upload_json(upload: Upload, store: MediaStore, *, prefix: str = "/uploads") -> dict[str, Any]:
    """The upload as the browser sees it (no storage keys, nothing of anyone else); `prefix`:
    where its files are read back (the page's routes, or the API's)."""
    return {
        "id": upload.id,
        "kind": upload.kind,
        "state": upload.state,
        "problems": list(upload.problems),
        "files": [
            {
                "id": f.id,
                "name": f.filename,
                "size": f.size,
                "received": _received(store, f),
                "problems": list(f.problems),
                "url": f"{prefix}/{upload.id}/files/{f.id}",
            }
            for f in upload.files
        ],
    }


def announce_problems(body: NewUploadBody) -> list[str]:
    """Refuse at once what can never be posted, before any byte travels."""
    files = body.files
    found: list[str] = []
    if body.kind == "video" and len(files) != 1:
        found.append(_("Choose one video for a video post."))
    if body.kind == "photos":
        found.extend(p.message for p in checks.check_photo_set(len(files)))
    biggest = limits.VIDEO_MAX_BYTES if body.kind == "video" else limits.PHOTO_MAX_BYTES
    for f in files:
        if f.size == 0:
            found.append(_("%(name)s is empty. Choose another file.") % {"name": f.name})
        elif f.size > biggest:
            found.append(
                _(
                    "%(name)s is too big: TikTok takes files of up to %(max)s. Choose a smaller file."
                )
                % {"name": f.name, "max": "4 GB" if body.kind == "video" else "20 MB"}
            )
    return found


@router.post(
    "",
    status_code=201,
    response_model=UploadOut,
    responses=answers(
        {
            422: json_only("The files can never be posted as announced.", UploadProblem),
            429: json_only("Too many uploads or bytes in progress.", UploadProblem),
        },
        INVALID,
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
    ),
)
def create_upload(
    body: NewUploadBody,
    person: CurrentPerson,
    request: Request,
    db: DbSession,
    services: ServicesDep,
) -> JSONResponse:
    """Announce an upload's files; the answer gives each file's id to send bytes to."""
    view = getattr(request.state, "person_view", None)
    account_id = view.active_account.id if view and view.active_account else None
    return announce(db, services.media_store, body, person_id=person.id, account_id=account_id)


def announce(
    db: Session,
    store: MediaStore,
    body: NewUploadBody,
    *,
    person_id: int,
    account_id: int | None,
    prefix: str = "/uploads",
) -> JSONResponse:
    """Start an upload for the person (the page's route and the API's): refuses at once what
    can never be posted and what goes past the person's quota of uploads in progress."""
    problems = announce_problems(body)
    if problems:
        return _problem(422, " ".join(problems), problems=problems)
    busy = upload_store.in_flight(db, person_id=person_id)
    announced = sum(f.size for f in body.files)
    if busy.uploads >= MAX_OPEN_UPLOADS or busy.announced_bytes + announced > MAX_BYTES_IN_FLIGHT:
        message = _(
            "You have %(count)d uploads in progress (%(gb).1f GB announced); at most %(max)d and "
            "%(cap).0f GB may be in progress at once. Finish or remove one, then try again."
        ) % {
            "count": busy.uploads,
            "gb": busy.announced_bytes / 1e9,
            "max": MAX_OPEN_UPLOADS,
            "cap": MAX_BYTES_IN_FLIGHT / 1e9,
        }
        return _problem(429, message, problems=[message])
    upload = upload_store.create_upload(
        db,
        person_id=person_id,
        account_id=account_id,
        kind=body.kind,
        files=[NewFile(f.name, f.type, f.size) for f in body.files],
    )
    return JSONResponse(upload_json(upload, store, prefix=prefix), status_code=201)


@router.get(
    "/{upload_id}",
    response_model=UploadOut,
    responses=answers(_NO_UPLOAD, SIGNED_IN, DATABASE, INVALID),
)
def upload_status(
    upload_id: str, person: CurrentPerson, db: DbSession, services: ServicesDep
) -> JSONResponse:
    """How much of each file has arrived and what the checks found (resume from here)."""
    return status_of(db, services.media_store, upload_id, person_id=person.id)


def status_of(
    db: Session, store: MediaStore, upload_id: str, *, person_id: int, prefix: str = "/uploads"
) -> JSONResponse:
    upload = _own_upload(db, person_id, upload_id)
    if isinstance(upload, JSONResponse):
        return upload
    return JSONResponse(upload_json(upload, store, prefix=prefix))


@router.put(
    "/{upload_id}/files/{file_id}",
    response_model=ChunkReceived,
    responses=answers(
        _NO_UPLOAD,
        {
            409: json_only("Complete already, or not where the stored bytes end.", UploadProblem),
            413: json_only("A chunk may hold at most 64 MB.", UploadProblem),
            416: json_only("The chunk goes past the end of the file.", UploadProblem),
        },
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
    openapi_extra=CHUNK_BODY,
)
async def put_chunk(
    upload_id: str,
    file_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0)],
) -> JSONResponse:
    """Write one chunk at `offset`; it must continue exactly where the stored bytes end."""
    return await receive_chunk(
        request, db, services.media_store, upload_id, file_id, offset, person_id=person.id
    )


async def receive_chunk(
    request: Request,
    db: Session,
    store: MediaStore,
    upload_id: str,
    file_id: str,
    offset: int,
    *,
    person_id: int,
) -> JSONResponse:
    """One chunk of a file of the person's upload (the page's route and the API's)."""
    upload_file = _own_file(db, person_id, upload_id, file_id)
    if isinstance(upload_file, JSONResponse):
        return upload_file
    if upload_file.upload.state != "receiving":
        return _problem(409, _("This upload is complete already."), received=upload_file.size)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CHUNK_BYTES:
        return _problem(413, _("A chunk may hold at most 64 MB. Send smaller chunks."))
    data = await request.body()
    if len(data) > MAX_CHUNK_BYTES:
        return _problem(413, _("A chunk may hold at most 64 MB. Send smaller chunks."))
    if offset + len(data) > upload_file.size:
        return _problem(
            416,
            _("This chunk goes past the end of the file (%(size)d bytes announced).")
            % {"size": upload_file.size},
            received=_received(store, upload_file),
        )
    key = upload_store.storage_key(upload_id, file_id)
    try:
        received = await run_in_threadpool(store.append, key, offset, data)
    except OffsetMismatchError as exc:
        upload_store.record_received(upload_file, received=exc.expected)
        return _problem(
            409,
            _("This chunk does not continue the file: continue from byte %(at)d.")
            % {"at": exc.expected},
            received=exc.expected,
        )
    upload_store.record_received(upload_file, received=received)
    return JSONResponse({"received": received, "size": upload_file.size})


def _check_video(store: MediaStore, upload_file: UploadFile) -> tuple[dict[str, Any], list[str]]:
    with store.open_binary(upload_file.storage_key) as handle:
        # The creator's own maximum is checked against a fresh creator_info on every render of
        # the Post page (UX-1c); here only TikTok's general limits apply.
        probe, problems = checks.inspect_video(
            handle, max_duration_s=None, name=upload_file.filename
        )
    facts = dataclasses.asdict(probe) if probe else {}
    if probe is not None and probe.container in limits.VIDEO_MIME_TYPES:
        upload_file.content_type = limits.VIDEO_MIME_TYPES[probe.container]
    return facts, [p.message for p in problems]


def _check_photo(
    store: MediaStore, upload_file: UploadFile, number: int
) -> tuple[dict[str, Any], list[str]]:
    with store.open_binary(upload_file.storage_key) as handle:
        probe, problems = checks.inspect_photo(handle, name=upload_file.filename)
    facts = dataclasses.asdict(probe) if probe else {}
    if probe is not None and probe.format in limits.PHOTO_MIME_TYPES:
        upload_file.content_type = limits.PHOTO_MIME_TYPES[probe.format]
    prefix = _("Photo %(n)d (%(name)s): ") % {"n": number, "name": upload_file.filename}
    return facts, [prefix + p.message for p in problems]


def finish(upload: Upload, store: MediaStore) -> None:
    """Make every file readable, then probe and check them; bytes are never changed (UX-5b)."""
    results: list[tuple[str, dict[str, Any], list[str]]] = []
    for number, upload_file in enumerate(upload.files, start=1):
        key = upload_store.storage_key(upload.id, upload_file.id)
        store.finalize(key, expected_size=upload_file.size)
        upload_file.storage_key = key
        if upload.kind == "video":
            facts, problems = _check_video(store, upload_file)
        else:
            facts, problems = _check_photo(store, upload_file, number)
        results.append((key, facts, problems))
    set_problems = (
        [p.message for p in checks.check_photo_set(len(upload.files))]
        if upload.kind == "photos"
        else []
    )
    upload_store.record_checks(upload, results=results, problems=set_problems)
    if upload.state == "rejected":
        # Nothing of a rejected upload can be posted: its bytes go now, its words stay.
        for upload_file in upload.files:
            store.delete(upload_file.storage_key)
            upload_file.storage_key = ""


@router.post(
    "/{upload_id}/finish",
    response_model=UploadOut,
    responses=answers(
        _NO_UPLOAD,
        {409: json_only("Some files have not arrived completely.", UploadProblem)},
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
)
async def finish_upload(
    upload_id: str, person: CurrentPerson, db: DbSession, services: ServicesDep
) -> JSONResponse:
    """Check the complete files; answers the upload with state "ready" or "rejected"."""
    return await check_upload(db, services.media_store, upload_id, person_id=person.id)


async def check_upload(
    db: Session, store: MediaStore, upload_id: str, *, person_id: int, prefix: str = "/uploads"
) -> JSONResponse:
    """Finish the person's upload: probe and check every file (the page's route and the API's)."""
    upload = _own_upload(db, person_id, upload_id)
    if isinstance(upload, JSONResponse):
        return upload
    if upload.state in ("ready", "rejected"):
        return JSONResponse(upload_json(upload, store, prefix=prefix))
    missing = [f.filename for f in upload.files if _received(store, f) < f.size]
    if missing:
        return _problem(
            409,
            _("Some files have not arrived completely yet: %(names)s. Continue the upload.")
            % {"names": ", ".join(missing)},
            upload=upload_json(upload, store, prefix=prefix),
        )
    try:
        await run_in_threadpool(finish, upload, store)
    except MediaStoreError as exc:
        return _problem(409, str(exc), upload=upload_json(upload, store, prefix=prefix))
    return JSONResponse(upload_json(upload, store, prefix=prefix))


@router.delete(
    "/{upload_id}",
    status_code=204,
    responses=answers(_NO_UPLOAD, SIGNED_IN_CHANGE, CHANGE, DATABASE, INVALID),
)
def delete_upload(
    upload_id: str, person: CurrentPerson, db: DbSession, services: ServicesDep
) -> Response:
    """Remove an upload and its bytes."""
    return remove_upload(db, services.media_store, upload_id, person_id=person.id)


def remove_upload(db: Session, store: MediaStore, upload_id: str, *, person_id: int) -> Response:
    upload = _own_upload(db, person_id, upload_id)
    if isinstance(upload, JSONResponse):
        return upload
    keys = [upload_store.storage_key(upload.id, f.id) for f in upload.files]
    upload_store.delete_upload(db, person_id=person_id, upload_id=upload_id)
    for key in keys:
        store.delete(key)
    return Response(status_code=204)


@router.get(
    "/{upload_id}/files/{file_id}",
    response_class=Response,
    responses=answers(MEDIA_BYTES, _NO_UPLOAD, SIGNED_IN, DATABASE, INVALID),
)
async def upload_file_bytes(
    upload_id: str,
    file_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """The file exactly as uploaded, for the preview player and carousel (UX-5a, UX-5b)."""
    store = services.media_store
    upload_file = _own_file(db, person.id, upload_id, file_id)
    if isinstance(upload_file, JSONResponse):
        return upload_file
    if not upload_file.storage_key:
        return _problem(404, _("This file has not been uploaded completely yet."))
    media_type = (
        upload_file.content_type
        if upload_file.content_type in _PREVIEW_TYPES
        else "application/octet-stream"
    )
    return await serve_media(request, store, upload_file.storage_key, content_type=media_type)
