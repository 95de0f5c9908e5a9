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
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost import rules
from directpost.config import Settings
from directpost.publishing.budgets import Budgets
from directpost.publishing.drafts import blocked_creator_facts, creator_facts
from directpost.publishing.policy import posting_policy
from directpost.publishing.wiring import Services
from directpost.rules import CreatorFacts
from directpost.store import uploads as upload_store
from directpost.store.accounts import Person, TikTokAccount
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
from directpost.web.deps import (
    CurrentAccount,
    CurrentPerson,
    DbSession,
    ServicesDep,
    access_token_for_account,
)
from directpost.web.i18n import _
from directpost.web.security import require_csrf
from directpost.web.templating import render

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


async def spend_creator_info_budget(budgets: Budgets, account: TikTokAccount) -> None:
    """Count this render's creator_info call against the creator's 20 a minute (CAP-4), shared
    with publish jobs, so the page never makes TikTok answer 429 and never starves a job."""
    waited = 0.0
    while (wait := await run_in_threadpool(budgets.try_spend, account.open_id, "creator_info")) > 0:
        if waited + wait > MAX_BUDGET_WAIT_S:
            raise CreatorInfoUnavailableError(
                _(
                    "TikTok allows only a few requests a minute for each account, and this "
                    "account has used them. Wait a minute, then reload the page."
                )
            )
        await asyncio.sleep(wait)
        waited += wait


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


def _upload_and_policy(
    db: Session, *, person_id: int, upload_id: str, settings: Settings, open_id: str
) -> tuple[Upload | None, rules.MediaFacts, rules.AppPolicy]:
    """The database side of a render, run in a worker thread (never block the event loop)."""
    chosen = _load_upload(db, person_id=person_id, upload_id=upload_id)
    media = compose_form.media_facts(chosen)  # loads the files for the template too
    policy = posting_policy(db, settings, open_id=open_id, now=utcnow())
    db.commit()
    return chosen, media, policy


def _remember(request: Request, account: TikTokAccount, creator: CreatorFacts) -> None:
    request.session[SNAPSHOT_KEY] = {"account_id": account.id, **dataclasses.asdict(creator)}


def _remembered(request: Request, account: TikTokAccount) -> CreatorFacts | None:
    raw = request.session.get(SNAPSHOT_KEY)
    if not isinstance(raw, dict) or raw.get("account_id") != account.id:
        return None
    fields = {f.name for f in dataclasses.fields(CreatorFacts)}
    values: dict[str, Any] = {k: v for k, v in raw.items() if k in fields}
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
class ComposeRequest:
    """What both Post page routes work with: the request, who asks, for which TikTok account,
    and the app's services to ask TikTok and the database."""

    request: Request
    person: Person
    account: TikTokAccount
    db: Session
    services: Services

    async def creator_info_now(self) -> CreatorFacts:
        """creator_info asked of TikTok now, and kept for this account's control updates."""
        creator = await fetch_creator_info(self.services, self.account, self.db)
        _remember(self.request, self.account, creator)
        return creator

    async def render_compose(
        self,
        template: str,
        creator: CreatorFacts,
        upload_id: str,
        make_draft: Callable[[rules.MediaFacts], rules.Draft],
    ) -> Response:
        """`template` rendered from `rules.compose_state` for the draft over the chosen upload."""
        chosen, media, policy = await run_in_threadpool(
            lambda: _upload_and_policy(
                self.db,
                person_id=self.person.id,
                upload_id=upload_id,
                settings=self.services.settings,
                open_id=self.account.open_id,
            )
        )
        draft = make_draft(media)
        state = rules.compose_state(creator, draft, policy)
        return render(self.request, template, {"state": state, "upload": chosen, "draft": draft})


async def _compose_request(
    request: Request,
    person: CurrentPerson,
    account: CurrentAccount,
    db: DbSession,
    services: ServicesDep,
) -> ComposeRequest:
    return ComposeRequest(request, person, account, db, services)


ComposeRequestDep = Annotated[ComposeRequest, Depends(_compose_request)]


@router.get("/compose", response_class=HTMLResponse)
async def compose_page(compose: ComposeRequestDep, upload: str = "") -> Response:
    """The Post page, built from a creator_info fetched for this render (UX-1)."""
    request = compose.request
    try:
        creator = await compose.creator_info_now()
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
    return await compose.render_compose(
        "compose/page.html", creator, upload, lambda media: rules.Draft(media=media)
    )


@router.post("/compose/state", response_class=HTMLResponse)
async def compose_controls(compose: ComposeRequestDep) -> Response:
    """The page's controls re-rendered for the form as it is now (no rule runs in the browser)."""
    form = await compose.request.form()
    creator = _remembered(compose.request, compose.account)
    if creator is None:  # page rendered for another account, or the session is new
        try:
            creator = await compose.creator_info_now()
        except CreatorInfoUnavailableError as exc:
            return HTMLResponse(
                f'<p class="notice notice-error" role="alert">{escape(str(exc))}</p>',
                status_code=503,
            )
    raw_id = form.get("upload_id")
    upload_id = raw_id if isinstance(raw_id, str) else ""
    return await compose.render_compose(
        "compose/_controls.html",
        creator,
        upload_id,
        lambda media: compose_form.parse_draft(form, media=media),
    )


@router.get("/compose/preview", response_class=HTMLResponse)
def compose_preview(
    request: Request, person: CurrentPerson, db: DbSession, upload: str = ""
) -> Response:
    """The preview of exactly what will be posted (UX-5a), once an upload is checked."""
    chosen = _load_upload(db, person_id=person.id, upload_id=upload)
    if chosen is None:
        return HTMLResponse(status_code=404)
    draft = rules.Draft(media=compose_form.media_facts(chosen))
    return render(request, "compose/_preview.html", {"upload": chosen, "draft": draft})
