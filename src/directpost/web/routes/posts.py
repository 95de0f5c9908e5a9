"""Publishing from the browser: `POST /posts`, the posts list, each post's live status, and
editing or cancelling a scheduled post until it starts.

`POST /posts` is the consent step (UX-5c): the server re-reads the form with the Post page's own
parser, measures nothing from the browser, asks TikTok for creator_info now, validates with
`rules.validate`, and stores the post with what was shown. Only then can a job send anything.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.publishing import service
from directpost.publishing.drafts import draft_from_choices
from directpost.publishing.wiring import Services
from directpost.rules.model import CreatorFacts, Draft, Violation
from directpost.store import posts as store
from directpost.web import compose_form
from directpost.web.api_contract import (
    ACCOUNT_CHANGE,
    CHANGE,
    DATABASE,
    INVALID,
    NOT_FOUND,
    POST_FORM,
    SCHEDULE_FORM,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    TIKTOK,
    TOKEN_FORM,
    PostCreated,
    PostList,
    PostStatus,
    Refusal,
    Responses,
    answers,
    either,
    json_only,
    redirect,
)
from directpost.web.deps import (
    CurrentAccount,
    CurrentPerson,
    DbSession,
    ServicesDep,
    release_connection,
)
from directpost.web.i18n import _
from directpost.web.post_views import (
    FILTER_LABELS,
    STATE_FILTERS,
    consent_history,
    post_view,
)
from directpost.web.routes.post_form import (
    creator_facts_now,
    read_post_form,
    refusal_page,
    wants_json,
)
from directpost.web.security import require_csrf
from directpost.web.templating import render

router = APIRouter(tags=["posts"], dependencies=[Depends(require_csrf)])

#: What a change to one post answers: the post (JSON), or a browser goes to its page.
_CHANGED: Responses = {
    200: json_only("The post after the change.", PostStatus),
    303: redirect("Changed: to the post's page."),
}
_NOT_EDITABLE: Responses = {409: either("The post cannot be changed any more.", Refusal)}


@router.post(
    "/posts",
    response_model=PostCreated,
    status_code=201,
    responses=answers(
        {
            201: either("Queued (JSON); a browser is sent to the post's page.", PostCreated),
            303: redirect("Queued: to the post's page."),
            422: either("Refused: the rules it breaks; nothing was published.", Refusal),
            503: either("TikTok did not answer creator_info: nothing was published.", Refusal),
        },
        SIGNED_IN_CHANGE,
        ACCOUNT_CHANGE,
        CHANGE,
        DATABASE,
        TIKTOK,
    ),
    openapi_extra=POST_FORM,
)
async def publish(
    request: Request,
    person: CurrentPerson,
    account: CurrentAccount,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """The creator pressed publish: validate on the server, record consent, queue (UX-5c)."""
    chosen = await read_post_form(request, db, services, person.id, account, back="/compose")
    if isinstance(chosen, Response):
        return chosen
    submission = chosen.submission(person.id, account)

    def store_post() -> store.Post:
        post = service.submit_post(db, settings=services.settings, submission=submission)
        db.commit()
        return post

    try:
        post = await run_in_threadpool(store_post)
    except service.PublishRefused as refused:
        await run_in_threadpool(db.rollback)
        return refusal_page(request, refused.violations)
    if wants_json(request):
        return JSONResponse(
            {"id": post.id, "url": f"/posts/{post.id}", **post_view(post).as_json()},
            status_code=201,
        )
    return RedirectResponse(f"/posts/{post.id}?published=1", status_code=303)


@router.get(
    "/posts",
    response_model=PostList,
    responses=answers(
        {200: either("The posts (JSON with Accept: application/json).", PostList)},
        SIGNED_IN,
        DATABASE,
        INVALID,
    ),
)
def list_posts(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    state: str = "",
    account: int | None = None,
) -> Response:
    """The person's posts, newest first; `state` keeps one group of states (STATE_FILTERS),
    `account` one of the person's accounts (the calendar links here with the same two)."""
    chosen = state if state in STATE_FILTERS else ""
    accounts = [(a.id, a.display_name or a.open_id) for a in person.accounts]
    only = account if account in dict(accounts) else None
    posts = store.list_posts(db, person_id=person.id)
    if chosen:
        posts = [p for p in posts if p.state in STATE_FILTERS[chosen]]
    if only is not None:
        posts = [p for p in posts if p.account_id == only]
    views = [post_view(p) for p in posts]
    if wants_json(request):
        return JSONResponse({"posts": [v.as_json() for v in views]})
    filters = [(name, _(label)) for name, label in FILTER_LABELS.items()]
    return render(
        request,
        "posts/list.html",
        {
            "posts": views,
            "filters": filters,
            "chosen": chosen,
            "accounts": accounts,
            "account": only,
        },
    )


