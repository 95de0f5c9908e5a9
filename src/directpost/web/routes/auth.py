"""Sign in with TikTok (Login Kit for Web), link more accounts, sign out.

The authorize URL carries a one-time `state` kept in the session; the callback consumes it
before anything else, so a replayed, forged or stale callback changes nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from directpost.config import Settings
from directpost.store.accounts import (
    AccountLinkedElsewhereError,
    Profile,
    TikTokAccount,
    record_sign_in,
)
from directpost.tiktok import APIError as TikTokAPIError
from directpost.tiktok import OAuthError, TikTokError
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    TIKTOK,
    TOKEN_FORM,
    answers,
    page,
    redirect,
)
from directpost.web.deps import DbSession, OptionalPerson, ServicesDep
from directpost.web.i18n import _
from directpost.web.security import rotate_csrf_token
from directpost.web.sessions import renew_session
from directpost.web.templating import SESSION_ACCOUNT_KEY, SESSION_PERSON_KEY, render

log = logging.getLogger(__name__)
router = APIRouter()

OAUTH_SESSION_KEY = "oauth"
#: How long a started sign-in may take before its `state` is refused.
STATE_TTL_SECONDS = 15 * 60
DEFAULT_AFTER_SIGN_IN = "/compose"
USER_INFO_FIELDS = ("open_id", "avatar_url", "display_name")


def safe_next_path(value: str) -> str:
    """`value` if it is a path on this site, else "" (no open redirects)."""
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    if any(ch in value for ch in ("\r", "\n", "\\")):
        return ""
    return value


def redirect_uri(settings: Settings) -> str:
    """The callback URL registered with TikTok (identical in authorize and token requests)."""
    return f"{settings.public_base_url.rstrip('/')}/auth/tiktok/callback"


def _sign_in_error(
    request: Request, message: str, *, status: int = 400, log_id: str = ""
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {
            "heading": _("You are not signed in"),
            "message": message,
            "log_id": log_id,
            "retry_url": "/auth/tiktok/start",
            "retry_label": _("Start again"),
        },
        status_code=status,
    )


def _not_connected(request: Request) -> HTMLResponse:
    return _sign_in_error(
        request,
        _(
            "This site is not connected to TikTok yet: the operator has to set "
            "DIRECTPOST_TIKTOK_CLIENT_KEY, or start it with `directpost run` to use the "
            "local emulator."
        ),
        status=503,
    )


@router.get(
    "/auth/tiktok/start",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("To TikTok's consent page."),
            503: page("This site is not connected to TikTok."),
        },
        DATABASE,
        INVALID,
    ),
)
def start(
    request: Request,
    services: ServicesDep,
    person: OptionalPerson,
    next: str = "",
    link: bool = False,
) -> Response:
    """Send the browser to TikTok's consent page with a fresh one-time `state`."""
    client = services.tiktok_client
    if client is None:
        return _not_connected(request)
    state = secrets.token_urlsafe(32)
    request.session[OAUTH_SESSION_KEY] = {
        "state": state,
        "at": int(time.time()),
        "next": safe_next_path(next),
        "link": bool(link and person is not None),
    }
    settings = services.settings
    scopes = [s.strip() for s in settings.tiktok_scopes.split(",") if s.strip()]
    url = client.authorize_url(redirect_uri=redirect_uri(settings), scopes=scopes, state=state)
    return RedirectResponse(url, status_code=303)


