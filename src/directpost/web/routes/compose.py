"""The Post page: `/compose` and the controls it re-renders as the user changes the form.

`GET /compose` asks TikTok for this creator's creator_info on every render (UX-1), and builds the
page from `rules.compose_state` alone. `POST /compose/state` answers each form change with the
re-rendered controls, computed by the same function, so no rule lives in JavaScript.

The controls endpoint uses the creator_info fetched when the page was rendered (kept, signed, in
the session for that account) rather than a new one per keystroke: creator_info allows 20
requests a minute per creator (CAP-4), and the publish route fetches it afresh anyway before
anything is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost import rules
from directpost.publishing.budgets import Budgets
from directpost.publishing.drafts import blocked_creator_facts, creator_facts
from directpost.publishing.policy import posting_policy
from directpost.publishing.wiring import Services
from directpost.rules import CreatorFacts
from directpost.store import accounts as store_accounts
from directpost.store import posts as store_posts
from directpost.store import uploads as upload_store
from directpost.store.accounts import TikTokAccount
from directpost.store.base import utcnow
from directpost.store.uploads import Upload, UploadNotFoundError
from directpost.tiktok import (
    APIError,
    AsyncTikTokClient,
    CreatorCannotPostError,
    RateLimitedError,
    TikTokError,
)
from directpost.web import compose_form
from directpost.web.api_contract import (
    ACCOUNT,
    ACCOUNT_CHANGE,
    CHANGE,
    DATABASE,
    INVALID,
    NOT_FOUND,
    POST_FORM,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    TIKTOK,
    html_route,
    page,
    redirect,
)
from directpost.web.deps import (
    AccountRequiredError,
    CurrentPerson,
    DbSession,
    ServicesDep,
    SignInRequiredError,
    access_token_for_account,
    active_account,
    next_path,
    refreshed_access_token,
)
from directpost.web.i18n import _
from directpost.web.routes.compose_targets import edit_target_page, review_target_page
from directpost.web.schedule_field import ScheduledDay, ScheduleField, caps_of_the_day
from directpost.web.security import require_csrf
from directpost.web.sessions import session_person
from directpost.web.templating import SESSION_ACCOUNT_KEY, SESSION_PERSON_KEY, render
from directpost.web.views import PersonView

router = APIRouter(tags=["compose"], dependencies=[Depends(require_csrf)])

#: Session key of the creator_info snapshot taken when the page was last rendered.
SNAPSHOT_KEY = "compose_creator"


class CreatorInfoUnavailableError(Exception):
    """TikTok did not answer creator_info; the page cannot be built without it (UX-1)."""

    def __init__(self, message: str, *, log_id: str = "") -> None:
        super().__init__(message)
        self.log_id = log_id


async def fetch_creator_facts(
    client: AsyncTikTokClient, *, access_token: str, account: TikTokAccount
) -> CreatorFacts:
    """creator_info for this creator, asked of TikTok now (UX-1: never from a cache)."""
    try:
        # https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
        info = await client.creator_info(access_token=access_token)
    except CreatorCannotPostError as exc:
        return blocked_creator_facts(
            exc, nickname=account.display_name, avatar_url=account.avatar_url
        )
    except RateLimitedError as exc:
        raise CreatorInfoUnavailableError(
            _("TikTok asks us to slow down for this account. Wait a minute, then reload the page."),
            log_id=exc.log_id,
        ) from exc
    except APIError as exc:
        raise CreatorInfoUnavailableError(
            _(
                "TikTok did not tell us what this account may post (%(code)s). Reload the page "
                "to try again."
            )
            % {"code": exc.code},
            log_id=exc.log_id,
        ) from exc
    except TikTokError as exc:
        raise CreatorInfoUnavailableError(
            _("TikTok could not be reached. Nothing was sent. Reload the page to try again.")
        ) from exc
    return creator_facts(info)


#: Longest a page render waits for creator_info budget before saying "reload in a minute".
MAX_BUDGET_WAIT_S = 3.0


async def spend_creator_info_budget(
    budgets: Budgets, account: TikTokAccount, *, first_answer: float | None = None
) -> None:
    """Count this render's creator_info call against the creator's 20 a minute (CAP-4), shared
    with publish jobs, so the page never makes TikTok answer 429 and never starves a job.

    `first_answer` is what `try_spend` already said for this render (spent in the render's one
    database hop): 0 means spent, more means wait that long and ask again.
    """
    waited = 0.0
    wait = first_answer
    if wait is None:
        wait = await run_in_threadpool(budgets.try_spend, account.open_id, "creator_info")
    while wait > 0:
        if waited + wait > MAX_BUDGET_WAIT_S:
            raise CreatorInfoUnavailableError(
                _(
                    "TikTok allows only a few requests a minute for each account, and this "
                    "account has used them. Wait a minute, then reload the page."
                )
            )
        await asyncio.sleep(wait)
        waited += wait
        wait = await run_in_threadpool(budgets.try_spend, account.open_id, "creator_info")


async def fetch_creator_info(
    services: Services, account: TikTokAccount, db: Session
) -> CreatorFacts:
    """creator_info asked of TikTok now: token, shared budget (CAP-4), one call (UX-1).

    The app's client sends the request once: a 429 or 5xx is shown to the person ("reload in
    a minute"), never resent outside the budget.
    """
    client = services.tiktok_client
    if client is None:
        raise CreatorInfoUnavailableError(_("This app has no TikTok connection configured."))
    access_token = await access_token_for_account(account, db=db, services=services, client=client)
    await spend_creator_info_budget(services.budgets, account)
    return await fetch_creator_facts(client, access_token=access_token, account=account)


#: CreatorFacts' field names, in order (the session snapshot holds exactly these).
_CREATOR_FIELDS = tuple(f.name for f in dataclasses.fields(CreatorFacts))


def _remember(request: Request, account: TikTokAccount, creator: CreatorFacts) -> None:
    # Flat fields only (no deep copy as `dataclasses.asdict` makes): the session is JSON.
    snapshot: dict[str, Any] = {name: getattr(creator, name) for name in _CREATOR_FIELDS}
    snapshot["privacy_level_options"] = list(creator.privacy_level_options)
    request.session[SNAPSHOT_KEY] = {"account_id": account.id, **snapshot}


def _remembered(request: Request, account: TikTokAccount) -> CreatorFacts | None:
    raw = request.session.get(SNAPSHOT_KEY)
    if not isinstance(raw, dict) or raw.get("account_id") != account.id:
        return None
    values: dict[str, Any] = {k: v for k, v in raw.items() if k in _CREATOR_FIELDS}
    values["privacy_level_options"] = tuple(values.get("privacy_level_options", ()))
    try:
        return CreatorFacts(**values)
    except TypeError:
        return None


def _load_upload(db: Session, *, person_id: int, upload_id: str) -> Upload | None:
    if not upload_id:
        return None
    try:
        return upload_store.get_upload(db, person_id=person_id, upload_id=upload_id)
    except UploadNotFoundError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Reads:
    """What a render needs from the database, read in its one trip to a worker thread."""

    view: PersonView
    account: TikTokAccount
    #: The stored access token, or None when it must be refreshed first.
    access_token: str | None
    upload: Upload | None
    media: rules.MediaFacts
    policy: rules.AppPolicy
    #: `try_spend`'s answer for this render's creator_info (0: spent), None when not asked.
    budget_answer: float | None
    #: The day "publish later" points at (or why its time cannot be read), and what is planned
    #: that day: the caps of that day are shown beside the field (CAP-1, CAP-3, CAP-5).
    day: ScheduledDay | str | None = None
    day_plan: store_posts.DayPlan | None = None


def _read_for_render(
    services: Services,
    *,
    request: Request,
    upload_id: str,
    can_ask: bool,
    snapshot_of: int | None,
    day: ScheduledDay | str | None = None,
) -> _Reads | None:
    """Everything a Post page render reads, in one worker-thread trip (blocking I/O): the person
    with their accounts (one statement), the chosen upload, the caps' counts (one statement),
    then, with the read transaction over and its connection back in the pool, one creator_info
    spent from the shared budget (one statement, CAP-4).

    The budget is spent when the app `can_ask` TikTok (it has a client) and the session holds
    no creator_info snapshot of the chosen account (`snapshot_of`: the controls endpoint reuses
    it). None when the person no longer exists; `AccountRequiredError` without a connected
    account.
    """
    with services.factory() as db:
        person = session_person(db, request)  # with the session's row: one statement (TOS-1)
        if person is None:
            return None
        active_id = request.session.get(SESSION_ACCOUNT_KEY)
        view = PersonView.of(person, active_id if isinstance(active_id, int) else None)
        account = active_account(person, view)
        try:
            token = store_accounts.usable_access_token(
                account, cipher=services.cipher, now=utcnow()
            )
        except store_accounts.AccountNotConnectedError as exc:
            raise AccountRequiredError() from exc
        upload = _load_upload(db, person_id=person.id, upload_id=upload_id)
        media = compose_form.media_facts(upload)  # loads the files for the template too
        policy = posting_policy(db, services.settings, open_id=account.open_id, now=utcnow())
        plan = (
            store_posts.day_plan(db, open_id=account.open_id, start=day.start, end=day.end)
            if isinstance(day, ScheduledDay)
            else None
        )
    spend = can_ask and snapshot_of != account.id
    answer = services.budgets.try_spend(account.open_id, "creator_info") if spend else None
    return _Reads(view, account, token, upload, media, policy, answer, day, plan)


async def _reads(
    request: Request,
    services: Services,
    *,
    upload_id: str,
    snapshot_of: int | None,
    day: ScheduledDay | str | None = None,
) -> _Reads:
    """The render's reads (`_read_for_render`) for whoever is signed in; sends a signed-out
    visitor (or a stale session) to sign in, like `CurrentPerson` / `CurrentAccount`."""
    reads = await run_in_threadpool(
        _read_for_render,
        services,
        request=request,
        upload_id=upload_id,
        can_ask=services.tiktok_client is not None,
        snapshot_of=snapshot_of,
        day=day,
    )
    if reads is None:
        request.session.pop(SESSION_PERSON_KEY, None)
        request.session.pop(SESSION_ACCOUNT_KEY, None)
        raise SignInRequiredError(next_path(request))
    request.state.person_view = reads.view  # the layout shows who posts
    return reads


async def _creator_info_now(request: Request, services: Services, reads: _Reads) -> CreatorFacts:
    """creator_info asked of TikTok now (UX-1), from the budget the reads spent (CAP-4), and
    kept for this account's control updates."""
    client = services.tiktok_client
    if client is None:
        raise CreatorInfoUnavailableError(_("This app has no TikTok connection configured."))
    account = reads.account
    if reads.budget_answer != 0:  # not spent yet, or asked to wait
        await spend_creator_info_budget(services.budgets, account, first_answer=reads.budget_answer)
    token = reads.access_token
    if token is None:  # expires soon: refresh under the account's lease (no connection held)
        token = await refreshed_access_token(account, services=services, client=client)
    creator = await fetch_creator_facts(client, access_token=token, account=account)
    _remember(request, account, creator)
    return creator


