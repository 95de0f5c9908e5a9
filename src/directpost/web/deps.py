"""Dependencies as `Annotated` aliases, so route signatures read like prose.

    async def page(person: CurrentPerson, account: CurrentAccount, services: ServicesDep) -> ...

`ServicesDep` is the app's one set of services (`publishing.wiring.Services`: settings, session
factory, cipher, the TikTok client, budgets, media store), built once by `create_app`; routes
take what they need from it. `DbSession` is the request's database session. `CurrentPerson` /
`CurrentAccount` send a signed-out visitor to the home page to sign in (or answer 401 to
scripts). `access_token_for_account` is a fresh access token for an account (refreshed under a
lease when it expires soon).

Connections: the dependencies that read who is signed in end their read transaction before they
return (`release_connection`), so the request's pooled connection goes back to the pool before
the route awaits anything slow (TikTok, an upload body). A route that queries again simply
checks a connection out anew. Holding one across a TikTok call would let 50 concurrent users
exhaust the pool (5 + 10 connections by default) and queue everyone behind the slowest call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from directpost.publishing import tokens
from directpost.publishing.wiring import Services
from directpost.store import accounts as store_accounts
from directpost.store.accounts import Person, TikTokAccount
from directpost.store.base import utcnow
from directpost.tiktok import AsyncTikTokClient
from directpost.web.templating import SESSION_ACCOUNT_KEY, SESSION_PERSON_KEY
from directpost.web.views import PersonView


class SignInRequiredError(Exception):
    """The page needs a signed-in person; the app answers with a redirect to sign in (or 401)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("Sign in with TikTok to continue.")
        self.next_path = next_path


class AccountRequiredError(Exception):
    """The page needs a connected TikTok account; the app sends the person to /accounts."""


def get_services(request: Request) -> Services:
    """The app's services, built once by `create_app` (tests may replace them)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_db(services: ServicesDep) -> Iterator[Session]:
    """One database session per request: committed when the route returns, else rolled back."""
    with services.factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def release_connection(db: Session) -> None:
    """End the session's transaction (if any), so its connection returns to the pool now.

    Blocking: call it from a worker thread (sync dependencies already run in one). Loaded
    objects stay usable: the session factory keeps attributes after commit.
    """
    if db.in_transaction():
        db.commit()


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def get_optional_person(request: Request, db: DbSession) -> Person | None:
    """The signed-in person, or None for a visitor (a stale session is treated as signed out)."""
    person_id = request.session.get(SESSION_PERSON_KEY)
    if not isinstance(person_id, int):
        return None
    person = store_accounts.get_person(db, person_id=person_id)
    if person is None:
        request.session.pop(SESSION_PERSON_KEY, None)
        request.session.pop(SESSION_ACCOUNT_KEY, None)
        return None
    active = request.session.get(SESSION_ACCOUNT_KEY)
    request.state.person_view = PersonView.of(person, active if isinstance(active, int) else None)
    release_connection(db)
    return person


OptionalPerson = Annotated[Person | None, Depends(get_optional_person)]


def get_current_person(request: Request, person: OptionalPerson) -> Person:
    if person is None:
        raise SignInRequiredError(_next_path(request))
    return person


CurrentPerson = Annotated[Person, Depends(get_current_person)]


def get_current_account(request: Request, person: CurrentPerson, db: DbSession) -> TikTokAccount:
    """The connected TikTok account the person chose for posting (or their first connected one)."""
    view: PersonView = request.state.person_view
    if view.active_account is None:
        raise AccountRequiredError()
    account = store_accounts.get_account(db, person_id=person.id, account_id=view.active_account.id)
    release_connection(db)
    if account is None or not account.is_connected:
        raise AccountRequiredError()
    return account


CurrentAccount = Annotated[TikTokAccount, Depends(get_current_account)]


async def access_token_for_account(
    account: TikTokAccount, *, db: Session, services: Services, client: AsyncTikTokClient
) -> str:
    """A fresh access token for the account, taken without holding the request's connection.

    Usually the token comes from the row already loaded (no query, no I/O). When it expires
    within `REFRESH_MARGIN`, `publishing.tokens.fresh_access_token` refreshes it under a lease
    in its own short sessions; the request's read transaction ends first (in a worker thread),
    because SQLite refuses to upgrade a read that began before another connection's write, and
    so that no pooled connection waits on TikTok. `AccountRequiredError` when the account must
    be reconnected.
    """
    try:
        usable = store_accounts.usable_access_token(account, cipher=services.cipher, now=utcnow())
        if usable is not None:
            return usable  # the usual case
        if db.in_transaction():
            await run_in_threadpool(release_connection, db)
        return await tokens.fresh_access_token(
            services.factory,
            account_id=account.id,
            cipher=services.cipher,
            refresh=lambda refresh_token: client.refresh_token(refresh_token=refresh_token),
        )
    except store_accounts.AccountNotConnectedError as exc:
        raise AccountRequiredError() from exc


def sign_in_url(next_path: str) -> str:
    """Where to send a visitor who must sign in first (home page with a `next`)."""
    return "/?next=" + quote(next_path, safe="/")
