"""Public pages (DG-4): home, privacy policy, terms, contact (`/healthz` is in `routes.health`)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from directpost.web.api_contract import DATABASE, INVALID, answers
from directpost.web.deps import OptionalPerson, ServicesDep
from directpost.web.routes.auth import safe_next_path
from directpost.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse, responses=answers(DATABASE, INVALID))
def home(request: Request, person: OptionalPerson, next: str = "") -> HTMLResponse:
    """What the app does, that it is not TikTok, and "Continue with TikTok"."""
    target = safe_next_path(next)
    start_url = "/auth/tiktok/start"
    if target:
        start_url += "?" + urlencode({"next": target})
    return render(
        request,
        "public/home.html",
        {"start_url": start_url, "need_sign_in": bool(target) and person is None},
    )


@router.get("/privacy", response_class=HTMLResponse, responses=DATABASE)
def privacy(request: Request, person: OptionalPerson) -> HTMLResponse:
    return render(request, "public/privacy.html")


@router.get("/terms", response_class=HTMLResponse, responses=DATABASE)
def terms(request: Request, person: OptionalPerson) -> HTMLResponse:
    return render(request, "public/terms.html")


#: An e-mail address inside the operator's contact text (made a mailto: link on the page).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def contact_parts(text: str) -> list[tuple[str, bool]]:
    """The operator's contact text (settings.operator_contact) cut into plain text and e-mail
    addresses, so the page links each address without marking any of the text safe."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for found in _EMAIL.finditer(text):
        if found.start() > at:
            parts.append((text[at : found.start()], False))
        parts.append((found.group(0).rstrip("."), True))
        at = found.start() + len(found.group(0).rstrip("."))
    if at < len(text):
        parts.append((text[at:], False))
    return parts


@router.get("/contact", response_class=HTMLResponse, responses=DATABASE)
def contact(request: Request, person: OptionalPerson, services: ServicesDep) -> HTMLResponse:
    """Who runs the site and how to reach them (an auditor checks the address)."""
    parts = contact_parts(services.settings.operator_contact)
    return render(request, "public/contact.html", {"contact": parts})
