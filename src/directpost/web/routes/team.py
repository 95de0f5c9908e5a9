"""Teammates (issue 18): an account's owner invites others, by a link with an expiry, to prepare
posts for it; members see only the accounts granted to them and only what they prepared; only
the owner confirms (the Post page). Removing a member revokes every token of theirs.

Owner's side: `/accounts/{id}/team` (members, open invitations, a new link shown once).
Invitee's side: `/invites/{secret}` (whose account, what joining means, "Join") and, once
joined, `/accounts/{id}/how-to-prepare`. A member leaves from the Accounts page, where
`accounts_section` lists what they own and what they prepare for (`team/_accounts_section.html`).

Every owner route answers 404 for an account that is not the signed-in person's, exactly like
an id that does not exist (USE-2). An invitation link is looked up by its hash only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from directpost.store import accounts as account_store
from directpost.store import team
from directpost.store.accounts import TikTokAccount
from directpost.store.base import utcnow
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    NOT_FOUND,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    TOKEN_FORM,
    Responses,
    answers,
    html_route,
    page,
    redirect,
)
from directpost.web.deps import CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.templating import render
from directpost.web.views import PersonView

router = APIRouter()

#: How an invitation's lifetime is said on the page (kept in step with `team.INVITE_LIFETIME`).
INVITE_DAYS = team.INVITE_LIFETIME.days


# --- view models ----------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _name(display_name: str) -> str:
    return display_name or _("a TikTok account")


@dataclass(frozen=True, slots=True)
class TeamAccount:
    """The account a team page or an invitation is about."""

    id: int
    name: str
    avatar_url: str
    connected: bool

    @classmethod
    def of(cls, account: TikTokAccount) -> TeamAccount:
        return cls(
            id=account.id,
            name=_name(account.display_name),
            avatar_url=account.avatar_url,
            connected=account.is_connected,
        )


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    name: str
    joined: str


@dataclass(frozen=True, slots=True)
class OpenInviteView:
    id: int
    made: str
    expires: str


@dataclass(frozen=True, slots=True)
class OwnedTeam:
    """One of the person's accounts on the Accounts page: how many teammates it has."""

    account: TeamAccount
    members: int
    open_invites: int


@dataclass(frozen=True, slots=True)
class GrantedAccount:
    """An account someone else owns that the person prepares for."""

    account: TeamAccount
    since: str


@dataclass(frozen=True, slots=True)
class TeamSection:
    """The Accounts page's "Teammates" part."""

    owned: tuple[OwnedTeam, ...]
    granted: tuple[GrantedAccount, ...]


def accounts_section(db: Session, *, person_id: int) -> TeamSection:
    """What the Accounts page shows about teams: the person's accounts with their teammates,
    and the accounts granted to them."""
    now = utcnow()
    members: dict[int, int] = {}
    for _member, account in team.members_of(db, owner_id=person_id):
        members[account.id] = members.get(account.id, 0) + 1
    invites: dict[int, int] = {}
    for invite in team.open_invites(db, owner_id=person_id, now=now):
        invites[invite.account_id] = invites.get(invite.account_id, 0) + 1
    owned = tuple(
        OwnedTeam(TeamAccount.of(a), members.get(a.id, 0), invites.get(a.id, 0))
        for a in account_store.list_accounts(db, person_id=person_id)
    )
    granted = tuple(
        GrantedAccount(TeamAccount.of(account), _when(member.created_at))
        for member, account in team.memberships(db, person_id=person_id)
    )
    return TeamSection(owned=owned, granted=granted)


def section_for(request: Request) -> TeamSection | None:
    """`accounts_section` for the Accounts page's renders (in a short session of its own, so the
    page's callers need not pass theirs); None for a visitor."""
    view: PersonView | None = getattr(request.state, "person_view", None)
    if view is None:
        return None
    with request.app.state.services.factory() as db:
        return accounts_section(db, person_id=view.id)


# --- the owner's team page -----------------------------------------------------------------


def _owned(db: Session, person_id: int, account_id: int) -> TikTokAccount:
    account = account_store.get_account(db, person_id=person_id, account_id=account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=_("There is no such account."))
    return account


