"""Guessing the operator token is throttled (issue 15, item 7), for every process at once.

Wrong tokens are counted in the database (`store.sessions.SignInThrottle`) per client address
and for all addresses together: a few free tries, then a lock that doubles with each further
wrong token, capped. While a lock holds, a token is not even compared: the answer is 429 with
`Retry-After` and a sentence saying when to try again. A right token clears its address's count.

The global count stops a guesser who spreads over many addresses; its cap is short, because it
also locks out the real operator (who can still use the command line: `directpost lockdown`).
Behind a reverse proxy every request has the proxy's address, so the per-address count becomes
a second global one: the limits still hold, only less precisely.
"""

from __future__ import annotations

import hmac
import math
from datetime import datetime, timedelta

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError

from directpost.publishing.wiring import Services
from directpost.store import sessions as store
from directpost.store.base import utcnow
from directpost.web.i18n import _
from directpost.web.templating import render

ADDRESS_BACKOFF = store.Backoff(
    free_failures=5,
    first_lock=timedelta(seconds=2),
    longest_lock=timedelta(minutes=15),
    forget_after=timedelta(hours=1),
)
GLOBAL_BACKOFF = store.Backoff(
    free_failures=50,
    first_lock=timedelta(seconds=2),
    longest_lock=timedelta(minutes=5),
    forget_after=timedelta(minutes=15),
)


def address_key(request: Request) -> str:
    return "address:" + (request.client.host if request.client else "unknown")[:80]


def _too_many(request: Request, until: datetime, now: datetime) -> Response:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    response = render(
        request,
        "operator/sign_in.html",
        {
            "message": _(
                "Too many wrong operator tokens were tried, so operator sign-in is paused. "
                "Try again in %(seconds)d seconds. Nothing was changed."
            )
            % {"seconds": seconds}
        },
        status_code=429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _record_failure(services: Services, request: Request, now: datetime) -> None:
    for key, backoff in (
        (address_key(request), ADDRESS_BACKOFF),
        (store.GLOBAL_KEY, GLOBAL_BACKOFF),
    ):
        for attempt in (1, 2):  # two processes may insert the same new key at once
            try:
                with services.factory() as db, db.begin():
                    store.record_failure(db, key=key, backoff=backoff, now=now)
                break
            except IntegrityError:
                if attempt == 2:
                    raise


def throttled_check(
    request: Request, services: Services, *, presented: str, expected: str
) -> Response | None:
    """None when `presented` is the operator token; else the answer to give (401 or 429).

    Blocking (database): call it in a worker thread."""
    now = utcnow()
    keys = (address_key(request), store.GLOBAL_KEY)
    with services.factory() as db:
        until = store.locked_until(db, keys=keys, now=now)
    if until is not None:
        return _too_many(request, until, now)
    if presented and hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        with services.factory() as db, db.begin():
            store.clear_failures(db, key=address_key(request))
        return None
    _record_failure(services, request, now)
    return render(
        request,
        "operator/sign_in.html",
        {"message": _("That is not this deployment's operator token. Nothing was changed.")},
        status_code=401,
    )
