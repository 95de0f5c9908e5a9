"""Who may prepare posts for an account besides its owner, and the keys scripts use to do it
(issue 18): personal access tokens, account members and invitations.

- A **personal access token** belongs to one person and carries scopes (`prepare`, `read`).
  Only its SHA-256 is stored: the token is 32 random bytes, so a fast hash is as safe as a slow
  one here (nobody can guess the input), and a lookup is one indexed equality. The token itself
  is shown once, when it is made.
- A **member** of an account is another person its owner let prepare posts for it; a member
  sees the accounts granted to them and only what they prepared; only the owner confirms.
- An **invitation** is a link with an expiry; like a token, only its hash is stored.

Removing a member revokes every token of theirs (the issue's rule; they make new ones for the
accounts they still have), so a script of a removed teammate stops at its next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from directpost.store.accounts import Person, TikTokAccount
from directpost.store.base import Base, UTCDateTime, utcnow

#: What a token may do: read accounts, prepared posts and posts; prepare (upload, create,
#: withdraw). No scope publishes: only the creator on the Post page does (UX-5c).
SCOPES: Final = ("prepare", "read")
TOKEN_PREFIX: Final = "dpat_"  # noqa: S105 - a prefix that marks tokens, not a secret
INVITE_LIFETIME: Final = timedelta(days=7)
#: How many live tokens one person may hold (a leak-hunt stays small).
MAX_TOKENS: Final = 20


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiToken(Base):
    """A personal access token: its hash, its scopes, when it was used and revoked."""

    __tablename__ = "api_tokens"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, shown in lists so a person can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    @property
    def live(self) -> bool:
        return self.revoked_at is None


class AccountMember(Base):
    """A person allowed to prepare posts for an account they do not own."""

    __tablename__ = "account_members"
    __table_args__ = (
        UniqueConstraint("account_id", "person_id", name="uq_account_members_account_person"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A link that makes whoever opens it (signed in) a member of one account, until it expires."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_by: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewToken:
    row: ApiToken
    #: The token itself: shown once, never stored.
    secret: str


class TooManyTokensError(Exception):
    pass


def create_token(
    session: Session, *, person_id: int, name: str, scopes: frozenset[str], now: datetime
) -> NewToken:
    """A new token for the person; `secret` is the only copy of it."""
    live = session.scalar(
        select(ApiToken.id)
        .where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
        .offset(MAX_TOKENS - 1)
        .limit(1)
    )
    if live is not None:
        raise TooManyTokensError(
            f"You have {MAX_TOKENS} tokens already. Revoke one you no longer use, then try again."
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        person_id=person_id,
        name=name.strip()[:100] or "token",
        token_hash=digest(secret),
        hint=secret[: len(TOKEN_PREFIX) + 4],
        scopes=",".join(s for s in SCOPES if s in scopes),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return NewToken(row, secret)


def token_by_secret(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, or None (unknown, malformed or revoked)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None or not row.live:
        return None
    return row


def list_tokens(session: Session, *, person_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.person_id == person_id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, *, person_id: int, token_id: int, now: datetime) -> bool:
    """Revoke one of the person's tokens; False when it is not theirs or already revoked."""
    done = session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            ApiToken.person_id == person_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(getattr(done, "rowcount", 0))


def revoke_all_tokens(session: Session, *, person_id: int, now: datetime) -> int:
    done = session.execute(
        update(ApiToken)
        .where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(done, "rowcount", 0))


# --- who may prepare for which account ----------------------------------------------------------


def preparable_accounts(session: Session, *, person_id: int) -> list[tuple[TikTokAccount, bool]]:
    """The connected accounts the person may prepare posts for, and whether they own each."""
    owned = session.scalars(
        select(TikTokAccount)
        .where(TikTokAccount.person_id == person_id, TikTokAccount.status == "active")
        .order_by(TikTokAccount.id)
    )
    granted = session.scalars(
        select(TikTokAccount)
        .join(AccountMember, AccountMember.account_id == TikTokAccount.id)
        .where(AccountMember.person_id == person_id, TikTokAccount.status == "active")
        .order_by(TikTokAccount.id)
    )
    return [(a, True) for a in owned] + [(a, False) for a in granted]


def preparable_account(
    session: Session, *, person_id: int, account_id: int
) -> tuple[TikTokAccount, bool] | None:
    """One account the person may prepare for (owned or granted), or None: not theirs, not
    granted, or not connected. Guessed ids get None, like ids that do not exist."""
    for account, owns in preparable_accounts(session, person_id=person_id):
        if account.id == account_id:
            return account, owns
    return None


def members_of(session: Session, *, owner_id: int) -> list[tuple[AccountMember, TikTokAccount]]:
    """The members of every account the owner has, with the account."""
    rows = session.execute(
        select(AccountMember, TikTokAccount)
        .join(TikTokAccount, TikTokAccount.id == AccountMember.account_id)
        .where(TikTokAccount.person_id == owner_id)
        .order_by(TikTokAccount.id, AccountMember.id)
    )
    return [(member, account) for member, account in rows]


