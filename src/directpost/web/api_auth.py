"""Who calls the API (`/api/v1`): a personal access token in `Authorization: Bearer dpat_…`,
its scopes, and its rate limit (issue 18).

The API never reads the session cookie: a token is the only way in, so a page visited in the
browser cannot be made to call the API on the person's behalf (no CSRF to defend), and the API
cannot reach the routes that publish (those take only a session, UX-5c).

Rate limits are per token and per sliding minute, kept where the app keeps TikTok's budgets
(the database, or Redis at scale: every process shares them). Media chunks count apart, so an
upload of a large video does not starve the other calls. Past the limit: 429 with Retry-After.

Every refusal is the same JSON shape, `{"error": {"code", "message"}}`, with a sentence that
says what to do (`ApiError`, answered by the handler `create_app` installs).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from directpost.publishing.wiring import Services
from directpost.store import accounts as store_accounts
from directpost.store import team
from directpost.store.accounts import Person
from directpost.store.base import utcnow
from directpost.web.deps import DbSession, ServicesDep, release_connection

API_PREFIX: Final = "/api/v1"
WINDOW_S: Final = 60.0
#: `last_used_at` is written at most this often per token (a read must not be a write each time).
_USED_EVERY: Final = timedelta(minutes=1)
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="directpost"'}


class ApiError(Exception):
    """A refusal of the API, in its JSON shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JSONResponse:
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """The person behind a token, and what the token may do."""

    person: Person
    token_id: int
    token_name: str
    scopes: frozenset[str]


def _bearer(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401,
            "missing_token",
            "Send a personal access token as 'Authorization: Bearer dpat_…'. Make one on the "
            "Accounts page of the app (API tokens).",
            headers=_CHALLENGE,
        )
    return secret.strip()


def _spend(services: Services, token_id: int, *, uploads: bool) -> None:
    settings = services.settings
    family, limit = (
        ("api_upload", settings.api_upload_rate_per_minute)
        if uploads
        else ("api", settings.api_rate_per_minute)
    )
    wait = services.budgets.backend.reserve(f"{family}:{token_id}", limit, WINDOW_S, time.time())
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"This token has made {limit} requests in the last minute. Wait {seconds} s "
            "(Retry-After), then go on.",
            headers={"Retry-After": str(seconds)},
        )


def _caller(
    request: Request, db: Session, services: Services, scope: str, *, uploads: bool
) -> ApiCaller:
    secret = _bearer(request)
    token = team.token_by_secret(db, secret)
    if token is None:
        raise ApiError(
            401,
            "invalid_token",
            "This token is unknown or was revoked. Make a new one on the Accounts page.",
            headers=_CHALLENGE,
        )
    if scope not in token.scope_set:
        raise ApiError(
            403,
            "insufficient_scope",
            f"This token may not do this: it needs the '{scope}' scope (it has: "
            f"{', '.join(sorted(token.scope_set)) or 'none'}). Make a token with that scope.",
        )
    _spend(services, token.id, uploads=uploads)
    person = store_accounts.get_person(db, person_id=token.person_id)
    if person is None:  # deleted between the two reads
        raise ApiError(401, "invalid_token", "This token's owner no longer exists.")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _USED_EVERY:
        token.last_used_at = now
        db.commit()
    caller = ApiCaller(person, token.id, token.name, token.scope_set)
    release_connection(db)
    return caller


def caller_with(scope: str, *, uploads: bool = False) -> Callable[..., ApiCaller]:
    """A dependency: the caller, when their token has `scope` and is within its rate limit.

    A plain `def`: it reads the database, so FastAPI runs it in a worker thread."""

    def dependency(request: Request, db: DbSession, services: ServicesDep) -> ApiCaller:
        return _caller(request, db, services, scope, uploads=uploads)

    return dependency
