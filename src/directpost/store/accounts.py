"""People, their linked TikTok accounts, and the accounts' tokens (encrypted at rest).

A *person* is whoever signs in; there are no passwords: signing in with a TikTok account
identifies the person who linked it (USE-2). One person may link several of their own TikTok
accounts. Every function that serves a page takes `person_id`, so a query cannot reach another
person's rows by accident. Tokens are stored only as ciphertext (TOS-1); views for pages are
built from the public columns, never from the token columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from sqlalchemy import CursorResult, ForeignKey, Integer, String, Text, or_, select, update
from sqlalchemy.orm import (
    Mapped,
    Session,
    joinedload,
    mapped_column,
    query_expression,
    relationship,
)

from directpost.store import person_data
from directpost.store.base import Base, UTCDateTime, utcnow
from directpost.store.crypto import TokenCipher

AccountStatus = Literal["active", "disconnected", "removed", "reconnect_needed"]

#: Refresh the access token when it has less than this left (jobs must not start with a token
#: that expires mid-upload).
REFRESH_MARGIN = timedelta(minutes=10)


class Person(Base):
    """Someone who signed in with TikTok. Holds nothing but what linking accounts needs."""

    __tablename__ = "people"
    # Never reuse a deleted person's id on SQLite: an old session cookie must not find a new
    # person behind the same number.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    accounts: Mapped[list[TikTokAccount]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TikTokAccount.id",
    )
    #: Unread in-app notifications, read with the person by the statement that loads a page's
    #: session (`store.sessions.read_session`); None where a statement did not ask for it.
    unread_notifications: Mapped[int | None] = query_expression()
    #: Prepared posts waiting for the person's review (issue 18), read the same way.
    to_review: Mapped[int | None] = query_expression()


class TikTokAccount(Base):
    """A TikTok account linked to a person, with its tokens encrypted at rest."""

    __tablename__ = "tiktok_accounts"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: TikTok's user id, unique per app; a TikTok account belongs to one person here.
    open_id: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    avatar_url: Mapped[str] = mapped_column(Text, default="")
    #: Comma-separated scopes the creator granted (they may deny some).
    scopes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="active")
    access_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Until when one process holds the right to refresh the tokens (refresh tokens rotate).
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(back_populates="accounts")

    @property
    def granted_scopes(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.scopes.split(",") if s.strip())

    @property
    def is_connected(self) -> bool:
        return self.status == "active" and self.refresh_token_enc is not None


class TokenGrant(Protocol):
    """What a token exchange or refresh returns (`directpost.tiktok.Token` fits this)."""

    @property
    def open_id(self) -> str: ...
    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str: ...
    @property
    def scopes(self) -> frozenset[str]: ...
    @property
    def access_expires_at(self) -> datetime: ...
    @property
    def refresh_expires_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Profile:
    """The public profile facts shown to the person (from /v2/user/info/)."""

    display_name: str
    avatar_url: str


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """Decrypted tokens for one account; never put into a page or a log line."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None


class AccountLinkedElsewhereError(Exception):
    """The TikTok account is already linked to another person of this app."""


class AccountNotConnectedError(Exception):
    """The account has no usable tokens: the person must connect it again (sign in with it)."""


# --- reading -------------------------------------------------------------------------------

#: Built once: the loader option is the same for every request.
_WITH_ACCOUNTS = (joinedload(Person.accounts),)


def get_person(session: Session, *, person_id: int) -> Person | None:
    """The person with their linked accounts, in one statement (every signed-in page shows the
    accounts, and the Post page posts as one of them: no second query for them)."""
    return session.get(Person, person_id, options=_WITH_ACCOUNTS)


def list_accounts(session: Session, *, person_id: int) -> list[TikTokAccount]:
    """The person's linked accounts, oldest first."""
    rows = session.scalars(
        select(TikTokAccount).where(TikTokAccount.person_id == person_id).order_by(TikTokAccount.id)
    )
    return list(rows)


def get_account(session: Session, *, person_id: int, account_id: int) -> TikTokAccount | None:
    """One of the person's accounts; None when it does not exist *or belongs to someone else*."""
    return session.scalar(
        select(TikTokAccount).where(
            TikTokAccount.id == account_id, TikTokAccount.person_id == person_id
        )
    )


def find_account_by_open_id(session: Session, *, open_id: str) -> TikTokAccount | None:
    """The account TikTok calls `open_id` (webhooks name accounts only this way)."""
    return session.scalar(select(TikTokAccount).where(TikTokAccount.open_id == open_id))


