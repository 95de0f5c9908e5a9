"""The prepared-posts API, `/api/v1` (issue 18; docs/api.md): for scripts, teammates and AI
agents that prepare posts the creator then confirms.

One way in for everyone who prepares, one way out: the creator's confirmation on the Post page.
No route here publishes or can make the app send an init to TikTok (UX-5c): they read, upload
media, and make, list or withdraw prepared posts. The only TikTok call any of them makes is
creator_info (`GET /accounts/{id}/creator-info`), spent from the account's shared budget
(CAP-4), so a script can tell which privacy levels the creator will be offered.

Every query is scoped to the token's person (`api_auth`); someone else's ids answer 404, the
same as ids that do not exist.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.publishing import prepared as preparing
from directpost.publishing.wiring import Services
from directpost.store import prepared as store
from directpost.store import team
from directpost.store.base import utcnow
from directpost.store.posts import Post
from directpost.web.api_auth import API_PREFIX, ApiCaller, ApiError, caller_with
from directpost.web.api_contract import (
    CHUNK_BODY,
    ChunkReceived,
    PostStatus,
    UploadOut,
)
from directpost.web.api_models import (
    AccountList,
    ApiPostList,
    CreatorInfoOut,
    Me,
    NewApiUpload,
    PrepareBody,
    PreparedList,
    PreparedOut,
)
from directpost.web.deps import DbSession, ServicesDep
from directpost.web.post_views import post_view
from directpost.web.routes import uploads
from directpost.web.routes.compose import CreatorInfoUnavailableError, fetch_creator_info

router = APIRouter(prefix=API_PREFIX, tags=["api"])

Reader = Annotated[ApiCaller, Depends(caller_with("read"))]
Preparer = Annotated[ApiCaller, Depends(caller_with("prepare"))]
ChunkSender = Annotated[ApiCaller, Depends(caller_with("prepare", uploads=True))]

_UPLOADS = f"{API_PREFIX}/uploads"


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The refusals a route may give, each in the API's one error shape."""
    words = {
        400: "A value cannot be stored (an id too large, a NUL character).",
        401: "No token, or an unknown or revoked one.",
        403: "The token lacks the scope this needs.",
        404: "Not found (or not yours: it looks the same).",
        409: "Conflicts with the current state.",
        413: "A chunk may hold at most 64 MB.",
        416: "The chunk goes past the end of the file.",
        422: "The request is malformed, or breaks a limit.",
        429: "Too many requests for this token (Retry-After says when to go on).",
        503: "The database or TikTok does not answer; nothing was changed.",
    }
    base = {400, 401, 403, 422, 429, 503}
    return {
        status: {
            "description": words[status],
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}
            },
        }
        for status in sorted(base | set(statuses))
    }


def _as_api(response: Response) -> Response:
    """The uploads' refusals (shared with the page) in the API's error shape."""
    if response.status_code < 400 or not isinstance(response, JSONResponse):
        return response
    body = json.loads(bytes(response.body))
    extra = {k: body[k] for k in ("problems", "received") if k in body}
    code = {
        404: "not_found",
        409: "conflict",
        413: "too_large",
        416: "out_of_range",
        429: "too_many_uploads",
    }.get(response.status_code, "refused")
    return ApiError(response.status_code, code, str(body.get("error", "")), **extra).response()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _prepared_json(db: Session, row: store.PreparedPost, *, base: str) -> dict[str, Any]:
    post = None
    if row.post_id is not None:
        found = db.get(Post, row.post_id)
        post = post_view(found).as_json() if found is not None else None
    return {
        "id": row.id,
        "account_id": row.account_id,
        "state": row.state,
        "kind": row.kind,
        "title": row.title,
        "description": row.description,
        "privacy_suggestion": row.privacy_suggestion,
        "schedule_suggestion": _iso(row.schedule_suggestion),
        "time_zone": row.time_zone,
        "note": row.note,
        "prepared_by": row.prepared_by_name,
        "reason": row.reason,
        "upload_id": row.upload_id,
        "created_at": row.created_at.isoformat(),
        "decided_at": _iso(row.decided_at),
        "review_url": f"{base}/review/{row.id}",
        "post": post,
    }


def _base(request: Request) -> str:
    """The app's public address (behind a proxy, the request's own host may be an inside one)."""
    services: Services = request.app.state.services
    return services.settings.public_base_url.rstrip("/")


# --- who, and which accounts ----------------------------------------------------------------


@router.get("/me", response_model=Me, responses=_errors())
def me(caller: Reader) -> dict[str, Any]:
    """The token's person and scopes."""
    return {
        "person_id": caller.person.id,
        "token_name": caller.token_name,
        "scopes": sorted(caller.scopes),
    }


@router.get("/accounts", response_model=AccountList, responses=_errors())
def list_accounts(caller: Reader, db: DbSession) -> dict[str, Any]:
    """The connected accounts the caller may prepare posts for: their own, and those whose
    owners made them a member."""
    found = team.preparable_accounts(db, person_id=caller.person.id)
    return {
        "accounts": [
            {
                "id": account.id,
                "nickname": account.display_name,
                "avatar_url": account.avatar_url,
                "role": "owner" if owns else "member",
            }
            for account, owns in found
        ]
    }