@router.get(
    "/auth/tiktok/callback",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {
            303: redirect("Signed in: to the page asked for (the Post page by default)."),
            400: page("Not signed in: the answer does not belong to this sign-in, or says no."),
            409: page("This TikTok account is linked to someone else."),
            502: page("TikTok could not be reached to finish the sign-in."),
            503: page("This site is not connected to TikTok."),
        },
        DATABASE,
        INVALID,
        TIKTOK,
    ),
)
async def callback(
    request: Request,
    services: ServicesDep,
    db: DbSession,
    person: OptionalPerson,
    code: str = "",
    state: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    """Finish sign-in: check and consume `state`, exchange the code, store the account."""
    pending: Any = request.session.pop(OAUTH_SESSION_KEY, None)
    if not isinstance(pending, dict) or not isinstance(pending.get("state"), str):
        return _sign_in_error(
            request,
            _(
                "This sign-in was already completed, or it was started in another browser. "
                "Nothing was changed; start again from this browser."
            ),
        )
    if not state or not secrets.compare_digest(state.encode(), pending["state"].encode()):
        log.warning("Sign-in callback refused: its state does not match the one issued.")
        return _sign_in_error(
            request,
            _(
                "The answer from TikTok does not belong to the sign-in this browser started, "
                "so it was ignored and nothing was changed. Start again."
            ),
        )
    if time.time() - float(pending.get("at", 0)) > STATE_TTL_SECONDS:
        return _sign_in_error(
            request,
            _("The sign-in took too long and has expired. Nothing was changed; start again."),
        )
    if error:
        if error == "access_denied":
            message = _(
                "You did not allow directpost to use your TikTok account, so you are not "
                "signed in. To post with directpost, start again and allow access."
            )
        else:
            message = _("TikTok could not complete the sign-in (%(reason)s). Start again.") % {
                "reason": error_description or error
            }
        return _sign_in_error(request, message)
    if not code:
        return _sign_in_error(request, _("TikTok did not send a sign-in code. Start again."))

    client = services.tiktok_client
    if client is None:
        return _not_connected(request)
    try:
        # https://developers.tiktok.com/doc/oauth-user-access-token-management
        token = await client.exchange_code(code=code, redirect_uri=redirect_uri(services.settings))
    except OAuthError as exc:
        log.warning("Token exchange refused by TikTok: %s (log_id %s)", exc.error, exc.log_id)
        if exc.error == "invalid_grant":
            message = _(
                "The sign-in code from TikTok has expired or was already used. Start again."
            )
        else:
            message = _("TikTok refused the sign-in (%(reason)s). Start again.") % {
                "reason": exc.error_description or exc.error
            }
        return _sign_in_error(request, message, log_id=exc.log_id)
    except TikTokError:
        log.warning("Token exchange failed: TikTok could not be reached.")
        return _sign_in_error(
            request,
            _("TikTok could not be reached to finish the sign-in. Please try again in a moment."),
            status=502,
        )
    try:
        # https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
        info = await client.user_info(access_token=token.access_token, fields=USER_INFO_FIELDS)
    except TikTokAPIError as exc:
        return _sign_in_error(
            request,
            _("TikTok did not share your profile (%(reason)s). Start again.")
            % {"reason": exc.message or exc.code},
            status=502,
            log_id=exc.log_id,
        )
    except TikTokError:
        return _sign_in_error(
            request,
            _("TikTok could not be reached to finish the sign-in. Please try again in a moment."),
            status=502,
        )

    linking = bool(pending.get("link")) and person is not None
    profile = Profile(display_name=info.display_name or "", avatar_url=info.avatar_url or "")

    def store_sign_in() -> TikTokAccount:
        # In a worker thread and committed at once: on the event loop, a sign-in waiting for
        # SQLite's writer lock held by another request's open transaction (which needs the
        # loop to finish) stalled every request until the busy timeout, then answered 500
        # ("database is locked") when many creators signed in together.
        try:
            account = record_sign_in(
                db,
                grant=token,
                profile=profile,
                cipher=services.cipher,
                signed_in_person_id=person.id if linking and person is not None else None,
            )
        except AccountLinkedElsewhereError:
            db.rollback()
            raise
        db.commit()
        return account

    try:
        account = await run_in_threadpool(store_sign_in)
    except AccountLinkedElsewhereError as exc:
        return render(
            request,
            "error.html",
            {
                "heading": _("This account is linked elsewhere"),
                "message": str(exc),
                "log_id": "",
                "retry_url": "/accounts",
                "retry_label": _("Back to your accounts"),
            },
            status_code=409,
        )
    log.info("Signed in: person %s, account %s.", account.person_id, account.id)

    target = str(pending.get("next") or "") or DEFAULT_AFTER_SIGN_IN
    if "video.publish" not in account.granted_scopes:
        target = "/accounts?need=scope"
    if not linking:
        # A new sign-in starts a new session: nothing from before sign-in carries over.
        request.session.clear()
    else:
        renew_session(request)  # a new token all the same: a cookie seen before stops working
    request.session[SESSION_PERSON_KEY] = account.person_id
    request.session[SESSION_ACCOUNT_KEY] = account.id
    rotate_csrf_token(request)
    return RedirectResponse(target, status_code=303)


@router.post(
    "/auth/sign-out",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers({303: redirect("Signed out: to the home page.")}, CHANGE, DATABASE),
    openapi_extra=TOKEN_FORM,
)
def sign_out(request: Request) -> Response:
    """End the session on the server: its row is deleted when the response starts, so a copy
    of the cookie names nothing any more (TOS-1). The CSRF check has run: sign-out is a POST."""
    request.session.clear()
    return RedirectResponse("/", status_code=303)
