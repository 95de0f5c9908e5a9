"""The FastAPI app: `create_app(settings)` builds the services once (`publishing.wiring`), adds
security and routes, and keeps the services on `app.state.services` (routes get them through
`web.deps.ServicesDep`).

Other parts add their router to `_ROUTERS` (one line each).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from directpost.config import Settings, get_settings
from directpost.publishing.gate import LockdownActive
from directpost.publishing.wiring import build_services
from directpost.store.crypto import session_secret_from_settings
from directpost.tiktok import AsyncTransport
from directpost.web import i18n, templating
from directpost.web.api_auth import API_PREFIX, ApiError
from directpost.web.api_contract import contract_document, serve_contract
from directpost.web.deps import AccountRequiredError, SignInRequiredError, sign_in_url
from directpost.web.i18n import _
from directpost.web.metrics import HttpMetricsMiddleware
from directpost.web.request_id import RequestIdMiddleware
from directpost.web.routes import (
    account,
    api,
    auth,
    bulk,
    calendar,
    compose,
    edit,
    health,
    media_public,
    notifications,
    operator,
    posts,
    public,
    review,
    team,
    tokens,
    uploads,
    webhooks,
)
from directpost.web.security import (
    SecurityHeadersMiddleware,
    require_csrf,
    security_headers,
    session_cookie_options,
    session_timeouts,
)
from directpost.web.sessions import ServerSessionMiddleware, SessionBackend
from directpost.web.templating import render

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/static"

_ROUTERS = [
    public.router,
    auth.router,
    account.router,
    compose.router,  # E: the Post page
    uploads.router,  # E: resumable media uploads
    posts.router,  # F: publish, posts list, live status
    edit.router,  # issue 17: a post opened on the Post page again and saved
    calendar.router,  # issue 17: the calendar of posts across accounts
    webhooks.router,  # F: TikTok webhooks
    notifications.router,  # issue 17: the in-app list and the person's channels
    media_public.router,  # F: per-attempt media URLs for PULL_FROM_URL
    operator.router,  # F: the operator's settings page (only with an operator token)
    health.router,  # operations: /healthz, /readyz, /metrics (operator token)
    api.router,  # issue 18: the prepared-posts API for scripts, teammates and agents
    tokens.router,  # issue 18: personal access tokens on the Accounts page
    bulk.router,  # issue 17: prepared posts from a CSV (before review: /review/bulk)
    review.router,  # issue 18: prepared posts reviewed and confirmed on the Post page
    team.router,  # issue 18: teammates who prepare posts for an account, by invitation
]


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and ("text/html" in accept or not accept or "*/*" in accept)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX + "/")


_API_CODES = {400: "bad_value", 404: "not_found", 405: "method_not_allowed", 503: "unavailable"}


def _error_page(request: Request, *, status: int, heading: str, message: str) -> Response:
    if _is_api(request):  # the API's one error shape (docs/api.md)
        return ApiError(status, _API_CODES.get(status, "refused"), message).response()
    if "text/html" in request.headers.get("accept", ""):
        return render(
            request,
            "error.html",
            {"heading": heading, "message": message, "log_id": "", "retry_url": ""},
            status_code=status,
        )
    return JSONResponse({"detail": message}, status_code=status)


class LanguageMiddleware:
    """Chooses the UI language of each request from Accept-Language (gettext catalogues)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = None
            for name, value in scope.get("headers", []):
                if name == b"accept-language":
                    header = value.decode("latin-1")
                    break
            i18n.set_language(i18n.negotiate_language(header))
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, tiktok_transport: AsyncTransport | None = None
) -> FastAPI:
    """Build the app for `settings` (default: from the environment).

    `tiktok_transport` points the TikTok client somewhere else (tests: the emulator in-process).
    Refuses to start outside development without real secrets.
    """
    settings = settings or get_settings()
    settings.require_production_secrets()
    session_secret = session_secret_from_settings(settings)
    # One TikTok client for every request, built like every other (no retries of its own:
    # each request is spent from the shared budget, CAP-4); None without credentials.
    services = build_services(settings, tiktok_transport=tiktok_transport).with_tiktok_client()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await services.aclose()

    app = FastAPI(
        title="directpost",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(require_csrf)],
    )
    app.state.services = services
    app.state.site_view = templating.SiteView.of(settings)
    templating.configure(settings)

    # Middleware runs outermost-last: headers wrap everything, sessions wrap the routes.
    app.add_middleware(  # server-side sessions: the cookie holds an opaque token (TOS-1)
        ServerSessionMiddleware,
        backend=SessionBackend(services.factory, session_timeouts(settings)),
        secret_key=session_secret,
        **session_cookie_options(settings),
    )
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware, headers=security_headers(settings), static_prefix=STATIC_PREFIX
    )
    app.add_middleware(HttpMetricsMiddleware)  # /metrics: requests by route, status, time
    app.add_middleware(RequestIdMiddleware)  # outermost: every line of a request has its id

    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    for router in _ROUTERS:
        app.include_router(router)
    # The OpenAPI document at /openapi.json: to anyone in demo mode, else to the operator only
    # (`web.api_contract`); FastAPI's own URL and the CDN-based doc pages stay off.
    app.openapi = lambda: contract_document(app)  # type: ignore[method-assign]
    serve_contract(app, is_operator=operator.is_signed_in_operator)

    @app.exception_handler(ApiError)
    async def _api_refused(request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(SignInRequiredError)
    async def _sign_in_required(request: Request, exc: SignInRequiredError) -> Response:
        if _wants_html(request):
            return RedirectResponse(sign_in_url(exc.next_path), status_code=303)
        return JSONResponse({"detail": _("Sign in with TikTok to continue.")}, status_code=401)

    @app.exception_handler(AccountRequiredError)
    async def _account_required(request: Request, exc: AccountRequiredError) -> Response:
        if _wants_html(request):
            return RedirectResponse("/accounts?need=account", status_code=303)
        return JSONResponse(
            {"detail": _("Connect a TikTok account first (Accounts page).")}, status_code=409
        )

    @app.exception_handler(LockdownActive)
    async def _locked_down(request: Request, exc: LockdownActive) -> Response:
        # The operator stopped all traffic to TikTok (TOS-2): this request needed TikTok.
        return _error_page(
            request,
            status=503,
            heading=_("Publishing to TikTok is paused"),
            message=_(
                "The operator of this app has stopped all traffic to TikTok for now, so nothing "
                "was sent. Your posts and uploads are kept. Come back later: once publishing "
                "is back, sign in with TikTok again."
            ),
        )

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The browser left (page closed, navigated away, superseded form update, cancelled
        # upload chunk) before sending the whole body. Nothing was changed and nobody reads
        # the answer: not an error of ours, so no traceback in the log.
        log.debug("The client went away during %s %s.", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else _("The request failed.")
        if exc.status_code == 404:
            message = _("There is nothing at this address.")
        heading = _("Not found") if exc.status_code == 404 else _("Something is not right")
        response = _error_page(request, status=exc.status_code, heading=heading, message=message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return _error_page(
                request,
                status=422,
                heading=_("Something is not right"),
                message=_(
                    "Some of the information sent was missing or malformed; nothing was "
                    "changed. Go back, check the form and try again."
                ),
            )
        # Where and what, never the value sent back: it may not even be JSON (`1e999` is
        # infinity), and echoing input helps nobody.
        errors = [
            {
                "loc": list(error.get("loc", ())),
                "msg": error.get("msg", ""),
                "type": error.get("type", ""),
            }
            for error in exc.errors()
        ]
        if _is_api(request):
            problems = [f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in errors]
            return ApiError(
                422,
                "invalid_request",
                "The request does not have the documented form (docs/api.md): "
                + "; ".join(problems),
                problems=problems,
            ).response()
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        # The database does not answer (down, restarting, wrong address): say so, no traceback.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        log.warning(
            "the database does not answer (%s) for %s %s", reason, request.method, request.url.path
        )
        response = _error_page(
            request,
            status=503,
            heading=_("This site cannot reach its database"),
            message=_(
                "Nothing was changed. It is usually back within a minute: try again shortly. "
                "If it lasts, tell the site's operator."
            ),
        )
        response.headers["Retry-After"] = "30"
        return response

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # An id past what the database stores (2^63 on SQLite, 2^31 on PostgreSQL) or a NUL
        # character PostgreSQL refuses: the request's mistake, and nothing was written.
        log.info(
            "A value out of range for the database in %s %s.", request.method, request.url.path
        )
        return _error_page(
            request,
            status=400,
            heading=_("Something is not right"),
            message=_(
                "A value in the request is out of range (an id too large, or a character that "
                "cannot be stored). Nothing was changed."
            ),
        )

    return app
