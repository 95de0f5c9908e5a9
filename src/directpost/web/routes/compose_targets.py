"""What the Post page opens besides a new post: a post to edit (issue 17) or a prepared post to
review (issue 18). Each is read for whoever is signed in, in one worker-thread trip; the page
that says why it cannot be opened is chosen here.

The edit and review route modules build on the posts routes, which build on `compose`: they are
imported inside the functions.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from directpost.publishing.wiring import Services
from directpost.web.deps import SignInRequiredError, next_path
from directpost.web.i18n import _
from directpost.web.sessions import session_person
from directpost.web.templating import render


async def _signed_in_read(request: Request, services: Services, load: Any) -> Any:
    """`load(db, person_id)` for whoever is signed in, in a worker thread (sign in first)."""

    def read() -> Any:
        with services.factory() as db:
            person = session_person(db, request)
            if person is None:
                raise SignInRequiredError(next_path(request))
            return load(db, person.id)

    return await run_in_threadpool(read)


async def edit_target_page(request: Request, services: Services, post_id: int) -> Any:
    """The post to open for editing, or the page that says why it cannot be."""
    # Imported here: the edit routes build on the posts routes, which use this module.
    from directpost.web.routes.edit import edit_target

    found = await _signed_in_read(
        request,
        services,
        lambda db, person_id: edit_target(db, person_id=person_id, post_id=post_id),
    )
    if isinstance(found, str):
        return render(
            request,
            "error.html",
            {
                "heading": _("This post cannot be edited"),
                "message": found,
                "retry_url": f"/posts/{post_id}",
                "retry_label": _("Back to the post"),
            },
            status_code=409,
        )
    return found


async def review_target_page(request: Request, services: Services, prepared_id: int) -> Any:
    """The prepared post to open (the owner's only), or where to go instead (issue 18)."""
    from directpost.web.routes.review import review_target

    found = await _signed_in_read(
        request,
        services,
        lambda db, person_id: review_target(db, person_id=person_id, prepared_id=prepared_id),
    )
    if found is None:
        raise HTTPException(status_code=404)
    if isinstance(found, str):  # decided already: the list says how
        return RedirectResponse("/review", status_code=303)
    return found
