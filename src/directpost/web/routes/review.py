"""To review (issue 18): the posts scripts, teammates and agents prepared, waiting for the
account's owner — the one way out of the prepared-posts API.

- `GET /review` lists them (and the latest decided ones);
- `GET /review/{id}` opens the Post page for one (`/compose?prepared={id}`) with every rule:
  creator_info asked for that render (UX-1), the suggested caption filled in and editable
  (UX-5b), and nothing chosen that the rules make the creator choose — privacy has no default
  even when one was suggested (the suggestion is shown as text, UX-2b), the interaction toggles
  and the disclosure start off (UX-2c, UX-3a);
- `POST /review/{id}/confirm` is that page's publish button: the same consent step as
  `POST /posts` (UX-5c), and the prepared post becomes the post it made;
- `POST /review/{id}/reject` turns it down with a reason its preparer reads.

Only the account's owner reaches any of these (`store.prepared.get_for_owner`): a member, or
anyone else, gets the 404 of an id that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.publishing import prepared as preparing
from directpost.publishing import service
from directpost.rules.model import PRIVACY_LABELS, Violation
from directpost.store import prepared as store
from directpost.store.accounts import TikTokAccount
from directpost.store.base import utcnow
from directpost.store.uploads import UploadFile
from directpost.web.api_contract import (
    ACCOUNT_CHANGE,
    CHANGE,
    DATABASE,
    INVALID,
    NOT_FOUND,
    POST_FORM,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    TIKTOK,
    Refusal,
    answers,
    either,
    form_body,
    html_route,
    redirect,
)
from directpost.web.deps import CurrentAccount, CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.post_views import in_time_zone
from directpost.web.routes.post_form import read_post_form, refusal_page
from directpost.web.security import require_csrf
from directpost.web.templating import SESSION_ACCOUNT_KEY, render

router = APIRouter(tags=["review"], dependencies=[Depends(require_csrf)])


@dataclass(frozen=True, slots=True)
class ReviewTarget:
    """What the Post page needs to open a prepared post."""

    id: int
    account_id: int
    upload_id: str
    title: str
    description: str
    scheduled_local: str
    time_zone: str
    prepared_by: str
    note: str
    #: The suggested privacy in words ("Everyone"), shown beside the unchosen control.
    suggestion: str


def _owned(db: Session, person_id: int, prepared_id: int) -> store.PreparedPost:
    row = store.get_for_owner(db, person_id=person_id, prepared_id=prepared_id)
    if row is None:
        raise HTTPException(status_code=404)
    return row


def review_target(db: Session, *, person_id: int, prepared_id: int) -> ReviewTarget | str | None:
    """The prepared post to open on the Post page (owner only); a sentence when it has been
    decided already; None when it is not theirs or does not exist."""
    row = store.get_for_owner(db, person_id=person_id, prepared_id=prepared_id)
    if row is None:
        return None
    if row.state != store.TO_REVIEW:
        return _("This prepared post has been decided already (%(state)s).") % {
            "state": _(row.state.replace("_", " "))
        }
    scheduled = (
        in_time_zone(row.schedule_suggestion, row.time_zone).replace(" ", "T")
        if row.schedule_suggestion is not None
        else ""
    )
    return ReviewTarget(
        id=row.id,
        account_id=row.account_id,
        upload_id=row.upload_id or "",
        title=row.title,
        description=row.description,
        scheduled_local=scheduled if scheduled[:4].isdigit() else "",
        time_zone=row.time_zone,
        prepared_by=row.prepared_by_name,
        note=row.note,
        suggestion=_(PRIVACY_LABELS.get(row.privacy_suggestion, "")),
    )


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    state: str
    title: str
    account: str
    prepared_by: str
    note: str
    suggestion: str
    scheduled: str
    reason: str
    post_id: int | None
    kind: str
    #: The first file, played back from the owner's upload (the thumbnail).
    media_url: str


def _first_files(db: Session, upload_ids: list[str]) -> dict[str, str]:
    """The first file's address of each upload (one statement)."""
    if not upload_ids:
        return {}
    rows = db.execute(
        select(UploadFile.upload_id, UploadFile.id).where(
            UploadFile.upload_id.in_(upload_ids), UploadFile.position == 0
        )
    )
    return {upload_id: f"/uploads/{upload_id}/files/{file_id}" for upload_id, file_id in rows}


def _items(db: Session, person_id: int) -> tuple[list[ReviewItem], list[ReviewItem]]:
    rows = store.list_visible(db, person_id=person_id, limit=100)
    media = _first_files(
        db, [r.upload_id for r in rows if r.upload_id and r.state == store.TO_REVIEW]
    )
    names = {
        a.id: a.display_name or a.open_id
        for a in db.query(TikTokAccount).filter(TikTokAccount.person_id == person_id)
    }
    items = [
        ReviewItem(
            id=row.id,
            state=row.state,
            title=row.title,
            account=names.get(row.account_id, ""),
            prepared_by=row.prepared_by_name,
            note=row.note,
            suggestion=_(PRIVACY_LABELS.get(row.privacy_suggestion, "")),
            scheduled=(
                in_time_zone(row.schedule_suggestion, row.time_zone)
                if row.schedule_suggestion is not None
                else ""
            ),
            reason=row.reason,
            post_id=row.post_id,
            kind=row.kind,
            media_url=media.get(row.upload_id or "", ""),
        )
        for row in rows
        if row.account_id in names  # what this person owns; what they prepared elsewhere is
        # read through the API
    ]
    waiting = [i for i in items if i.state == store.TO_REVIEW]
    decided = [i for i in items if i.state != store.TO_REVIEW][:20]
    return waiting, decided