def read_tokens(account: TikTokAccount, *, cipher: TokenCipher) -> StoredTokens:
    """Decrypt the account's tokens, or say that the account must be connected again."""
    if (
        account.status != "active"
        or account.access_token_enc is None
        or account.refresh_token_enc is None
    ):
        raise AccountNotConnectedError(
            f"The TikTok account {account.display_name or account.open_id!r} is not connected; "
            "sign in with it again to reconnect it."
        )
    return StoredTokens(
        access_token=cipher.decrypt(account.access_token_enc),
        refresh_token=cipher.decrypt(account.refresh_token_enc),
        access_expires_at=account.access_expires_at,
        refresh_expires_at=account.refresh_expires_at,
    )


def usable_access_token(
    account: TikTokAccount,
    *,
    cipher: TokenCipher,
    now: datetime,
    margin: timedelta = REFRESH_MARGIN,
) -> str | None:
    """The stored access token when it is good for at least `margin` more, else None (then
    `publishing.tokens.fresh_access_token` refreshes it under a lease). Lets a caller that
    already holds the account row skip a read; raises like `read_tokens` for a disconnected
    account."""
    if (
        account.status != "active"
        or account.access_token_enc is None
        or account.access_expires_at is None
        or account.access_expires_at - now <= margin
    ):
        read_tokens(account, cipher=cipher)  # raises AccountNotConnectedError when disconnected
        return None
    return cipher.decrypt(account.access_token_enc)


# --- writing -------------------------------------------------------------------------------


def _store_grant(
    account: TikTokAccount, *, grant: TokenGrant, cipher: TokenCipher, now: datetime
) -> None:
    account.access_token_enc = cipher.encrypt(grant.access_token)
    if grant.refresh_token:  # TikTok may omit it on refresh: keep the one we have
        account.refresh_token_enc = cipher.encrypt(grant.refresh_token)
        account.refresh_expires_at = grant.refresh_expires_at
    account.access_expires_at = grant.access_expires_at
    if grant.scopes:
        account.scopes = ",".join(sorted(grant.scopes))
    account.status = "active"
    account.refresh_lease_until = None
    account.updated_at = now


def record_sign_in(
    session: Session,
    *,
    grant: TokenGrant,
    profile: Profile,
    cipher: TokenCipher,
    signed_in_person_id: int | None,
    now: datetime | None = None,
) -> TikTokAccount:
    """Store a completed TikTok sign-in and return the account it signed into.

    Signed out: the account's person is found (or a new person is made). Signed in: the
    account is linked to the signed-in person; an account already linked to someone else is
    refused with `AccountLinkedElsewhereError` rather than moved.
    """
    now = now or utcnow()
    account = find_account_by_open_id(session, open_id=grant.open_id)
    if account is None:
        if signed_in_person_id is None:
            person = Person(created_at=now, last_signed_in_at=now)
            session.add(person)
            session.flush()
            person_id = person.id
        else:
            person_id = signed_in_person_id
        account = TikTokAccount(person_id=person_id, open_id=grant.open_id, created_at=now)
        session.add(account)
    elif signed_in_person_id is not None and account.person_id != signed_in_person_id:
        raise AccountLinkedElsewhereError(
            "This TikTok account is already linked to another directpost profile. Sign out, "
            "then continue with TikTok using that account to reach it."
        )
    account.display_name = profile.display_name
    account.avatar_url = profile.avatar_url
    _store_grant(account, grant=grant, cipher=cipher, now=now)
    session.flush()
    person_row = session.get(Person, account.person_id)
    if person_row is not None:
        person_row.last_signed_in_at = now
    return account


def forget_tokens(session: Session, *, account_id: int, status: AccountStatus) -> None:
    """Delete an account's tokens at once (disconnect, `authorization.removed`: DG-5)."""
    session.execute(
        update(TikTokAccount)
        .where(TikTokAccount.id == account_id)
        .values(
            access_token_enc=None,
            refresh_token_enc=None,
            access_expires_at=None,
            refresh_expires_at=None,
            refresh_lease_until=None,
            status=status,
            updated_at=utcnow(),
        )
    )


def delete_person(session: Session, *, person_id: int) -> None:
    """Delete the person and, through ON DELETE CASCADE, everything that hangs off them; first
    what they prepared for others' accounts (`person_data.DELETED_WITH_PERSON`), then the rows
    that name their accounts by open_id (`store.person_data`)."""
    open_ids = [a.open_id for a in list_accounts(session, person_id=person_id)]
    for statement in person_data.delete_prepared_by(Base.metadata.sorted_tables, person_id):
        session.execute(statement)
    person = session.get(Person, person_id)
    if person is not None:
        session.delete(person)
        session.flush()
    for statement in person_data.delete_open_id_rows(Base.metadata.sorted_tables, open_ids):
        session.execute(statement)


