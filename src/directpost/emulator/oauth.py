"""Login Kit: the consent page, the token and revoke endpoints and user info (spec §2)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .errors import ControlError, OAuthError
from .http_helpers import base_url
from .responses import json_response, ok
from .runtime import Runtime
from .state import App, Creator

AUTH_PARAMS = (
    "client_key",
    "scope",
    "redirect_uri",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
)

SCOPE_TEXT = {
    "user.info.basic": "Read your profile info (avatar, display name)",
    "user.info.profile": "Read your profile details (username, bio, verified badge)",
    "user.info.stats": "Read your follower, following, like and video counts",
    "video.publish": "Post content directly to your TikTok profile",
    "video.upload": "Share content to your TikTok inbox as a draft",
    "video.list": "Read your public videos",
}


def can_post_through(app: App, creator: Creator) -> bool:
    """Whether `creator` can publish directly through `app` today, as `_check_privacy` and
    `_posting_block` would decide: not capped or banned, and private while the app is unaudited.
    """
    return creator.posting_state == "ok" and (app.audited or creator.private_account)


def default_creator(app: App, creators: list[Creator], asked: str | None) -> str | None:
    """The account the consent page preselects: the one the link asks for, else the first
    that can post through this app (a public demo account cannot while the app is unaudited,
    and landing there first taught new users nothing), else none."""
    if asked and any(c.open_id == asked for c in creators):
        return asked
    return next((c.open_id for c in creators if can_post_through(app, c)), None)


def _redirect(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)


def _error_redirect(redirect_uri: str, exc: OAuthError, state: str | None) -> RedirectResponse:
    params = {"error": exc.error, "error_description": exc.description}
    if exc.error == "unauthorized_client":
        params["error_type"] = "client_key"
    if state is not None:
        params["state"] = state
    return _redirect(redirect_uri, params)


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    def page_error(message: str, status: int = 400) -> HTMLResponse:
        html = rt.templates.get_template("error.html").render(message=message)
        return HTMLResponse(html, status_code=status)

    async def authorize(request: Request) -> Response:
        if request.method == "GET":
            params = {k: v for k, v in request.query_params.items() if k in AUTH_PARAMS}
        else:
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            params = {k: v for k, v in form.items() if k in AUTH_PARAMS}
        state = params.get("state")
        try:
            app, redirect_uri, scopes = backend.check_authorize(params)
        except ControlError as exc:
            return page_error(exc.message)
        except OAuthError as exc:
            return _error_redirect(params["redirect_uri"], exc, state)
        fault = backend.take_fault("authorize")
        if fault is not None and (fault.error or fault.status):
            err = OAuthError(fault.error or "server_error", fault.message or "Injected fault.")
            return _error_redirect(redirect_uri, err, state)
        if request.method == "GET":
            creators = [
                c
                for c in backend.creators.values()
                if app.target_users is None or c.open_id in app.target_users
            ]
            html = rt.templates.get_template("consent.html").render(
                app=app,
                params=params,
                scopes=[(s, SCOPE_TEXT.get(s, s)) for s in scopes],
                creators=creators,
                preselect=default_creator(app, creators, request.query_params.get("open_id")),
                can_post={c.open_id: can_post_through(app, c) for c in creators},
            )
            return HTMLResponse(html)
        if form.get("decision") != "allow":
            err = OAuthError("access_denied", "The user denied the authorization request.")
            return _error_redirect(redirect_uri, err, state)
        open_id = form.get("open_id", "")
        if open_id not in backend.creators:
            return page_error("Choose an account to continue.")
        if form.get("make_private") == "on":
            # Emulator only: the demo stand-in for "Settings and privacy → Private account" in
            # the TikTok app, offered because an unaudited app posts only from private accounts.
            backend.upsert_creator({"open_id": open_id, "private_account": True})
        granted = [s for s in scopes if form.get(f"scope:{s}") == "on"]
        if not granted:
            err = OAuthError("access_denied", "The user granted none of the requested scopes.")
            return _error_redirect(redirect_uri, err, state)
        try:
            code = backend.issue_code(
                app, open_id, granted, redirect_uri, params.get("code_challenge")
            )
        except OAuthError as exc:
            return _error_redirect(redirect_uri, exc, state)
        out = {"code": code, "scopes": ",".join(granted)}
        if state is not None:
            out["state"] = state
        return _redirect(redirect_uri, out)

    async def read_form(request: Request) -> dict[str, str]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise OAuthError(
                "invalid_request",
                "The request parameters are malformed: send application/x-www-form-urlencoded.",
            )
        try:
            return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            raise OAuthError("invalid_request", "The request parameters are malformed.") from None

    async def token(request: Request) -> Response:
        form = await read_form(request)
        answer = backend.token_endpoint(form)
        return json_response(answer, headers={"Cache-Control": "no-store"})

    async def revoke(request: Request) -> Response:
        form = await read_form(request)
        backend.revoke(form)
        return json_response({})

    async def user_info(request: Request) -> Response:
        tok = backend.authenticate(
            request.headers.get("authorization"),
            ("user.info.basic", "user.info.profile", "user.info.stats"),
            endpoint="user_info",
        )
        data = backend.user_info(tok, request.query_params.get("fields"), base_url(request))
        return ok(data, now=backend.now())

    return [
        Route("/v2/auth/authorize/", authorize, methods=["GET", "POST"]),
        Route("/v2/oauth/token/", token, methods=["POST"]),
        Route("/v2/oauth/revoke/", revoke, methods=["POST"]),
        Route("/v2/user/info/", user_info, methods=["GET"]),
    ]