def _render_controls(
    request: Request,
    template: str,
    creator: CreatorFacts,
    reads: _Reads,
    draft: rules.Draft,
    schedule: ScheduleField | None = None,
    editing: Any = None,
    reviewing: Any = None,
) -> Response:
    state = rules.compose_state(creator, draft, reads.policy)
    context = {
        "editing": editing,
        "reviewing": reviewing,
        "state": state,
        "upload": reads.upload,
        "draft": draft,
        "schedule": schedule or ScheduleField(),
        "schedule_problem": reads.day if isinstance(reads.day, str) else "",
        "day_caps": (
            caps_of_the_day(reads.day, reads.day_plan, mode=draft.mode, policy=reads.policy)
            if isinstance(reads.day, ScheduledDay) and reads.day_plan is not None
            else []
        ),
    }
    return render(request, template, context)


@router.get(
    "/compose",
    response_class=HTMLResponse,
    responses=html_route(
        {
            303: redirect("Editing a post of another account: first to switch to it."),
            409: page("The post cannot be edited any more (it has gone to TikTok)."),
            503: page("The Post page cannot be shown: TikTok did not answer."),
        },
        NOT_FOUND,
        SIGNED_IN,
        ACCOUNT,
        DATABASE,
        INVALID,
        TIKTOK,
    ),
)
async def compose_page(
    request: Request, services: ServicesDep, upload: str = "", post: int = 0, prepared: int = 0
) -> Response:
    """The Post page, built from a creator_info fetched for this render (UX-1).

    One trip to a worker thread reads the person, the upload and the caps and spends the
    creator_info budget; then TikTok is asked, holding no database connection. Its render
    time is measured in memory (DG-3: the operator page's Post page latency).
    """
    started = time.perf_counter()
    outcome = "not_rendered"  # sent to sign in, or to connect an account
    try:
        response = await _compose_page(request, services, upload, post, prepared)
        outcome = "ok" if response.status_code == 200 else f"http_{response.status_code}"
        return response
    finally:
        services.measures.record("page", "compose", time.perf_counter() - started, outcome)