def own_post(db: Session, person_id: int, post_id: int) -> store.Post:
    post = store.get_post(db, post_id=post_id, person_id=person_id)
    if post is None:  # someone else's post looks exactly like a missing one
        raise HTTPException(status_code=404)
    return post


@router.get(
    "/posts/{post_id}",
    response_model=PostStatus,
    responses=answers(
        {200: either("The post (JSON with Accept: application/json).", PostStatus)},
        NOT_FOUND,
        SIGNED_IN,
        DATABASE,
        INVALID,
    ),
)
def show_post(request: Request, post_id: int, person: CurrentPerson, db: DbSession) -> Response:
    post = own_post(db, person.id, post_id)
    view = post_view(post)
    if wants_json(request):
        return JSONResponse(view.as_json())
    return render(
        request,
        "posts/detail.html",
        {
            "post": view,
            "just_published": request.query_params.get("published") == "1",
            "draft": draft_from_choices(post.choices),
            "consents": consent_history(post),
        },
    )


@router.get(
    "/posts/{post_id}/status",
    response_model=PostStatus,
    responses=answers(NOT_FOUND, SIGNED_IN, DATABASE, INVALID),
)
def post_status(post_id: int, person: CurrentPerson, db: DbSession) -> Response:
    """The live status the post page polls (UX-5e); post ids as strings."""
    return JSONResponse(post_view(own_post(db, person.id, post_id)).as_json())


@router.post(
    "/posts/{post_id}/cancel",
    response_model=PostStatus,
    responses=answers(
        _CHANGED, NOT_FOUND, _NOT_EDITABLE, SIGNED_IN_CHANGE, CHANGE, DATABASE, INVALID
    ),
    openapi_extra=TOKEN_FORM,
)
def cancel(request: Request, post_id: int, person: CurrentPerson, db: DbSession) -> Response:
    try:
        post = service.cancel_post(db, person_id=person.id, post_id=post_id)
    except LookupError as exc:
        raise HTTPException(status_code=404) from exc
    except service.PostNotEditable as exc:
        return refusal_page(
            request, [Violation("edit", str(exc))], status=409, back=f"/posts/{post_id}"
        )
    if wants_json(request):
        return JSONResponse(post_view(post).as_json())
    return RedirectResponse(f"/posts/{post_id}", status_code=303)


