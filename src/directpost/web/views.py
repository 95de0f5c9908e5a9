"""View models: the only shapes of stored data that templates see (no token can reach a page)."""

from __future__ import annotations

from dataclasses import dataclass

from directpost.store.accounts import Person, TikTokAccount


@dataclass(frozen=True, slots=True)
class AccountView:
    """A linked TikTok account as pages show it."""

    id: int
    display_name: str
    avatar_url: str
    status: str
    scopes: tuple[str, ...]
    connected: bool

    @classmethod
    def of(cls, account: TikTokAccount) -> AccountView:
        return cls(
            id=account.id,
            display_name=account.display_name or "TikTok account",
            avatar_url=account.avatar_url,
            status=account.status,
            scopes=tuple(sorted(account.granted_scopes)),
            connected=account.is_connected,
        )


@dataclass(frozen=True, slots=True)
class PersonView:
    """The signed-in person, their accounts, and which one posts go to."""

    id: int
    accounts: tuple[AccountView, ...]
    active_account: AccountView | None

    @classmethod
    def of(cls, person: Person, active_account_id: int | None) -> PersonView:
        accounts = tuple(AccountView.of(a) for a in person.accounts)
        active = next((a for a in accounts if a.id == active_account_id and a.connected), None)
        if active is None:
            active = next((a for a in accounts if a.connected), None)
        return cls(id=person.id, accounts=accounts, active_account=active)
