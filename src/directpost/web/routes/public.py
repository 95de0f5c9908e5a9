"""Public pages (DG-4): home, privacy policy, terms, contact; and a bare health endpoint."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from directpost.web.deps import OptionalPerson
from directpost.web.routes.auth import safe_next_path
from directpost.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
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


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request, person: OptionalPerson) -> HTMLResponse:
    return render(request, "public/privacy.html")


@router.get("/terms", response_class=HTMLResponse)
def terms(request: Request, person: OptionalPerson) -> HTMLResponse:
    return render(request, "public/terms.html")


@router.get("/contact", response_class=HTMLResponse)
def contact(request: Request, person: OptionalPerson) -> HTMLResponse:
    return render(request, "public/contact.html")


@router.get("/healthz")
def healthz() -> JSONResponse:
    """Liveness: answers without touching the database (also the bench's bare endpoint)."""
    return JSONResponse({"status": "ok"})
