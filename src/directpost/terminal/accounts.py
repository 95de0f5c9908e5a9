"""Signed-in accounts by name, their tokens encrypted in the config folder, refreshed when due.

An account remembers which app and host issued its token, so a token of the demo emulator is
never sent to TikTok (and the other way round): a mismatch asks for a new sign-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from directpost.tiktok import TikTokClient, Token

from .home import Vault
from .target import Target

DEFAULT_ACCOUNT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
#: Refresh an access token this long before TikTok says it expires (a post takes a while).
REFRESH_MARGIN = timedelta(minutes=10)


class AccountError(Exception):
    """The account cannot be used as asked (unknown name, signed in elsewhere, expired)."""


def check_name(name: str) -> str:
    """An account name as a file name: letters, digits, dot, dash, underscore (≤ 40)."""
    if not _NAME.match(name):
        raise AccountError(
            f"{name!r} is not a usable account name: use up to 40 letters, digits, '.', '-' "
            "or '_', starting with a letter or digit."
        )
    return name


@dataclass(frozen=True)
class Account:
    """One signed-in TikTok account as the terminal keeps it (the tokens stay encrypted)."""

    name: str
    open_id: str
    nickname: str
    client_key: str
    api_base_url: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    scopes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "open_id": self.open_id,
            "nickname": self.nickname,
            "client_key": self.client_key,
            "api_base_url": self.api_base_url,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_expires_at": self.access_expires_at.isoformat(),
            "refresh_expires_at": self.refresh_expires_at.isoformat(),
            "scopes": list(self.scopes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        return cls(
            name=str(data["name"]),
            open_id=str(data["open_id"]),
            nickname=str(data.get("nickname", "")),
            client_key=str(data["client_key"]),
            api_base_url=str(data["api_base_url"]),
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            access_expires_at=datetime.fromisoformat(data["access_expires_at"]),
            refresh_expires_at=datetime.fromisoformat(data["refresh_expires_at"]),
            scopes=tuple(data.get("scopes", ())),
        )

    @classmethod
    def from_token(cls, name: str, token: Token, *, nickname: str, target: Target) -> Account:
        return cls(
            name=name,
            open_id=token.open_id,
            nickname=nickname,
            client_key=target.client_key,
            api_base_url=target.api_base_url,
            access_token=token.access_token,
            refresh_token=token.refresh_token,
            access_expires_at=token.access_expires_at,
            refresh_expires_at=token.refresh_expires_at,
            scopes=tuple(sorted(token.scopes)),
        )

    def __repr__(self) -> str:  # tokens stay out of tracebacks
        return f"Account(name={self.name!r}, open_id={self.open_id!r}, nickname={self.nickname!r})"


class AccountStore:
    """Accounts kept as `accounts/<name>.token`, each encrypted on its own."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @staticmethod
    def _file(name: str) -> str:
        return f"accounts/{check_name(name)}.token"

    def save(self, account: Account) -> None:
        self.vault.save(self._file(account.name), account.to_json())

    def get(self, name: str) -> Account | None:
        data = self.vault.load(self._file(name))
        return Account.from_json(data) if data else None

    def delete(self, name: str) -> bool:
        return self.vault.delete(self._file(name))

    def names(self) -> list[str]:
        return self.vault.names("accounts", ".token")

    def signed_in(self, name: str, target: Target) -> Account:
        """The account `name`, signed in to this very target, or AccountError saying what to do."""
        account = self.get(name)
        flag = "" if name == DEFAULT_ACCOUNT else f" --account {name}"
        if account is None:
            raise AccountError(f"No account {name!r} is signed in: run `directpost login{flag}`.")
        if (account.client_key, account.api_base_url) != (target.client_key, target.api_base_url):
            raise AccountError(
                f"Account {name!r} was signed in to {account.api_base_url}, but directpost now "
                f"talks to {target.api_base_url}: run `directpost login{flag}` again."
            )
        return account

    def fresh(
        self, account: Account, client: TikTokClient, *, now: datetime | None = None
    ) -> Account:
        """The account with an access token that lasts a while: refreshed when near its end,
        and the rotated refresh token stored at once (TikTok may rotate it)."""
        moment = now or datetime.now(UTC)
        if account.access_expires_at - REFRESH_MARGIN > moment:
            return account
        if account.refresh_expires_at <= moment:
            raise AccountError(
                f"The sign-in of {account.name!r} has expired: run `directpost login` again."
            )
        token = client.refresh_token(refresh_token=account.refresh_token)
        renewed = Account(
            name=account.name,
            open_id=account.open_id,
            nickname=account.nickname,
            client_key=account.client_key,
            api_base_url=account.api_base_url,
            access_token=token.access_token,
            refresh_token=token.refresh_token or account.refresh_token,
            access_expires_at=token.access_expires_at,
            refresh_expires_at=token.refresh_expires_at,
            scopes=tuple(sorted(token.scopes)) or account.scopes,
        )
        self.save(renewed)
        return renewed