@router.get("/review", response_class=HTMLResponse, responses=html_route(SIGNED_IN, DATABASE))
def review_list(request: Request, person: CurrentPerson, db: DbSession) -> HTMLResponse:
    """The prepared posts waiting for this person, and the latest decided ones."""
    waiting, decided = _items(db, person.id)
    return render(request, "review/list.html", {"waiting": waiting, "decided": decided})


@router.get(
    "/review/{prepared_id}",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {303: redirect("To the Post page for it (its account chosen), or back to the list.")},
        NOT_FOUND,
        SIGNED_IN,
        DATABASE,
        INVALID,
    ),
)
def open_review(
    request: Request, prepared_id: int, person: CurrentPerson, db: DbSession
) -> Response:
    """Open the Post page for a prepared post, posting with its account."""
    row = _owned(db, person.id, prepared_id)
    if row.state != store.TO_REVIEW:
        if row.post_id is not None:
            return RedirectResponse(f"/posts/{row.post_id}", status_code=303)
        return RedirectResponse("/review", status_code=303)
    request.session[SESSION_ACCOUNT_KEY] = row.account_id
    return RedirectResponse(f"/compose?prepared={prepared_id}", status_code=303)


@router.post(
    "/review/{prepared_id}/confirm",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Confirmed and queued: to the post's page."),
            409: either("Decided already, or another account is active.", Refusal),
            422: either("Refused: the rules it breaks; nothing was published.", Refusal),
            503: either("TikTok did not answer creator_info: nothing was published.", Refusal),
        },
        NOT_FOUND,
        SIGNED_IN_CHANGE,
        ACCOUNT_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
        TIKTOK,
    ),
    openapi_extra=POST_FORM,
)
async def confirm_prepared(
    request: Request,
    prepared_id: int,
    person: CurrentPerson,
    account: CurrentAccount,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """The creator chose every control for a prepared post and pressed publish: the consent
    step of `POST /posts` (UX-5c); the prepared post then points at the post it made."""
    back = f"/review/{prepared_id}"
    row = await run_in_threadpool(_owned, db, person.id, prepared_id)
    if row.state != store.TO_REVIEW:
        message = _("This prepared post has been decided already.")
        return refusal_page(request, [Violation("review", message)], status=409, back="/review")
    if row.account_id != account.id:
        message = _("Switch to the account this post was prepared for, then confirm.")
        return refusal_page(request, [Violation("review", message)], status=409, back=back)
    chosen = await read_post_form(request, db, services, person.id, account, back=back)
    if isinstance(chosen, Response):
        return chosen
    submission = chosen.submission(person.id, account)

    def store_post() -> int:
        now = utcnow()
        post = service.submit_post(db, settings=services.settings, submission=submission, now=now)
        preparing.confirmed(db, row, post, now=now)
        db.commit()
        return post.id

    try:
        post_id = await run_in_threadpool(store_post)
    except service.PublishRefused as refused:
        await run_in_threadpool(db.rollback)
        return refusal_page(request, refused.violations, back=back)
    except preparing.PrepareRefused as refused:
        await run_in_threadpool(db.rollback)
        violations = [Violation("review", _(p)) for p in refused.problems]
        return refusal_page(request, violations, status=409, back="/review")
    return RedirectResponse(f"/posts/{post_id}?published=1", status_code=303)


@router.post(
    "/review/{prepared_id}/reject",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Turned down: back to the list."),
            409: either("Decided already.", Refusal),
        },
        NOT_FOUND,
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
    openapi_extra=form_body(reason={"type": "string"}),
)
async def reject_prepared(
    request: Request, prepared_id: int, person: CurrentPerson, db: DbSession, services: ServicesDep
) -> Response:
    """Turn a prepared post down; its preparer reads the reason, its media is removed."""
    form = await request.form()
    reason = str(form.get("reason") or "")

    def reject() -> list[str]:
        _row, keys = preparing.reject(
            db, owner_id=person.id, prepared_id=prepared_id, reason=reason, now=utcnow()
        )
        db.commit()
        return keys

    try:
        keys = await run_in_threadpool(reject)
    except preparing.PrepareRefused as refused:
        await run_in_threadpool(db.rollback)
        if refused.status == 404:
            raise HTTPException(status_code=404) from None
        violations = [Violation("review", _(p)) for p in refused.problems]
        return refusal_page(request, violations, status=409, back="/review")
    for key in keys:
        await run_in_threadpool(services.media_store.delete, key)
    return RedirectResponse("/review?rejected=1", status_code=303)
