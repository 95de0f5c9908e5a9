"""The Post page's form as the routes that consent read it (issue 17: `POST /posts`, the edit
and review routes share it): the upload, the draft, creator_info asked now (UX-1), the time; or
the page that says plainly why nothing was published.

`POST /posts` is the consent step (UX-5c): the server re-reads the form with the Post page's own
parser, measures nothing from the browser, asks TikTok for creator_info now and validates with
`rules.validate` (in `service`) before anything is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.publishing import service
from directpost.publishing.wiring import Services
from directpost.rules.model import CreatorFacts, Draft, MediaFacts, Violation
from directpost.store import uploads as upload_store
from directpost.store.accounts import TikTokAccount
from directpost.web import compose_form
from directpost.web.deps import release_connection
from directpost.web.i18n import _
from directpost.web.routes.compose import CreatorInfoUnavailableError, fetch_creator_info
from directpost.web.templating import render


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def refusal_page(
    request: Request, violations: list[Violation], *, status: int = 422, back: str = "/compose"
) -> Response:
    """Say plainly why nothing was published; the upload and the page's choices are kept."""
    messages = [_(v.message) for v in violations]
    if wants_json(request):
        return JSONResponse(
            {
                "detail": messages,
                "violations": [
                    {"rule": v.rule, "field": v.field, "message": _(v.message)} for v in violations
                ],
            },
            status_code=status,
        )
    return render(
        request, "posts/refused.html", {"messages": messages, "back": back}, status_code=status
    )


async def creator_facts_now(
    services: Services, account: TikTokAccount, db: Session
) -> CreatorFacts | Violation:
    """creator_info now (never cached), through compose's budgeted helper (CAP-4, UX-1).

    The request's connection is given back first (in a worker thread): nothing here holds a
    pooled connection while TikTok answers.
    """
    await run_in_threadpool(release_connection, db)
    try:
        return await fetch_creator_info(services, account, db)
    except CreatorInfoUnavailableError as exc:
        ref = f" (TikTok reference {exc.log_id})" if exc.log_id else ""
        return Violation("UX-1", f"{exc}{ref}")


def load_publish_upload(
    db: Session, *, person_id: int, upload_id: str
) -> tuple[upload_store.Upload, MediaFacts, list[dict[str, Any]]] | None:
    """The upload, its media facts and manifest, read in a worker thread; then the
    connection goes back to the pool before anything waits on TikTok."""
    try:
        upload = upload_store.get_upload(db, person_id=person_id, upload_id=upload_id)
    except upload_store.UploadNotFoundError:
        release_connection(db)
        return None
    media = compose_form.media_facts(upload)
    manifest = upload_store.media_manifest(upload)
    release_connection(db)
    return upload, media, manifest


class PostForm(NamedTuple):
    """What the Post page's form says, read and checked as the publish and edit routes need it:
    the chosen upload (its manifest), the draft, creator_info asked now (UX-1), the time."""

    upload: upload_store.Upload
    draft: Draft
    manifest: list[dict[str, Any]]
    creator: CreatorFacts
    scheduled_at: datetime | None
    time_zone: str

    def submission(self, person_id: int, account: TikTokAccount) -> service.Submission:
        """The post to store, as the creator chose it on the Post page (UX-5c)."""
        return service.Submission(
            person_id=person_id,
            account_id=account.id,
            open_id=account.open_id,
            creator=self.creator,
            draft=self.draft,
            media=self.manifest,
            upload_id=self.upload.id,
            scheduled_at=self.scheduled_at,
            time_zone=self.time_zone,
        )

    def __iter__(self) -> Any:
        return iter(
            (
                self.upload,
                self.draft,
                self.manifest,
                self.creator,
                self.scheduled_at,
                self.time_zone,
            )
        )


async def read_post_form(
    request: Request,
    db: Session,
    services: Services,
    person_id: int,
    account: TikTokAccount,
    *,
    back: str,
) -> PostForm | Response:
    """The form of the Post page, or the page that says plainly why it cannot be used (no
    upload, TikTok did not answer creator_info, a time that cannot be read); nothing stored."""
    form = await request.form()
    upload_id = str(form.get("upload_id") or "")
    loaded = (
        await run_in_threadpool(
            lambda: load_publish_upload(db, person_id=person_id, upload_id=upload_id)
        )
        if upload_id
        else None
    )
    if loaded is None:
        message = _("Upload the media to post first.")
        return refusal_page(request, [Violation("TECH-3", message, "media")], back=back)
    upload, media, manifest = loaded
    draft = compose_form.parse_draft(form, media=media)
    facts = await creator_facts_now(services, account, db)
    if isinstance(facts, Violation):
        return refusal_page(request, [facts], status=503, back=back)
    try:
        when, zone = service.parse_schedule(
            str(form.get("scheduled_at") or ""), str(form.get("time_zone") or "UTC")
        )
    except service.PublishRefused as refused:
        return refusal_page(request, refused.violations, back=back)
    return PostForm(upload, draft, manifest, facts, when, zone)