def reencrypt_tokens(session: Session, *, cipher: TokenCipher) -> int:
    """Re-encrypt every stored token under the cipher's current key (after a key rotation)."""
    count = 0
    for account in session.scalars(select(TikTokAccount)):
        if account.access_token_enc is not None:
            account.access_token_enc = cipher.rotate(account.access_token_enc)
            count += 1
        if account.refresh_token_enc is not None:
            account.refresh_token_enc = cipher.rotate(account.refresh_token_enc)
    return count


# --- export (DG-5) -------------------------------------------------------------------------

#: Columns never exported: secrets and internal locks.
_SECRET_COLUMN_MARKERS = ("token", "secret", "lease")


def _exportable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def export_person_data(session: Session, *, person_id: int) -> dict[str, Any]:
    """Everything stored about the person, as JSON-ready data, without any secret.

    Walks every table of the shared metadata that hangs off the person (`person_id`), off one
    of their accounts (`account_id`) or names one of them by open_id (`store.person_data`), so
    tables added by other parts are exported too; plus the rows about them through another
    column (`person_data.ALSO_ABOUT`: what they prepared for others, their teammates).
    """
    linked = list_accounts(session, person_id=person_id)
    account_ids = [a.id for a in linked]
    open_ids = [a.open_id for a in linked]
    out: dict[str, Any] = {}
    for table in Base.metadata.sorted_tables:
        relation = person_data.classify(table)
        if relation == "person":
            where = table.c.id == person_id
        elif relation == "person_id":
            where = table.c.person_id == person_id
        elif relation == "account_id":
            where = table.c.account_id.in_(account_ids)
        elif relation == "upload_id":
            uploads = Base.metadata.tables["uploads"]
            where = table.c.upload_id.in_(
                select(uploads.c.id).where(uploads.c.person_id == person_id)
            )
        elif relation == "open_id":
            where = person_data.open_id_rows(table, open_ids)
        else:  # posts' own rows come with each post's history (`export_posts`)
            continue
        where = or_(
            where, *person_data.also_about(table, person_id=person_id, account_ids=account_ids)
        )
        omitted = person_data.EXPORT_OMITS.get(table.name, frozenset())
        columns = [
            c
            for c in table.c
            if c.name not in omitted
            and not any(marker in c.name for marker in _SECRET_COLUMN_MARKERS)
        ]
        rows = session.execute(select(*columns).where(where)).mappings()
        out[table.name] = [{k: _exportable(v) for k, v in row.items()} for row in rows]
    return out


def table_names() -> list[str]:
    """Names of every table in the shared metadata (for checks and the data page)."""
    return [t.name for t in Base.metadata.sorted_tables]


# --- token refresh: the rows `publishing.tokens.fresh_access_token` reads and writes ---------


def load_tokens(session: Session, *, account_id: int, cipher: TokenCipher) -> StoredTokens:
    """The account's decrypted tokens, read by id (`AccountNotConnectedError` when gone)."""
    account = session.get(TikTokAccount, account_id)
    if account is None:
        raise AccountNotConnectedError("The TikTok account no longer exists.")
    return read_tokens(account, cipher=cipher)


def take_refresh_lease(
    session: Session, *, account_id: int, now: datetime, lease: timedelta
) -> bool:
    """Take the right to refresh the account's tokens until `now + lease`; False when another
    process holds it (one conditional UPDATE, the same on SQLite and PostgreSQL)."""
    result = session.execute(
        update(TikTokAccount)
        .where(
            TikTokAccount.id == account_id,
            (TikTokAccount.refresh_lease_until.is_(None))
            | (TikTokAccount.refresh_lease_until < now),
        )
        .values(refresh_lease_until=now + lease)
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


def release_refresh_lease(session: Session, *, account_id: int) -> None:
    """Give the right to refresh back (the refresh is done, or failed)."""
    session.execute(
        update(TikTokAccount).where(TikTokAccount.id == account_id).values(refresh_lease_until=None)
    )


def store_refreshed_grant(
    session: Session, *, account_id: int, grant: TokenGrant, cipher: TokenCipher, now: datetime
) -> None:
    """Keep the tokens a refresh returned (encrypted), and release the refresh lease."""
    account = session.get(TikTokAccount, account_id)
    if account is None:
        raise AccountNotConnectedError("The TikTok account was deleted during refresh.")
    _store_grant(account, grant=grant, cipher=cipher, now=now)
