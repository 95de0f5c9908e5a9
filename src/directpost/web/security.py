"""Request safety for the web app (TOS-1): CSRF tokens, security headers, session cookie flags.

Sessions live on the server (`web.sessions`): the cookie holds a random token, nothing else.

CSRF: each session holds one random token. Every state-changing request (anything but GET,
HEAD, OPTIONS) must echo it, in the `X-CSRF-Token` header (scripts) or the `csrf_token` form
field (plain forms); otherwise it is refused with 403 before the route runs. Templates get
`csrf_token()`. The only exempt paths are callbacks that cannot carry our token and verify
themselves in another way (TikTok's webhook: signed payloads).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directpost.config import Settings
from directpost.store.sessions import Timeouts
from directpost.web.sessions import ensure_loaded, server_session

CSRF_SESSION_KEY = "csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths that authenticate requests another way (signed webhook bodies).
#: Webhooks are signed by TikTok; the API (`/api/v1/`) takes a bearer token and never the
#: session cookie (`web.api_auth`), so a page cannot make a browser call it.
CSRF_EXEMPT_PREFIXES: tuple[str, ...] = ("/webhooks/", "/api/v1/")

SESSION_COOKIE = "directpost_session"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfError(HTTPException):
    """The request did not carry this session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(
            status_code=403,
            detail=(
                "This form has expired or did not come from this site, so nothing was changed. "
                "Reload the page and try again."
            ),
        )


class SessionEndedError(HTTPException):
    """The request came with a session that is over: nothing is done, the person signs in."""

    def __init__(self) -> None:
        super().__init__(
            status_code=401,
            detail=(
                "Your session has ended (signed out, or unused for too long), so nothing was "
                "changed. Sign in again to continue."
            ),
        )


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def rotate_csrf_token(request: Request) -> str:
    """A new token (after sign-in, so a token seen before sign-in stops working)."""
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return str(request.session[CSRF_SESSION_KEY])


async def require_csrf(request: Request) -> None:
    """App-wide dependency: refuse a state-changing request without the session's token."""
    if request.method in SAFE_METHODS:
        return
    if request.url.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    await ensure_loaded(request)  # in a worker thread, not on the event loop
    web = server_session(request)
    if web is not None and web.ended:
        # Signed out, disconnected, deleted, locked down or timed out: say so (401 / sign in),
        # rather than "this form has expired".
        raise SessionEndedError()
    expected = request.session.get(CSRF_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(_FORM_TYPES):
            form = await request.form()
            value = form.get(CSRF_FORM_FIELD)
            sent = value if isinstance(value, str) else None
    if (
        not isinstance(expected, str)
        or not expected
        or not sent
        or not secrets.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))
    ):
        raise CsrfError()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings) -> str:
    """The CSP: our own scripts and styles only (no inline script), no framing."""
    tiktok_origins = sorted(
        {
            origin
            for origin in (
                _origin(settings.tiktok_auth_base_url),
                _origin(settings.tiktok_api_base_url),
            )
            if origin
        }
    )
    extra = " ".join(tiktok_origins)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # Avatars come from TikTok's CDN (https) or the local emulator.
            f"img-src 'self' data: blob: https: {extra}".rstrip(),
            "media-src 'self' blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {extra}".rstrip(),
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    headers = [
        ("content-security-policy", content_security_policy(settings)),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
            "interest-cohort=(), browsing-topics=()",
        ),
    ]
    if settings.public_base_url.startswith("https://"):
        headers.append(("strict-transport-security", "max-age=31536000; includeSubDomains"))
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response, and `no-store` to pages by default."""

    def __init__(
        self, app: ASGIApp, *, headers: Iterable[tuple[bytes, bytes]], static_prefix: str
    ) -> None:
        self.app = app
        self.headers = list(headers)
        self.names = {name for name, _value in self.headers}
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith(self.static_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw: list[Any] = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _value in raw}
                raw.extend((name, value) for name, value in self.headers if name not in present)
                if not is_static and b"cache-control" not in present:
                    raw.append((b"cache-control", b"no-store"))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


def session_timeouts(settings: Settings) -> Timeouts:
    """How long a session lives without use, and at most (`web.sessions`)."""
    return Timeouts(
        idle=timedelta(seconds=settings.session_idle_timeout_seconds),
        absolute=timedelta(seconds=settings.session_absolute_timeout_seconds),
    )


def session_cookie_options(settings: Settings) -> dict[str, Any]:
    """Session cookie options: HttpOnly (always), SameSite=Lax, Secure behind https; the
    browser keeps it as long as the session can live."""
    return {
        "session_cookie": SESSION_COOKIE,
        "max_age": settings.session_absolute_timeout_seconds,
        "same_site": "lax",
        "https_only": settings.public_base_url.startswith("https://"),
    }
