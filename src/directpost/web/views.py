"""View models: the only shapes of stored data that templates see (no token can reach a page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    #: Unread in-app notifications (the header's badge); 0 when the page did not read them.
    unread_notifications: int = 0
    #: Prepared posts waiting for the person's review (the "To review" badge).
    to_review: int = 0

    @classmethod
    def of(cls, person: Person, active_account_id: int | None) -> PersonView:
        accounts = tuple(AccountView.of(a) for a in person.accounts)
        active = next((a for a in accounts if a.id == active_account_id and a.connected), None)
        if active is None:
            active = next((a for a in accounts if a.connected), None)
        return cls(
            id=person.id,
            accounts=accounts,
            active_account=active,
            unread_notifications=person.unread_notifications or 0,
            to_review=person.to_review or 0,
        )


# --- "My data" (DG-5): what is stored, in plain words -----------------------------------------


def plain_size(size: int) -> str:
    """A byte count as people read it (1.4 MB), decimal units like file managers show."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"  # pragma: no cover - the loop always returns


def plain_date(iso: str | None) -> str:
    """An exported ISO time as "2026-12-02 11:25 UTC" (the export keeps the ISO form)."""
    if not iso:
        return ""
    return iso.replace("T", " ")[:16] + " UTC"


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """A linked account as the data page tells it."""

    id: int
    display_name: str
    open_id: str
    avatar_url: str
    connected: bool
    permissions: str
    linked_on: str


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as the data page tells it: what, when, where it stands, what was agreed to."""

    id: int
    title: str
    kind: str
    state: str
    created: str
    consents: int
    tries: int
    #: TikTok's reference of each try (publish_id), so support questions can name it.
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One uploaded file kept on this site."""

    name: str
    size: str
    uploaded: str


@dataclass(frozen=True, slots=True)
class MyData:
    """Everything the data page shows; built from the same export the download gives."""

    member_since: str
    last_sign_in: str
    accounts: tuple[StoredAccount, ...]
    posts: tuple[StoredPost, ...]
    consents: int
    files: tuple[StoredFile, ...]
    media_total: str
    #: Issue 18: personal access tokens (live ones), accounts others granted the person, people
    #: on the person's own accounts, and prepared posts (by them, or waiting for them).
    api_tokens: int = 0
    prepares_for: int = 0
    teammates: int = 0
    prepared_posts: int = 0

    @classmethod
    def of(
        cls,
        data: dict[str, Any],
        files: list[StoredFile],
        total_bytes: int,
        connected_ids: frozenset[int] = frozenset(),
    ) -> MyData:
        people = data.get("people") or [{}]
        accounts = tuple(
            StoredAccount(
                id=int(a["id"]),
                display_name=str(a.get("display_name") or "TikTok account"),
                open_id=str(a.get("open_id", "")),
                avatar_url=str(a.get("avatar_url") or ""),
                connected=int(a["id"]) in connected_ids,
                permissions=", ".join(sorted(str(a.get("scopes") or "").replace(",", " ").split())),
                linked_on=plain_date(a.get("created_at")),
            )
            for a in data.get("tiktok_accounts", [])
        )
        history = data.get("post_history", [])
        posts = tuple(
            StoredPost(
                id=int(p["id"]),
                title=str((p.get("choices") or {}).get("title") or ""),
                kind=str(p.get("kind", "")),
                state=str(p.get("state", "")),
                created=plain_date(p.get("created_at")),
                consents=len(p.get("consents") or []),
                tries=len(p.get("attempts") or []),
                references=tuple(
                    str(a["publish_id"]) for a in p.get("attempts") or [] if a.get("publish_id")
                ),
            )
            for p in history
        )
        person_id = people[0].get("id")
        members = data.get("account_members", [])
        return cls(
            api_tokens=sum(1 for t in data.get("api_tokens", []) if not t.get("revoked_at")),
            prepares_for=sum(1 for m in members if m.get("person_id") == person_id),
            teammates=sum(1 for m in members if m.get("person_id") != person_id),
            prepared_posts=len(data.get("prepared_posts", [])),
            member_since=plain_date(people[0].get("created_at")),
            last_sign_in=plain_date(people[0].get("last_signed_in_at")),
            accounts=accounts,
            posts=posts,
            consents=sum(p.consents for p in posts),
            files=tuple(files),
            media_total=plain_size(total_bytes),
        )
