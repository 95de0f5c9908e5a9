"""Linked accounts and the person's data (DG-5): see, export, disconnect, delete everything.

Every query here is scoped to the signed-in person (`CurrentPerson`): another person's account
id answers 404, exactly like an id that does not exist (USE-2).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from directpost.media.storage import MediaStore
from directpost.publishing import prepared as preparing
from directpost.publishing import tokens
from directpost.publishing.wiring import Services
from directpost.store import accounts as store
from directpost.store import posts as post_store
from directpost.store import sessions as session_store
from directpost.store import uploads as upload_store
from directpost.store.accounts import TikTokAccount
from directpost.store.base import utcnow
from directpost.tiktok import APIError, OAuthError, TikTokError
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    NOT_FOUND,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    TIKTOK,
    TOKEN_FORM,
    Export,
    answers,
    html_route,
    page,
    redirect,
)
from directpost.web.deps import CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.sessions import end_other_sessions
from directpost.web.templating import SESSION_ACCOUNT_KEY, render
from directpost.web.views import MyData, StoredFile, plain_size

log = logging.getLogger(__name__)
router = APIRouter()


def person_data(db: Session, *, person_id: int) -> dict[str, Any]:
    """Everything stored about the person (DG-5): every table that hangs off them, plus each
    post with its consent record and its attempts (`post_history`)."""
    data = store.export_person_data(db, person_id=person_id)
    data["post_history"] = post_store.export_posts(db, person_id=person_id)
    return data


class RevokeUnreachableError(Exception):
    """TikTok could not be reached to revoke a token; nothing was deleted."""


async def revoke_at_tiktok(services: Services, account: TikTokAccount) -> None:
    """Withdraw this app's access at TikTok for the account (DG-5).

    A token TikTok no longer accepts counts as revoked; an unreachable TikTok raises
    `RevokeUnreachableError` so the caller keeps the tokens and the person can retry.
    """
    client = services.tiktok_client
    if client is None or not account.is_connected:
        return
    try:
        access_token = await tokens.fresh_access_token(
            services.factory,
            account_id=account.id,
            cipher=services.cipher,
            refresh=lambda refresh_token: client.refresh_token(refresh_token=refresh_token),
        )
        # https://developers.tiktok.com/doc/oauth-user-access-token-management (revoke)
        await client.revoke(access_token=access_token)
    except store.AccountNotConnectedError:
        return
    except (OAuthError, APIError) as exc:
        log.info(
            "TikTok no longer accepts account %s's token (%s): treating as revoked.",
            account.id,
            type(exc).__name__,
        )
    except TikTokError as exc:
        raise RevokeUnreachableError(str(type(exc).__name__)) from exc


def _accounts_page(
    request: Request, message: str = "", status: int = 200, **extra: Any
) -> HTMLResponse:
    """The Accounts page; its API tokens section reads the person's tokens (`routes.tokens`)."""
    from directpost.web.routes.team import section_for
    from directpost.web.routes.tokens import tokens_context  # it builds on this module

    context = {"message": message, **tokens_context(request), "team": section_for(request), **extra}
    return render(request, "account/accounts.html", context, status_code=status)


@router.get(
    "/accounts", response_class=HTMLResponse, responses=html_route(SIGNED_IN, DATABASE, INVALID)
)
def accounts_page(request: Request, person: CurrentPerson, need: str = "") -> HTMLResponse:
    message = ""
    if need == "account":
        message = _("Connect a TikTok account to post: continue with TikTok using your account.")
    elif need == "scope":
        message = _(
            "TikTok did not grant permission to post for this account. To post with it, link it "
            "again and allow “Post content to TikTok”."
        )
    return _accounts_page(request, message)


@router.post(
    "/accounts/active",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Chosen: back to the Accounts page."),
            409: page("That account is not connected."),
        },
        NOT_FOUND,
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
)
def choose_active(
    request: Request, person: CurrentPerson, db: DbSession, account_id: int = Form(...)
) -> Response:
    """Make one of the person's connected accounts the one posts go to."""
    account = store.get_account(db, person_id=person.id, account_id=account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=_("There is no such account."))
    if not account.is_connected:
        return _accounts_page(
            request,
            _("That account is not connected; continue with TikTok using it to connect it."),
            status=409,
        )
    request.session[SESSION_ACCOUNT_KEY] = account.id
    return RedirectResponse("/accounts", status_code=303)