@router.get(
    "/accounts/{account_id}/creator-info",
    response_model=CreatorInfoOut,
    responses=_errors(404),
)
async def creator_info(
    account_id: Annotated[int, Path(ge=1)],
    caller: Reader,
    db: DbSession,
    services: ServicesDep,
) -> Any:
    """The options the creator will be offered on the Post page, asked of TikTok now (CAP-4:
    from the account's shared budget, so this may wait a few seconds)."""
    found = await run_in_threadpool(
        lambda: team.preparable_account(db, person_id=caller.person.id, account_id=account_id)
    )
    if found is None:
        raise ApiError(404, "not_found", "No such account (or you may not prepare for it).")
    account, _owns = found
    try:
        facts = await fetch_creator_info(services, account, db)
    except CreatorInfoUnavailableError as exc:
        raise ApiError(503, "tiktok_unavailable", str(exc), headers={"Retry-After": "60"}) from exc
    return {
        "nickname": facts.nickname,
        "username": facts.username,
        "privacy_level_options": list(facts.privacy_level_options),
        "comment_disabled": facts.comment_disabled,
        "duet_disabled": facts.duet_disabled,
        "stitch_disabled": facts.stitch_disabled,
        "max_video_post_duration_sec": facts.max_video_post_duration_sec,
        "can_post_now": not facts.blocked,
        "blocked_code": facts.blocked_code,
    }


# --- media: the same resumable chunk protocol as the Post page ---------------------------------


@router.post("/uploads", status_code=201, response_model=UploadOut, responses=_errors(404, 429))
def create_upload(
    body: NewApiUpload, caller: Preparer, db: DbSession, services: ServicesDep
) -> Response:
    """Announce the files; then PUT each file's bytes and POST .../finish."""
    if team.preparable_account(db, person_id=caller.person.id, account_id=body.account_id) is None:
        raise ApiError(404, "not_found", "No such account (or you may not prepare for it).")
    announced = uploads.NewUploadBody(kind=body.kind, files=body.files)
    return _as_api(
        uploads.announce(
            db,
            services.media_store,
            announced,
            person_id=caller.person.id,
            account_id=body.account_id,
            prefix=_UPLOADS,
        )
    )


@router.get("/uploads/{upload_id}", response_model=UploadOut, responses=_errors(404))
def upload_status(
    upload_id: str, caller: Preparer, db: DbSession, services: ServicesDep
) -> Response:
    """How much of each file has arrived (resume from `received`), and what the checks found."""
    return _as_api(
        uploads.status_of(
            db, services.media_store, upload_id, person_id=caller.person.id, prefix=_UPLOADS
        )
    )


@router.put(
    "/uploads/{upload_id}/files/{file_id}",
    response_model=ChunkReceived,
    responses=_errors(404, 409, 413, 416),
    openapi_extra=CHUNK_BODY,
)
async def put_chunk(
    upload_id: str,
    file_id: str,
    request: Request,
    caller: ChunkSender,
    db: DbSession,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=2**62)],
) -> Response:
    """Bytes of the file from `offset`, which must be where the stored bytes end (409 says
    where to continue otherwise)."""
    answer = await uploads.receive_chunk(
        request, db, services.media_store, upload_id, file_id, offset, person_id=caller.person.id
    )
    return _as_api(answer)


@router.post("/uploads/{upload_id}/finish", response_model=UploadOut, responses=_errors(404, 409))
async def finish_upload(
    upload_id: str, caller: Preparer, db: DbSession, services: ServicesDep
) -> Response:
    """Check the complete files (TECH-3): the upload answers "ready" or "rejected"."""
    answer = await uploads.check_upload(
        db, services.media_store, upload_id, person_id=caller.person.id, prefix=_UPLOADS
    )
    return _as_api(answer)


@router.delete("/uploads/{upload_id}", status_code=204, responses=_errors(404, 409))
def delete_upload(
    upload_id: str, caller: Preparer, db: DbSession, services: ServicesDep
) -> Response:
    """Remove an upload not used by a prepared post, and its bytes."""
    used = store.by_upload(db, upload_id=upload_id)
    if used is not None and store.get_visible(db, person_id=caller.person.id, prepared_id=used.id):
        raise ApiError(
            409,
            "conflict",
            f"This upload is the media of prepared post {used.id}: withdraw that prepared "
            f"post instead (DELETE {API_PREFIX}/prepared-posts/{used.id}).",
        )
    return _as_api(
        uploads.remove_upload(db, services.media_store, upload_id, person_id=caller.person.id)
    )


# --- prepared posts -----------------------------------------------------------------------------


def _key_taken_since(db: Session, caller: ApiCaller, key: str | None) -> bool:
    """Whether a concurrent request with this Idempotency-Key has made its prepared post."""
    if key is None:
        return False
    return store.by_idempotency_key(db, person_id=caller.person.id, key=key) is not None


