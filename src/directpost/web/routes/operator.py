"""The operator's settings page, `/operator`: how this deployment publishes, and how it went.

It exists only when the operator set `DIRECTPOST_OPERATOR_TOKEN` (or `_FILE`); otherwise every
path here answers 404, like any unknown page. Whoever presents the token (a form that marks the
session, or `Authorization: Bearer` for scripts; compared in constant time) sees:

- the media transfer mode and why (TECH-2: PULL_FROM_URL from per-attempt URLs by default;
  FILE_UPLOAD only when the operator chose it for a deployment without a public URL; photos
  are always pulled);
- whether the TikTok app is audited, and what that means (SELF_ONLY, the creator cap: CAP-1);
- the kinds of database, job queue, rate budgets and media storage in use (never their URLs);
- DG-3 figures from the database: posts by state in the last 24 h, success rate, median time
  to final; and charts over the last hour, day or week (`?window=`, `web.operator_charts`).
  Aggregates only, nothing about any one person.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import make_url

from directpost.config import Settings
from directpost.publishing.lockdown import lift, lock_down
from directpost.rules import creator_cap
from directpost.store import posts as post_store
from directpost.store.base import utcnow
from directpost.store.lockdown import LockdownView, recent_lockdowns
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    TOKEN_FORM,
    Responses,
    answers,
    either,
    html_route,
    page,
    redirect,
)
from directpost.web.deps import DbSession, ServicesDep, release_connection
from directpost.web.i18n import _
from directpost.web.operator_access import throttled_check
from directpost.web.operator_charts import (
    DEFAULT_WINDOW,
    OperatorCharts,
    operator_charts,
    window_links,
    window_name,
)
from directpost.web.security import require_csrf
from directpost.web.sessions import ensure_loaded, renew_session
from directpost.web.templating import render

router = APIRouter(tags=["operator"], dependencies=[Depends(require_csrf)])

#: Session key holding proof that this browser presented the operator token.
OPERATOR_SESSION_KEY = "operator"
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Without an operator token the operator's paths do not exist.
_NO_OPERATOR: Responses = {404: either("No operator token is set: there is no such page.")}
_ONLY_OPERATOR: Responses = answers(
    _NO_OPERATOR, {401: either("Sign in on the operator page first.")}
)


def _token(settings: Settings) -> str:
    return settings.operator_token.get_secret_value().strip()


def _session_proof(token: str) -> str:
    """What the session keeps: derived from the token, so changing the token signs everyone
    out, and the token itself never sits in a cookie."""
    return hmac.new(
        token.encode("utf-8"), b"directpost-operator-session", hashlib.sha256
    ).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _enabled_token(settings: Settings) -> str:
    """The operator token; 404 when none is set (the page does not exist then)."""
    token = _token(settings)
    if not token:
        raise HTTPException(status_code=404)
    return token


def _bearer(request: Request) -> str:
    scheme, _sep, presented = request.headers.get("authorization", "").partition(" ")
    return presented.strip() if scheme.lower() == "bearer" else ""


def _is_operator(request: Request, token: str) -> bool:
    presented = _bearer(request)
    if presented and _same(presented, token):
        return True
    proof = request.session.get(OPERATOR_SESSION_KEY)
    return isinstance(proof, str) and _same(proof, _session_proof(token))


def is_signed_in_operator(request: Request, settings: Settings) -> bool:
    """Whether the request comes from the operator (session or bearer token); False when no
    operator token is set. Load the session first (`ensure_loaded`): this reads it."""
    token = _token(settings)
    return bool(token) and _is_operator(request, token)


@dataclass(frozen=True, slots=True)
class Setting:
    """One line of the page: what is in use, and why or what it means."""

    name: str
    value: str
    why: str
    warning: str = ""


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOOPBACK


def transfer_setting(settings: Settings) -> Setting:
    """The transfer mode and the reason for it (TECH-2)."""
    base = settings.resolved_media_public_base_url
    if settings.transfer_mode == "file_upload":
        return Setting(
            _("Media transfer"),
            "FILE_UPLOAD",
            _(
                "Chosen by the operator (DIRECTPOST_TRANSFER_MODE=file_upload) for a deployment "
                "without a public URL: the app sends each video's bytes to TikTok itself. "
                "Photos are still pulled from %(base)s/m/…, because TikTok only pulls photos."
            )
            % {"base": base},
        )
    warning = ""
    if _is_loopback(base) and not settings.uses_emulator:
        warning = _(
            "%(base)s is a loopback address: TikTok cannot reach it. Set "
            "DIRECTPOST_MEDIA_PUBLIC_BASE_URL to a verified public https prefix, or choose "
            "DIRECTPOST_TRANSFER_MODE=file_upload."
        ) % {"base": base}
    return Setting(
        _("Media transfer"),
        "PULL_FROM_URL",
        _(
            "The default: TikTok downloads each post's media from a per-attempt, unguessable, "
            "expiring URL under %(base)s/m/ (a URL prefix verified in the TikTok developer "
            "portal). FILE_UPLOAD is used only if the operator sets "
            "DIRECTPOST_TRANSFER_MODE=file_upload."
        )
        % {"base": base},
        warning,
    )


def audit_setting(settings: Settings) -> Setting:
    if settings.app_audited:
        return Setting(
            _("TikTok app review"),
            _("audited"),
            _(
                "Creators choose any privacy level their account offers; at most %(cap)d "
                "different accounts may post through this app in 24 hours."
            )
            % {"cap": settings.creator_cap_per_day},
        )
    return Setting(
        _("TikTok app review"),
        _("not audited"),
        _(
            "Until TikTok audits this app, every post is private (SELF_ONLY) and at most %(cap)d "
            "different accounts may post through it in 24 hours."
        )
        % {"cap": creator_cap(audited=False, configured=settings.creator_cap_per_day)},
    )


def database_kind(settings: Settings) -> str:
    name = make_url(settings.resolved_database_url).get_backend_name()
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(name, name)


def infrastructure(settings: Settings) -> list[Setting]:
    """The kinds in use, never their URLs (they may hold passwords)."""
    storage = settings.media_storage_url
    return [
        Setting(_("Database"), database_kind(settings), ""),
        Setting(
            _("Job queue"),
            database_kind(settings),
            _(
                "The database is the queue: each worker claims the due posts it can run now, "
                "and no post is claimed by two. There is no other queue to run."
            ),
        ),
        Setting(
            _("Rate budgets"),
            "Redis" if settings.budget_url else _("in the database"),
            _("Shared by every process, so no request is refused for a limit we knew (CAP-4)."),
        ),
        Setting(
            _("Media storage"),
            _("S3-compatible") if storage.startswith("s3://") else _("local folder"),
            "",
        ),
    ]


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


@router.get(
    "/operator",
    response_class=HTMLResponse,
    responses=html_route(
        {
            401: page("Not the operator: the sign-in form."),
            429: page("Too many wrong tokens: sign-in is paused."),
        },
        _NO_OPERATOR,
        DATABASE,
        INVALID,
    ),
)
async def operator_page(
    request: Request, services: ServicesDep, db: DbSession, window: str = DEFAULT_WINDOW
) -> Response:
    settings = services.settings
    token = _enabled_token(settings)
    await ensure_loaded(request)
    if not _is_operator(request, token):
        await run_in_threadpool(release_connection, db)
        bearer = _bearer(request)
        if bearer:  # a wrong token in the header counts like a wrong one in the form
            refused = await run_in_threadpool(
                throttled_check, request, services, presented=bearer, expected=token
            )
            if refused is not None:
                return refused
        return render(request, "operator/sign_in.html", {"message": ""}, status_code=401)
    chosen = window_name(window)

    def figures() -> tuple[post_store.OperatorFigures, OperatorCharts, list[LockdownView]]:
        services.measures.flush()  # this process's latest minutes too (DG-3)
        found = post_store.operator_figures(db, now=utcnow())
        charts = operator_charts(db, window=chosen, now=utcnow())
        lockdowns = recent_lockdowns(db)
        release_connection(db)
        return found, charts, lockdowns

    found, charts, lockdowns = await run_in_threadpool(figures)
    rate = found.success_rate
    return render(
        request,
        "operator/index.html",
        {
            "transfer": transfer_setting(settings),
            "audit": audit_setting(settings),
            "infrastructure": infrastructure(settings),
            "figures": found,
            "success_rate": "—" if rate is None else f"{rate * 100:.1f} %",
            "median_to_final": _fmt_seconds(found.median_seconds_to_final),
            "labels": _state_labels(),
            "charts": charts,
            "windows": window_links(),
            "lockdowns": lockdowns,
            "lockdown": next((item for item in lockdowns if item.active), None),
        },
    )


def _state_labels() -> dict[str, str]:
    from directpost.publishing.outcomes import STATE_LABELS

    return {state: _(label) for state, label in STATE_LABELS.items()}


@router.post(
    "/operator/sign-in",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Signed in: to the operator page."),
            401: page("Not this deployment's operator token."),
            429: page("Too many wrong tokens: sign-in is paused."),
        },
        _NO_OPERATOR,
        CHANGE,
        DATABASE,
        INVALID,
    ),
)
def operator_sign_in(request: Request, services: ServicesDep, token: str = Form("")) -> Response:
    expected = _enabled_token(services.settings)
    refused = throttled_check(request, services, presented=token.strip(), expected=expected)
    if refused is not None:
        return refused
    renew_session(request)  # a new token for the operator's session: no fixation
    request.session[OPERATOR_SESSION_KEY] = _session_proof(expected)
    return RedirectResponse("/operator", status_code=303)


@router.post(
    "/operator/sign-out",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {303: redirect("Signed out: to the home page.")}, _NO_OPERATOR, CHANGE, DATABASE
    ),
    openapi_extra=TOKEN_FORM,
)
def operator_sign_out(request: Request, services: ServicesDep) -> Response:
    """End the operator's part of the session on the server (the row forgets the proof)."""
    _enabled_token(services.settings)
    request.session.pop(OPERATOR_SESSION_KEY, None)
    renew_session(request)
    return RedirectResponse("/", status_code=303)