async def _compose_page(
    request: Request, services: Services, upload: str, post_id: int, prepared_id: int = 0
) -> Response:
    editing = await edit_target_page(request, services, post_id) if post_id else None
    if isinstance(editing, Response):
        return editing
    reviewing = (
        await review_target_page(request, services, prepared_id)
        if prepared_id and editing is None
        else None
    )
    if isinstance(reviewing, Response):
        return reviewing
    target = editing or reviewing
    if target is not None and not upload:
        upload = target.upload_id  # the post's own media, until the creator uploads others
    reads = await _reads(request, services, upload_id=upload, snapshot_of=None)
    try:
        creator = await _creator_info_now(request, services, reads)
    except CreatorInfoUnavailableError as exc:
        request.session.pop(SNAPSHOT_KEY, None)
        return render(
            request,
            "error.html",
            {
                "heading": _("The Post page cannot be shown right now"),
                "message": str(exc),
                "log_id": exc.log_id,
                "retry_url": str(request.url.path),
                "retry_label": _("Try again"),
            },
            status_code=503,
        )
    if target is None:
        draft = rules.Draft(media=reads.media)
        return _render_controls(request, "compose/page.html", creator, reads, draft)
    if target.account_id != reads.account.id:
        reopen = f"/posts/{target.id}/edit" if editing else f"/review/{target.id}"
        return RedirectResponse(reopen, status_code=303)
    # The creator's own words (or the suggested ones), editable (UX-5b); nothing the rules make
    # the creator choose is chosen (privacy, toggles, disclosure).
    draft = rules.Draft(media=reads.media, title=target.title, description=target.description)
    schedule = ScheduleField(at=target.scheduled_local, zone=target.time_zone, detect=False)
    return _render_controls(
        request,
        "compose/page.html",
        creator,
        reads,
        draft,
        schedule,
        editing=editing,
        reviewing=reviewing,
    )