def _team_page(
    request: Request,
    db: Session,
    account: TikTokAccount,
    *,
    link: str = "",
    message: str = "",
) -> HTMLResponse:
    rows = [m for m, a in team.members_of(db, owner_id=account.person_id) if a.id == account.id]
    names = team.nicknames(db, [m.person_id for m in rows])
    members = [
        MemberView(m.id, _name(names.get(m.person_id, "")), _when(m.created_at)) for m in rows
    ]
    invites = [
        OpenInviteView(i.id, _when(i.created_at), _when(i.expires_at))
        for i in team.open_invites(db, owner_id=account.person_id, now=utcnow())
        if i.account_id == account.id
    ]
    context = {
        "account": TeamAccount.of(account),
        "members": members,
        "invites": invites,
        "link": link,
        "message": message,
        "invite_days": INVITE_DAYS,
    }
    return render(request, "team/page.html", context)


_DONE = {
    "removed": "Removed. Their API tokens were revoked, so their scripts stop at once.",
    "withdrawn": "The invitation was withdrawn: its link no longer works.",
}


@router.get(
    "/accounts/{account_id}/team",
    response_class=HTMLResponse,
    responses=html_route(SIGNED_IN, NOT_FOUND, DATABASE, INVALID),
)
def team_page(
    request: Request,
    account_id: int,
    person: CurrentPerson,
    db: DbSession,
    done: str = "",
) -> HTMLResponse:
    """The account's teammates and open invitations (its owner only)."""
    account = _owned(db, person.id, account_id)
    message = _(_DONE[done]) if done in _DONE else ""
    return _team_page(request, db, account, message=message)


_OWNER_CHANGE = answers(NOT_FOUND, SIGNED_IN_CHANGE, CHANGE, DATABASE, INVALID)


@router.post(
    "/accounts/{account_id}/team/invites",
    response_class=HTMLResponse,
    responses=answers(
        {200: page("The team page with the new link, shown this once.")}, _OWNER_CHANGE
    ),
    openapi_extra=TOKEN_FORM,
)
def make_invite(
    request: Request,
    account_id: int,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
) -> HTMLResponse:
    """A new invitation link for the account: shown on the answer only (its secret is not kept)."""
    account = _owned(db, person.id, account_id)
    made = team.create_invite(db, owner_id=person.id, account_id=account.id, now=utcnow())
    if made is None:  # pragma: no cover - `_owned` found it in this transaction
        raise HTTPException(status_code=404, detail=_("There is no such account."))
    base_url = services.settings.public_base_url.rstrip("/")
    link = f"{base_url}/invites/{made[1]}"
    return _team_page(request, db, account, link=link)


@router.post(
    "/accounts/{account_id}/team/invites/{invite_id}/withdraw",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers({303: redirect("Withdrawn: back to the team page.")}, _OWNER_CHANGE),
    openapi_extra=TOKEN_FORM,
)
def withdraw_invite(
    account_id: int, invite_id: int, person: CurrentPerson, db: DbSession
) -> Response:
    """Withdraw an invitation nobody has used yet: its link stops working."""
    account = _owned(db, person.id, account_id)
    invite = db.get(team.Invite, invite_id)
    if (
        invite is None
        or invite.account_id != account.id
        or not team.revoke_invite(db, owner_id=person.id, invite_id=invite.id, now=utcnow())
    ):
        raise HTTPException(status_code=404, detail=_("There is no such open invitation."))
    return RedirectResponse(f"/accounts/{account.id}/team?done=withdrawn", status_code=303)


@router.post(
    "/accounts/{account_id}/team/{member_id}/remove",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers({303: redirect("Removed: back to the team page.")}, _OWNER_CHANGE),
    openapi_extra=TOKEN_FORM,
)
def remove_member(
    account_id: int, member_id: int, person: CurrentPerson, db: DbSession
) -> Response:
    """Remove a teammate from the account; every API token of theirs is revoked."""
    account = _owned(db, person.id, account_id)
    ids = {m.id for m, a in team.members_of(db, owner_id=person.id) if a.id == account.id}
    if member_id not in ids or not team.remove_member(
        db, owner_id=person.id, member_id=member_id, now=utcnow()
    ):
        raise HTTPException(status_code=404, detail=_("There is no such teammate."))
    return RedirectResponse(f"/accounts/{account.id}/team?done=removed", status_code=303)


# --- the invitee's side ----------------------------------------------------------------------