def _operator_or_404(request: Request, settings: Settings) -> None:
    """Actions answer only to the operator (404 without a token, 401 without proof)."""
    if not _is_operator(request, _enabled_token(settings)):
        raise HTTPException(status_code=401, detail=_("Sign in on the operator page first."))


def _who(request: Request) -> str:
    client = request.client.host if request.client else "unknown"
    return f"operator page ({client})"


@router.post(
    "/operator/lockdown",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Locked down: back to the operator page."),
            400: either("Not confirmed: nothing was changed."),
        },
        _ONLY_OPERATOR,
        CHANGE,
        DATABASE,
        INVALID,
    ),
)
async def operator_lockdown(
    request: Request, services: ServicesDep, reason: str = Form(""), sure: str = Form("")
) -> Response:
    """TOS-2 from the page: the same use case as `directpost lockdown`."""
    _operator_or_404(request, services.settings)
    if sure != "yes":
        raise HTTPException(
            status_code=400,
            detail=_("Tick the box to confirm the lockdown; nothing was changed."),
        )
    await lock_down(services, by=_who(request), reason=reason.strip()[:500])
    return RedirectResponse("/operator#lockdown", status_code=303)


@router.post(
    "/operator/lockdown/lift",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {303: redirect("Lifted: back to the operator page.")}, _ONLY_OPERATOR, CHANGE, DATABASE
    ),
    openapi_extra=TOKEN_FORM,
)
async def operator_lift_lockdown(request: Request, services: ServicesDep) -> Response:
    _operator_or_404(request, services.settings)
    await run_in_threadpool(lift, services, by=_who(request))
    return RedirectResponse("/operator#lockdown", status_code=303)