def _snapshot_account(request: Request) -> int | None:
    raw = request.session.get(SNAPSHOT_KEY)
    account_id = raw.get("account_id") if isinstance(raw, dict) else None
    return account_id if isinstance(account_id, int) else None


@router.post(
    "/compose/state",
    response_class=HTMLResponse,
    responses=html_route(
        {503: page("TikTok did not answer: the controls cannot be shown.")},
        SIGNED_IN_CHANGE,
        ACCOUNT_CHANGE,
        CHANGE,
        DATABASE,
        TIKTOK,
    ),
    openapi_extra=POST_FORM,
)
async def compose_controls(request: Request, services: ServicesDep) -> Response:
    """The page's controls re-rendered for the form as it is now (no rule runs in the browser)."""
    form = await request.form()
    raw_id = form.get("upload_id")
    upload_id = raw_id if isinstance(raw_id, str) else ""
    schedule = ScheduleField.from_form(form)
    reads = await _reads(
        request,
        services,
        upload_id=upload_id,
        snapshot_of=_snapshot_account(request),
        day=schedule.day(),
    )
    creator = _remembered(request, reads.account)
    if creator is None:  # page rendered for another account, or the session is new
        try:
            creator = await _creator_info_now(request, services, reads)
        except CreatorInfoUnavailableError as exc:
            return HTMLResponse(
                f'<p class="notice notice-error" role="alert">{escape(str(exc))}</p>',
                status_code=503,
            )
    draft = compose_form.parse_draft(form, media=reads.media)
    editing = bool(form.get("edit_post"))  # the button says "Save changes"
    # A prepared post keeps its suggestion beside the privacy control (text, never chosen).
    suggestion = form.get("privacy_suggestion_label") if form.get("prepared_post") else None
    reviewing = {"suggestion": suggestion} if isinstance(suggestion, str) else None
    return _render_controls(
        request,
        "compose/_controls.html",
        creator,
        reads,
        draft,
        schedule,
        editing=editing,
        reviewing=reviewing,
    )


@router.get(
    "/compose/preview",
    response_class=HTMLResponse,
    responses=html_route(
        {404: page("No checked upload to preview.")}, SIGNED_IN, DATABASE, INVALID
    ),
)
def compose_preview(
    request: Request, person: CurrentPerson, db: DbSession, upload: str = ""
) -> Response:
    """The preview of exactly what will be posted (UX-5a), once an upload is checked."""
    chosen = _load_upload(db, person_id=person.id, upload_id=upload)
    if chosen is None:
        return HTMLResponse(status_code=404)
    draft = rules.Draft(media=compose_form.media_facts(chosen))
    return render(request, "compose/_preview.html", {"upload": chosen, "draft": draft})
