"""Dependencies as `Annotated` aliases, so route signatures read like prose.

    async def page(person: CurrentPerson, account: CurrentAccount, db: DbSession) -> ...

`CurrentPerson` / `CurrentAccount` send a signed-out visitor to the home page to sign in (or
answer 401 to scripts); `AccessToken` is a fresh access token for the active account (refreshed
under the store's lease when it expires soon).

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
from sqlalchemy.orm import Session, sessionmaker

from directpost.config import Settings
from directpost.store import accounts as store_accounts
from directpost.store.accounts import Person, TikTokAccount
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher
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


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request: committed when the route returns, else rolled back."""
    factory = get_session_factory(request)
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def release_connection(db: Session) -> None:
    """End the session's transaction (if any), so its connection returns to the pool now.

    Blocking: call it from a worker thread (sync dependencies already run in one). Loaded
    objects stay usable: the session factory keeps attributes after commit.
    """
    if db.in_transaction():
        db.commit()


def get_cipher(request: Request) -> TokenCipher:
    cipher: TokenCipher = request.app.state.token_cipher
    return cipher


def get_tiktok_client(request: Request) -> AsyncTikTokClient:
    client: AsyncTikTokClient = request.app.state.tiktok_client
    return client


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
DbSession = Annotated[Session, Depends(get_db, scope="function")]
CipherDep = Annotated[TokenCipher, Depends(get_cipher)]
TikTokClientDep = Annotated[AsyncTikTokClient, Depends(get_tiktok_client)]


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
    account: TikTokAccount,
    *,
    db: Session,
    factory: sessionmaker[Session],
    cipher: TokenCipher,
    client: AsyncTikTokClient,
) -> str:
    """A fresh access token for the account, taken without holding the request's connection.

    Usually the token comes from the row already loaded (no query, no I/O). When it expires
    within `REFRESH_MARGIN`, the store's refresh-under-lease runs in its own short sessions;
    the request's read transaction ends first (in a worker thread), because SQLite refuses to
    upgrade a read that began before another connection's write, and so that no pooled
    connection waits on TikTok. `AccountRequiredError` when the account must be reconnected.
    """
    try:
        tokens = store_accounts.read_tokens(account, cipher=cipher)
        expires = tokens.access_expires_at
        if expires is not None and expires - utcnow() > store_accounts.REFRESH_MARGIN:
            return tokens.access_token  # the usual case
        if db.in_transaction():
            await run_in_threadpool(release_connection, db)
        return await store_accounts.fresh_access_token(
            factory,
            account_id=account.id,
            cipher=cipher,
            refresh=lambda refresh_token: client.refresh_token(refresh_token=refresh_token),
        )
    except store_accounts.AccountNotConnectedError as exc:
        raise AccountRequiredError() from exc


async def get_access_token(
    account: CurrentAccount,
    db: DbSession,
    factory: SessionFactoryDep,
    cipher: CipherDep,
    client: TikTokClientDep,
) -> str:
    """A fresh access token for the active account (refreshed under a lease when needed)."""
    return await access_token_for_account(
        account, db=db, factory=factory, cipher=cipher, client=client
    )


AccessToken = Annotated[str, Depends(get_access_token)]


def sign_in_url(next_path: str) -> str:
    """Where to send a visitor who must sign in first (home page with a `next`)."""
    return "/?next=" + quote(next_path, safe="/")