@router.post(
    "/accounts/{account_id}/disconnect",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Disconnected: back to the Accounts page."),
            502: page("TikTok could not be reached; the account is still connected."),
        },
        NOT_FOUND,
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
        TIKTOK,
    ),
    openapi_extra=TOKEN_FORM,
)
async def disconnect(
    request: Request,
    account_id: int,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """Revoke the account's authorization at TikTok, then delete its tokens here (DG-5)."""
    account = store.get_account(db, person_id=person.id, account_id=account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=_("There is no such account."))
    await run_in_threadpool(db.commit)  # end the read: the refresh writes through its own session
    try:
        await revoke_at_tiktok(services, account)
    except RevokeUnreachableError:
        return _accounts_page(
            request,
            _(
                "TikTok could not be reached, so the account is still connected. Try again in a "
                "moment."
            ),
            status=502,
        )
    store.forget_tokens(db, account_id=account.id, status="disconnected")
    end_other_sessions(db, request, person_id=person.id)  # TOS-1: copies of the cookie too
    if request.session.get(SESSION_ACCOUNT_KEY) == account.id:
        request.session.pop(SESSION_ACCOUNT_KEY, None)
    log.info("Account %s disconnected by its person.", account.id)
    return RedirectResponse("/accounts", status_code=303)


def my_data(db: Session, *, person_id: int) -> MyData:
    """What is stored about the person in plain words (DG-5), from the export itself, plus the
    uploaded files with their sizes (the export names the uploads; their files are read here)."""
    data = person_data(db, person_id=person_id)
    files: list[StoredFile] = []
    total = 0
    for row in data.get("uploads", []):
        try:
            upload = upload_store.get_upload(db, person_id=person_id, upload_id=str(row["id"]))
        except upload_store.UploadNotFoundError:
            continue
        for f in upload.files:
            total += f.received
            files.append(
                StoredFile(
                    name=f.filename,
                    size=plain_size(f.received),
                    uploaded=f.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                )
            )
    connected = frozenset(
        a.id for a in store.list_accounts(db, person_id=person_id) if a.is_connected
    )
    return MyData.of(data, files, total, connected)


def _data_page(
    request: Request, db: Session, person_id: int, message: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "account/data.html",
        {"data": my_data(db, person_id=person_id), "message": message},
        status_code=status,
    )


@router.get("/me/data", response_class=HTMLResponse, responses=html_route(SIGNED_IN, DATABASE))
def data_page(request: Request, person: CurrentPerson, db: DbSession) -> HTMLResponse:
    """What is stored about the person, in plain words, without secrets (DG-5)."""
    return _data_page(request, db, person.id)


@router.get("/me/data/export", response_model=Export, responses=answers(SIGNED_IN, DATABASE))
def export_data(person: CurrentPerson, db: DbSession) -> Response:
    """Everything stored about the person as a JSON download (DG-5)."""
    data = person_data(db, person_id=person.id)
    body = json.dumps({"directpost_export": 1, "data": data}, indent=2, ensure_ascii=False)
    return Response(
        body,
        media_type="application/json",
        headers={"content-disposition": 'attachment; filename="directpost-my-data.json"'},
    )


def _delete_media_bytes(store: MediaStore, keys: list[str], person_id: int) -> None:
    """Delete the bytes of the person's media (DG-5), after their rows are gone."""
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # one unreadable file must not stop the deletion of the rest
            log.warning("Could not delete a media file of person %s.", person_id, exc_info=True)


@router.post(
    "/me/data/delete",
    response_class=HTMLResponse,
    responses=answers(
        {
            200: page("Everything was deleted."),
            400: page("Not confirmed: nothing was deleted."),
            502: page("TikTok could not be reached: nothing was deleted yet."),
        },
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
        TIKTOK,
    ),
)
async def delete_everything(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    confirm: str = Form(""),
) -> Response:
    """Revoke every linked account at TikTok, then delete all of the person's data (DG-5)."""
    if confirm != "yes":
        return _data_page(
            request,
            db,
            person.id,
            _("Nothing was deleted: tick the box to confirm, then press delete."),
            status=400,
        )
    accounts = store.list_accounts(db, person_id=person.id)
    await run_in_threadpool(db.commit)
    unreachable = False
    for account in accounts:
        try:
            await revoke_at_tiktok(services, account)
        except RevokeUnreachableError:
            unreachable = True
    if unreachable:
        return render(
            request,
            "error.html",
            {
                "heading": _("Nothing was deleted yet"),
                "message": _(
                    "TikTok could not be reached to withdraw this site's access, so your data "
                    "was kept. Try again in a moment."
                ),
                "log_id": "",
                "retry_url": "/me/data",
                "retry_label": _("Back to My data"),
            },
            status_code=502,
        )
    media_store = services.media_store

    def delete_rows() -> list[str]:
        keys = upload_store.storage_keys_for_person(db, person_id=person.id)
        # What they prepared for others and still waits: withdrawn, its media removed.
        keys += preparing.withdraw_all_of(db, person_id=person.id, now=utcnow())
        store.delete_person(db, person_id=person.id)
        session_store.end_person_sessions(db, person_id=person.id)  # every browser (TOS-1)
        db.commit()
        return keys

    keys = await run_in_threadpool(delete_rows)
    await run_in_threadpool(_delete_media_bytes, media_store, keys, person.id)
    request.session.clear()
    request.state.person_view = None
    log.info("Person %s deleted all their data.", person.id)
    return render(
        request,
        "error.html",
        {
            "heading": _("Your data has been deleted"),
            "message": _(
                "Every linked TikTok account was disconnected and everything this site kept "
                "about you was deleted. Posts already published on TikTok stay on TikTok."
            ),
            "log_id": "",
            "retry_url": "",
            "retry_label": "",
        },
    )
