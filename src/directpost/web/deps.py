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

Threads: only what blocks on the database runs in a worker thread. A dependency without I/O is
`async` (FastAPI runs a plain `def` dependency in the thread pool, a hop of its own per request),
and `get_db` opens its session on the loop (opening does no I/O) and goes to a thread at the
end only when the session still holds a connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from directpost.publishing import tokens
from directpost.publishing.wiring import Services
from directpost.store import accounts as store_accounts
from directpost.store.accounts import Person, TikTokAccount
from directpost.store.base import utcnow
from directpost.tiktok import AsyncTikTokClient
from directpost.web.sessions import session_person
from directpost.web.templating import SESSION_ACCOUNT_KEY, SESSION_PERSON_KEY
from directpost.web.views import PersonView


class SignInRequiredError(Exception):
    """The page needs a signed-in person; the app answers with a redirect to sign in (or 401)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("Sign in with TikTok to continue.")
        self.next_path = next_path


class AccountRequiredError(Exception):
    """The page needs a connected TikTok account; the app sends the person to /accounts."""


async def get_services(request: Request) -> Services:
    """The app's services, built once by `create_app` (tests may replace them)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _finish_session(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_db(services: ServicesDep) -> AsyncIterator[Session]:
    """One database session per request: committed when the route returns, else rolled back.

    Opening a session does no I/O, so it happens on the loop; the end goes to a worker thread
    only when the session holds a connection or pending changes (the usual read-only request
    gave its connection back already, see `release_connection`).
    """
    session = services.factory()
    commit = False
    try:
        yield session
        commit = True
    finally:
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            # Shielded: a request cancelled here (the client left) must still give its
            # connection back.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_finish_session, session, commit=commit)
        else:
            session.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def release_connection(db: Session) -> None:
    """End the session's transaction (if any), so its connection returns to the pool now.

    Blocking: call it from a worker thread (sync dependencies already run in one). Loaded
    objects stay usable: the session factory keeps attributes after commit.
    """
    if db.in_transaction():
        db.commit()


def next_path(request: Request) -> str:
    """The path (and query) of this request, to come back to after signing in."""
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def get_optional_person(request: Request, db: DbSession) -> Person | None:
    """The signed-in person, or None for a visitor (a stale session is treated as signed out).

    The session's row is read with the person in one statement (`web.sessions`)."""
    person = session_person(db, request)
    release_connection(db)
    if person is None:
        if SESSION_PERSON_KEY in request.session:
            request.session.pop(SESSION_PERSON_KEY, None)
            request.session.pop(SESSION_ACCOUNT_KEY, None)
        return None
    active = request.session.get(SESSION_ACCOUNT_KEY)
    request.state.person_view = PersonView.of(person, active if isinstance(active, int) else None)
    return person


OptionalPerson = Annotated[Person | None, Depends(get_optional_person)]


async def get_current_person(request: Request, person: OptionalPerson) -> Person:
    if person is None:
        raise SignInRequiredError(next_path(request))
    return person


CurrentPerson = Annotated[Person, Depends(get_current_person)]


def active_account(person: Person, view: PersonView) -> TikTokAccount:
    """The connected account `view` chose for posting, from the person's loaded accounts (no
    query: `get_person` loads them with the person); `AccountRequiredError` when none."""
    if view.active_account is not None:
        for account in person.accounts:
            if account.id == view.active_account.id and account.is_connected:
                return account
    raise AccountRequiredError()


async def get_current_account(request: Request, person: CurrentPerson) -> TikTokAccount:
    """The connected TikTok account the person chose for posting (or their first connected one)."""
    view: PersonView = request.state.person_view
    return active_account(person, view)


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
    except store_accounts.AccountNotConnectedError as exc:
        raise AccountRequiredError() from exc
    return await refreshed_access_token(account, services=services, client=client)


async def refreshed_access_token(
    account: TikTokAccount, *, services: Services, client: AsyncTikTokClient
) -> str:
    """The account's access token after a refresh under its lease (hold no connection when
    calling: the refresh waits on TikTok); `AccountRequiredError` to reconnect."""
    try:
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