def remove_member(session: Session, *, owner_id: int, member_id: int, now: datetime) -> bool:
    """Remove a member from one of the owner's accounts and revoke all of their tokens."""
    found = session.execute(
        select(AccountMember)
        .join(TikTokAccount, TikTokAccount.id == AccountMember.account_id)
        .where(AccountMember.id == member_id, TikTokAccount.person_id == owner_id)
    ).scalar_one_or_none()
    if found is None:
        return False
    revoke_all_tokens(session, person_id=found.person_id, now=now)
    session.delete(found)
    return True


# --- invitations --------------------------------------------------------------------------------


def create_invite(
    session: Session, *, owner_id: int, account_id: int, now: datetime
) -> tuple[Invite, str] | None:
    """An invitation to one of the owner's accounts (None: not theirs); the secret goes in the
    link and is not stored."""
    account = session.scalar(
        select(TikTokAccount).where(
            TikTokAccount.id == account_id, TikTokAccount.person_id == owner_id
        )
    )
    if account is None:
        return None
    secret = secrets.token_urlsafe(24)
    invite = Invite(
        account_id=account_id,
        created_by=owner_id,
        token_hash=digest(secret),
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
    )
    session.add(invite)
    session.flush()
    return invite, secret


def open_invites(session: Session, *, owner_id: int, now: datetime) -> list[Invite]:
    return list(
        session.scalars(
            select(Invite)
            .where(
                Invite.created_by == owner_id,
                Invite.accepted_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > now,
            )
            .order_by(Invite.id.desc())
        )
    )


def revoke_invite(session: Session, *, owner_id: int, invite_id: int, now: datetime) -> bool:
    done = session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.created_by == owner_id, Invite.accepted_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(done, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class InviteView:
    invite: Invite
    account: TikTokAccount
    owner: Person


def find_invite(session: Session, secret: str) -> InviteView | None:
    """The invitation behind a link (whatever its state), or None for an unknown link."""
    if not secret or len(secret) > 100:
        return None
    row = session.execute(
        select(Invite, TikTokAccount, Person)
        .join(TikTokAccount, TikTokAccount.id == Invite.account_id)
        .join(Person, Person.id == TikTokAccount.person_id)
        .where(Invite.token_hash == digest(secret))
    ).first()
    return InviteView(*row) if row is not None else None


def why_invite_unusable(view: InviteView, *, person_id: int, now: datetime) -> str | None:
    """Why this person cannot accept the invitation now, or None when they can."""
    invite = view.invite
    if invite.revoked_at is not None:
        return "This invitation was withdrawn by the account's owner."
    if invite.accepted_at is not None:
        return "This invitation has been used already. Ask the account's owner for a new one."
    if invite.expires_at <= now:
        return "This invitation has expired. Ask the account's owner for a new one."
    if view.account.person_id == person_id:
        return "This is your own account: you can prepare posts for it already."
    return None


def accept_invite(session: Session, view: InviteView, *, person_id: int, now: datetime) -> bool:
    """Make the person a member of the invitation's account (once; the link is then used).

    False when the link was used, withdrawn or expired meanwhile: the claim is one conditional
    UPDATE, so two people opening the same link at once cannot both join."""
    invite = view.invite
    claimed = session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(accepted_by=person_id, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        return False
    invite.accepted_by = person_id
    invite.accepted_at = now
    exists = session.scalar(
        select(AccountMember.id).where(
            AccountMember.account_id == invite.account_id, AccountMember.person_id == person_id
        )
    )
    if exists is None:
        session.add(
            AccountMember(account_id=invite.account_id, person_id=person_id, created_at=now)
        )
    session.flush()
    return True


# --- the member's side --------------------------------------------------------------------------


def memberships(session: Session, *, person_id: int) -> list[tuple[AccountMember, TikTokAccount]]:
    """The accounts granted to the person (whatever their connection), oldest grant first."""
    rows = session.execute(
        select(AccountMember, TikTokAccount)
        .join(TikTokAccount, TikTokAccount.id == AccountMember.account_id)
        .where(AccountMember.person_id == person_id)
        .order_by(AccountMember.id)
    )
    return [(member, account) for member, account in rows]


def leave_account(session: Session, *, person_id: int, account_id: int) -> bool:
    """The member gives up one account granted to them; their tokens stay (they may prepare
    for other accounts, and leaving is their own choice). False: they were not a member."""
    found = session.scalar(
        select(AccountMember).where(
            AccountMember.person_id == person_id, AccountMember.account_id == account_id
        )
    )
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def nicknames(session: Session, person_ids: list[int]) -> dict[int, str]:
    """How a person is named to their teammates: the nickname of their first TikTok account
    (people have no name of their own here)."""
    if not person_ids:
        return {}
    names: dict[int, str] = {}
    for person_id, name in session.execute(
        select(TikTokAccount.person_id, TikTokAccount.display_name)
        .where(TikTokAccount.person_id.in_(person_ids))
        .order_by(TikTokAccount.person_id, TikTokAccount.id)
    ):
        names.setdefault(person_id, name)
    return names
