"""Editing a post that has not started (issue 17): `GET /posts/{id}/edit` opens the Post page
for it, and `POST /posts/{id}/edit` saves what the creator chose there.

The Post page in edit mode is the same page with every rule (UX-1 … UX-5): creator_info is asked
of TikTok for that render, the creator's own caption is filled in and editable (UX-5b), but
nothing the rules say the creator must choose is chosen for them — privacy has no default
(UX-2b), the interaction toggles and the disclosure start off (UX-2c, UX-3a); the earlier
choices are shown beside them as text. Saving validates against creator_info fetched again,
records a new consent (the earlier ones are kept) and queues the post anew.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.publishing import lifecycle, service, states
from directpost.publishing.drafts import draft_from_choices
from directpost.rules.model import PRIVACY_LABELS, Violation
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.web.api_contract import (
    ACCOUNT_CHANGE,
    CHANGE,
    DATABASE,
    INVALID,
    NOT_FOUND,
    POST_FORM,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    TIKTOK,
    PostStatus,
    Refusal,
    answers,
    either,
    json_only,
    redirect,
)
from directpost.web.deps import CurrentAccount, CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.post_views import post_view
from directpost.web.routes.post_form import read_post_form, refusal_page
from directpost.web.routes.posts import own_post, save_confirmation
from directpost.web.security import require_csrf
from directpost.web.templating import SESSION_ACCOUNT_KEY

router = APIRouter(tags=["posts"], dependencies=[Depends(require_csrf)])


def may_edit(post: store.Post) -> str | None:
    """Why the post cannot be edited on the Post page, or None when it can: it has not started
    (or waits for the creator), or it failed where TikTok provably did not publish it."""
    if post.state == states.FAILED:
        return lifecycle.retry_refusal(post, now=utcnow())
    if not lifecycle.can_edit(post.state):
        return "This post has already gone to TikTok; it can no longer be changed."
    if post.state == states.HELD and any(a.state == states.CONFIRMED for a in post.attempts):
        return "TikTok already has this post, so it can only be confirmed as it was, not changed."
    return None


@dataclass(frozen=True, slots=True)
class EditTarget:
    """What the Post page needs to open a post for editing."""

    id: int
    account_id: int
    upload_id: str
    title: str
    description: str
    scheduled_local: str
    time_zone: str
    #: The earlier choices in words, shown beside the controls the creator must set again.
    before: str


def edit_target(db: Session, *, person_id: int, post_id: int) -> EditTarget | str:
    """The post to edit (scoped to the person), or why it cannot be edited."""
    post = own_post(db, person_id, post_id)
    problem = may_edit(post)
    if problem is not None:
        return _(problem)
    draft = draft_from_choices(post.choices)
    before: list[str] = []
    if post.mode == "inbox":
        before.append(_("sent to your TikTok inbox"))
    elif draft.privacy_level:
        privacy = PRIVACY_LABELS.get(draft.privacy_level, draft.privacy_level)
        before.append(_("who can see it: %(who)s") % {"who": _(privacy)})
    allowed = [
        _(name)
        for name, on in (
            ("comments", draft.allow_comment),
            ("Duet", draft.allow_duet),
            ("Stitch", draft.allow_stitch),
        )
        if on
    ]
    before.append(
        _("allowed: %(what)s") % {"what": ", ".join(allowed)} if allowed else _("no interactions")
    )
    if draft.disclose_commercial:
        before.append(_("disclosed as commercial content"))
    view = post_view(post)
    return EditTarget(
        id=post.id,
        account_id=post.account_id,
        upload_id=post.upload_id or "",
        title=draft.title,
        description=draft.description,
        scheduled_local=view.scheduled_local.replace(" ", "T") if post.scheduled_at else "",
        time_zone=post.time_zone,
        before="; ".join(before),
    )


@router.get(
    "/posts/{post_id}/edit",
    status_code=303,
    response_class=RedirectResponse,
    responses=answers(
        {303: redirect("To the Post page for this post, or back to the post's page.")},
        NOT_FOUND,
        SIGNED_IN,
        DATABASE,
        INVALID,
    ),
)
def open_edit(request: Request, post_id: int, person: CurrentPerson, db: DbSession) -> Response:
    """Open the Post page for this post, posting with the post's own account."""
    post = own_post(db, person.id, post_id)
    if may_edit(post) is not None:
        return RedirectResponse(f"/posts/{post_id}", status_code=303)
    request.session[SESSION_ACCOUNT_KEY] = post.account_id
    return RedirectResponse(f"/compose?post={post_id}", status_code=303)


@router.post(
    "/posts/{post_id}/edit",
    response_model=PostStatus,
    responses=answers(
        {
            200: json_only("The post after the change.", PostStatus),
            303: redirect("Saved: to the post's page."),
            409: either("The post cannot be changed any more.", Refusal),
            422: either("Refused: the rules it breaks; nothing was changed.", Refusal),
            503: either("TikTok did not answer creator_info: nothing was changed.", Refusal),
        },
        NOT_FOUND,
        SIGNED_IN_CHANGE,
        ACCOUNT_CHANGE,
        CHANGE,
        DATABASE,
        INVALID,
        TIKTOK,
    ),
    openapi_extra=POST_FORM,
)
async def save_edit(
    request: Request,
    post_id: int,
    person: CurrentPerson,
    account: CurrentAccount,
    db: DbSession,
    services: ServicesDep,
) -> Response:
    """Save the Post page's choices for this post: fresh creator_info, every rule, a new consent
    (UX-5c), the media and time as chosen there; then queued anew."""
    back = f"/posts/{post_id}/edit"
    owner = await run_in_threadpool(lambda: own_post(db, person.id, post_id).account_id)
    if owner != account.id:
        message = _("Switch to the account this post belongs to, then save.")
        return refusal_page(request, [Violation("edit", message)], status=409, back=back)
    chosen = await read_post_form(request, db, services, person.id, account, back=back)
    if isinstance(chosen, Response):
        return chosen
    upload, draft, manifest, facts, when, zone = chosen
    edit = service.Edit(media=manifest, upload_id=upload.id, scheduled_at=when, time_zone=zone)

    return await save_confirmation(
        request,
        db,
        services,
        person_id=person.id,
        post_id=post_id,
        creator=facts,
        draft=draft,
        back=back,
        edit=edit,
    )