@router.post(
    "/posts/{post_id}/schedule",
    response_model=PostStatus,
    responses=answers(
        _CHANGED,
        {422: either("The time cannot be used; nothing was changed.", Refusal)},
        NOT_FOUND,
        _NOT_EDITABLE,
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
    openapi_extra=SCHEDULE_FORM,
)
async def reschedule(
    request: Request, post_id: int, person: CurrentPerson, db: DbSession
) -> Response:
    form = await request.form()
    back = _calendar_back(form.get("back")) or f"/posts/{post_id}"
    try:
        when, zone = service.parse_schedule(
            str(form.get("scheduled_at") or ""), str(form.get("time_zone") or "UTC")
        )
        post = service.reschedule_post(
            db, person_id=person.id, post_id=post_id, scheduled_at=when, time_zone=zone
        )
    except LookupError as exc:
        raise HTTPException(status_code=404) from exc
    except service.PublishRefused as refused:
        return refusal_page(request, refused.violations, back=back)
    except service.PostNotEditable as exc:
        return refusal_page(request, [Violation("edit", str(exc))], status=409, back=back)
    if wants_json(request):
        return JSONResponse(post_view(post).as_json())
    return RedirectResponse(back, status_code=303)


def _calendar_back(value: object) -> str:
    """Where the calendar's "Move" form returns after a move: the calendar's own address only
    (a form field must not send anyone to another site), else ""."""
    text = value if isinstance(value, str) else ""
    local = text.startswith("/calendar") and "//" not in text and "\\" not in text
    return text if local and text.isprintable() and len(text) <= 500 else ""


@router.post(
    "/posts/{post_id}/confirm",
    response_model=PostStatus,
    responses=answers(
        _CHANGED,
        {
            422: either("Refused: the rules it breaks; nothing was changed.", Refusal),
            503: either("TikTok did not answer creator_info: nothing was changed.", Refusal),
        },
        NOT_FOUND,
        _NOT_EDITABLE,
        SIGNED_IN_CHANGE,
        ACCOUNT_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
        TIKTOK,
    ),
    openapi_extra=POST_FORM,
)
async def confirm(
    request: Request,
    post_id: int,
    person: CurrentPerson,
    account: CurrentAccount,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """Confirm a post again after its settings changed (or after "try later"): the choices in
    the form are validated against creator_info fetched now, and a new consent is recorded."""

    def load() -> tuple[int, Any]:
        post = own_post(db, person.id, post_id)
        found = (post.account_id, draft_from_choices(post.choices))
        release_connection(db)
        return found

    post_account_id, stored = await run_in_threadpool(load)
    if post_account_id != account.id:
        return refusal_page(
            request,
            [Violation("edit", _("Switch to the account this post belongs to, then confirm."))],
            status=409,
            back=f"/posts/{post_id}",
        )
    form = await request.form()
    draft = compose_form.parse_draft(form, media=stored.media)
    facts = await creator_facts_now(services, account, db)
    if isinstance(facts, Violation):
        return refusal_page(request, [facts], status=503, back=f"/posts/{post_id}")

    return await save_confirmation(
        request,
        db,
        services,
        person_id=person.id,
        post_id=post_id,
        creator=facts,
        draft=draft,
        back=f"/posts/{post_id}",
    )


async def save_confirmation(
    request: Request,
    db: Session,
    services: Services,
    *,
    person_id: int,
    post_id: int,
    creator: CreatorFacts,
    draft: Draft,
    back: str,
    edit: service.Edit | None = None,
) -> Response:
    """Store the creator's confirmation (a new consent, the post queued anew:
    `service.reconfirm_post`) and answer with the post, or say plainly why nothing changed."""

    def save() -> store.Post:
        post = service.reconfirm_post(
            db,
            settings=services.settings,
            person_id=person_id,
            post_id=post_id,
            creator=creator,
            draft=draft,
            edit=edit,
        )
        db.commit()
        return post

    try:
        post = await run_in_threadpool(save)
    except LookupError as exc:
        raise HTTPException(status_code=404) from exc
    except service.PublishRefused as refused:
        await run_in_threadpool(db.rollback)
        return refusal_page(request, refused.violations, back=back)
    except service.PostNotEditable as exc:
        await run_in_threadpool(db.rollback)
        return refusal_page(request, [Violation("edit", str(exc))], status=409, back=back)
    if wants_json(request):
        return JSONResponse(post_view(post).as_json())
    return RedirectResponse(f"/posts/{post_id}?published=1", status_code=303)