def _invite_refused(
    request: Request, view: team.InviteView, reason: str, now: datetime
) -> HTMLResponse:
    """The clear page of a link that cannot be used: 410 when it is gone for good (withdrawn,
    used, expired), 409 when it is the person's own account."""
    invite = view.invite
    gone = (
        invite.revoked_at is not None or invite.accepted_at is not None or invite.expires_at <= now
    )
    return render(
        request,
        "team/invite_unusable.html",
        {"reason": _(reason), "account": TeamAccount.of(view.account)},
        status_code=410 if gone else 409,
    )


def _is_member(db: Session, person_id: int, account_id: int) -> bool:
    return any(a.id == account_id for _m, a in team.memberships(db, person_id=person_id))


def _unknown_invite(request: Request) -> HTMLResponse:
    return render(
        request, "team/invite_unusable.html", {"reason": "", "account": None}, status_code=404
    )


_INVITE_ANSWERS: Responses = {
    404: page("No invitation has this link."),
    409: page("The invitation is for the person's own account."),
    410: page("The invitation was withdrawn, used or has expired."),
}


@router.get(
    "/invites/{secret}",
    response_class=HTMLResponse,
    responses=html_route(
        {303: redirect("Already a member through this link: how to prepare.")},
        _INVITE_ANSWERS,
        SIGNED_IN,
        DATABASE,
        INVALID,
    ),
)
def invite_page(request: Request, secret: str, person: CurrentPerson, db: DbSession) -> Response:
    """Whose account the invitation is for, what joining means, and "Join"."""
    view = team.find_invite(db, secret)
    if view is None:
        return _unknown_invite(request)
    if view.invite.accepted_by == person.id and _is_member(db, person.id, view.account.id):
        # They opened the link they used again: on to what they can do (removed since: "used").
        return RedirectResponse(f"/accounts/{view.account.id}/how-to-prepare", status_code=303)
    now = utcnow()
    reason = team.why_invite_unusable(view, person_id=person.id, now=now)
    if reason is not None:
        return _invite_refused(request, view, reason, now)
    return render(
        request,
        "team/invite.html",
        {
            "account": TeamAccount.of(view.account),
            "secret": secret,
            "expires": _when(view.invite.expires_at),
        },
    )


@router.post(
    "/invites/{secret}/accept",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {303: redirect("Joined: how to prepare posts for the account.")},
        _INVITE_ANSWERS,
        SIGNED_IN_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
    ),
    openapi_extra=TOKEN_FORM,
)
def accept_invite(request: Request, secret: str, person: CurrentPerson, db: DbSession) -> Response:
    """Join: the person becomes a member of the invitation's account (the link is then used)."""
    view = team.find_invite(db, secret)
    if view is None:
        return _unknown_invite(request)
    now = utcnow()
    reason = team.why_invite_unusable(view, person_id=person.id, now=now)
    if reason is None and not team.accept_invite(db, view, person_id=person.id, now=now):
        db.rollback()  # someone else used it a moment ago: say so as for any used link
        view = team.find_invite(db, secret) or view
        reason = team.why_invite_unusable(view, person_id=person.id, now=now) or (
            "This invitation has been used already. Ask the account's owner for a new one."
        )
    if reason is not None:
        return _invite_refused(request, view, reason, now)
    return RedirectResponse(f"/accounts/{view.account.id}/how-to-prepare", status_code=303)


@router.get(
    "/accounts/{account_id}/how-to-prepare",
    response_class=HTMLResponse,
    responses=html_route(SIGNED_IN, NOT_FOUND, DATABASE, INVALID),
)
def how_to_prepare(
    request: Request, account_id: int, person: CurrentPerson, db: DbSession
) -> HTMLResponse:
    """For a member: what they can do for the account now, and how (an API token)."""
    granted = [a for _m, a in team.memberships(db, person_id=person.id) if a.id == account_id]
    if not granted:
        raise HTTPException(status_code=404, detail=_("There is no such account."))
    return render(request, "team/joined.html", {"account": TeamAccount.of(granted[0])})


@router.post(
    "/accounts/{account_id}/leave",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers({303: redirect("Left: back to the Accounts page.")}, _OWNER_CHANGE),
    openapi_extra=TOKEN_FORM,
)
def leave(account_id: int, person: CurrentPerson, db: DbSession) -> Response:
    """A member stops preparing for an account someone else owns (their tokens stay theirs)."""
    if not team.leave_account(db, person_id=person.id, account_id=account_id):
        raise HTTPException(status_code=404, detail=_("There is no such account."))
    return RedirectResponse("/accounts", status_code=303)