@router.post(
    "/prepared-posts",
    status_code=201,
    response_model=PreparedOut,
    responses={
        200: {
            "description": "A retry with an Idempotency-Key already used: the first answer.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PreparedOut"}}
            },
        },
        **_errors(404, 409),
    },
)
def create_prepared(
    request: Request,
    body: PrepareBody,
    caller: Preparer,
    db: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Prepare a post for the creator to review. It publishes nothing: the account's owner
    opens it on the Post page, chooses who can see it and what is allowed, and confirms."""
    suggestion = preparing.Suggestion(**body.model_dump())
    # Two retries may race past the key's lookup. The winner's row then refuses the other one
    # (the unique index, or its checks: the upload is taken, or moved to the account's owner);
    # asked again, the loser finds the winner's row: a replay, or 409 for another body.
    for last_try in (False, True):
        try:
            row, made = preparing.prepare(
                db,
                person=caller.person,
                preparer_name=caller.token_name,
                suggestion=suggestion,
                idempotency_key=idempotency_key,
                now=utcnow(),
            )
            db.commit()
            break
        except preparing.PrepareRefused as refused:
            db.rollback()
            if not last_try and _key_taken_since(db, caller, idempotency_key):
                continue
            code = {404: "not_found", 409: "idempotency_key_reused"}.get(refused.status, "refused")
            raise ApiError(refused.status, code, str(refused), problems=refused.problems) from None
        except IntegrityError:
            db.rollback()
            if last_try or not _key_taken_since(db, caller, idempotency_key):
                raise
    headers = {"Location": f"{API_PREFIX}/prepared-posts/{row.id}"}
    if not made:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        _prepared_json(db, row, base=_base(request)),
        status_code=201 if made else 200,
        headers=headers,
    )


@router.get("/prepared-posts", response_model=PreparedList, responses=_errors())
def list_prepared(
    request: Request,
    caller: Reader,
    db: DbSession,
    state: Annotated[
        str | None, Query(pattern="^(to_review|confirmed|rejected|withdrawn|expired)$")
    ] = None,
    account_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    """What the caller may see, newest first: everything of their own accounts, and what they
    prepared for accounts granted to them."""
    rows = store.list_visible(
        db,
        person_id=caller.person.id,
        state=state,
        account_id=account_id,
        before_id=before,
        limit=limit,
    )
    base = _base(request)
    return {
        "prepared_posts": [_prepared_json(db, row, base=base) for row in rows],
        "next_before": rows[-1].id if len(rows) == limit else None,
    }


def _visible(db: Session, caller: ApiCaller, prepared_id: int) -> store.PreparedPost:
    row = store.get_visible(db, person_id=caller.person.id, prepared_id=prepared_id)
    if row is None:
        raise ApiError(404, "not_found", "No such prepared post (or not yours).")
    return row


@router.get("/prepared-posts/{prepared_id}", response_model=PreparedOut, responses=_errors(404))
def read_prepared(
    request: Request,
    prepared_id: Annotated[int, Path(ge=1)],
    caller: Reader,
    db: DbSession,
) -> dict[str, Any]:
    """One prepared post, with the post made from it once the creator confirmed."""
    return _prepared_json(db, _visible(db, caller, prepared_id), base=_base(request))


@router.delete(
    "/prepared-posts/{prepared_id}", response_model=PreparedOut, responses=_errors(404, 409)
)
def withdraw_prepared(
    request: Request,
    prepared_id: int,
    caller: Preparer,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """Withdraw a prepared post you prepared, while it is still to review; its media is removed."""
    try:
        row, keys = preparing.withdraw(
            db, person_id=caller.person.id, prepared_id=prepared_id, now=utcnow()
        )
    except preparing.PrepareRefused as refused:
        code = "not_found" if refused.status == 404 else "conflict"
        raise ApiError(refused.status, code, str(refused)) from None
    db.commit()
    for key in keys:
        services.media_store.delete(key)
    return JSONResponse(_prepared_json(db, row, base=_base(request)))


# --- posts --------------------------------------------------------------------------------------


@router.get("/posts", response_model=ApiPostList, responses=_errors())
def list_posts(caller: Reader, db: DbSession) -> dict[str, Any]:
    """The caller's posts, and the posts made from what they prepared, newest first."""
    rows = store.visible_posts(db, person_id=caller.person.id)
    return {"posts": [post_view(p).as_json() for p in rows]}


@router.get("/posts/{post_id}", response_model=PostStatus, responses=_errors(404))
def read_post(post_id: int, caller: Reader, db: DbSession) -> dict[str, Any]:
    """One post's status (post ids as strings: 19 digits do not survive a float)."""
    post = store.visible_post(db, person_id=caller.person.id, post_id=post_id)
    if post is None:
        raise ApiError(404, "not_found", "No such post (or not yours).")
    return post_view(post).as_json()
