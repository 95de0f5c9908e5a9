"""Personal access tokens on the Accounts page (issue 18): make one (shown once), see them, revoke.

A token lets a script, a teammate's tool or an AI agent use the prepared-posts API
(docs/api.md) as the person: `read` reads accounts, prepared posts and posts; `prepare`
uploads media and prepares posts. No token can publish: the creator confirms every post on the
Post page (UX-5c). Only the token's hash is stored (`store.team`), so the page that makes a
token is the only place it is ever shown; it is rendered in the answer to the POST, never put in
the session or a redirect.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from directpost.store import team
from directpost.store.base import utcnow
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    SIGNED_IN_CHANGE,
    answers,
    form_body,
    page,
    redirect,
)
from directpost.web.deps import CurrentPerson, DbSession
from directpost.web.i18n import _
from directpost.web.security import require_csrf
from directpost.web.views import plain_date

router = APIRouter(dependencies=[Depends(require_csrf)])

SCOPE_WORDS = {
    "read": "read accounts, prepared posts and posts",
    "prepare": "upload media and prepare posts for review",
}


def _when(moment: Any) -> str:
    return plain_date(moment.isoformat()) if moment is not None else ""


def _token_rows(tokens: list[team.ApiToken]) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "name": t.name,
            "hint": t.hint,
            "scopes": sorted(t.scope_set),
            "created": _when(t.created_at),
            "last_used": _when(t.last_used_at),
            "revoked": _when(t.revoked_at),
        }
        for t in tokens
    ]


def tokens_context(request: Request) -> dict[str, Any]:
    """What the Accounts page's token section shows (one query, its own short session)."""
    view = getattr(request.state, "person_view", None)
    if view is None:
        return {"api_tokens": [], "scope_words": SCOPE_WORDS}
    with request.app.state.services.factory() as db:
        tokens = team.list_tokens(db, person_id=view.id)
        return {"api_tokens": _token_rows(tokens), "scope_words": SCOPE_WORDS}


def _page(request: Request, *, message: str = "", status: int = 200, **extra: Any) -> HTMLResponse:
    from directpost.web.routes.account import _accounts_page

    return _accounts_page(request, message, status, **extra)


@router.post(
    "/accounts/tokens",
    response_class=HTMLResponse,
    responses=answers(
        {
            200: page("The Accounts page, showing the new token once."),
            422: page("No scope chosen, or too many tokens."),
        },
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
    openapi_extra=form_body(
        name={"type": "string"}, scope={"type": "string", "enum": list(team.SCOPES)}
    ),
)
async def create_token(request: Request, person: CurrentPerson, db: DbSession) -> Response:
    """Make a token; the page shows it this once (only its hash is kept)."""
    form = await request.form()
    name = str(form.get("name") or "").strip()[:100]
    scopes = frozenset(str(v) for v in form.getlist("scope")) & frozenset(team.SCOPES)
    if not name:
        return _page(
            request, message=_("Give the token a name, to tell it apart later."), status=422
        )
    if not scopes:
        return _page(request, message=_("Choose what the token may do."), status=422)

    def make() -> team.NewToken:
        made = team.create_token(db, person_id=person.id, name=name, scopes=scopes, now=utcnow())
        db.commit()
        return made

    try:
        made = await run_in_threadpool(make)
    except team.TooManyTokensError as exc:
        await run_in_threadpool(db.rollback)
        return _page(request, message=_(str(exc)), status=422)
    return _page(request, new_token={"name": made.row.name, "secret": made.secret})


@router.post(
    "/accounts/tokens/{token_id}/revoke",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {303: redirect("Revoked (or already): back to the Accounts page.")},
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
)
def revoke_token(token_id: int, person: CurrentPerson, db: DbSession) -> Response:
    """Revoke one of the person's tokens; its next request is refused."""
    team.revoke_token(db, person_id=person.id, token_id=token_id, now=utcnow())
    return RedirectResponse("/accounts#api-tokens", status_code=303)
