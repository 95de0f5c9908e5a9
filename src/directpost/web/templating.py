"""The one `Jinja2Templates` instance of the app, with i18n and the globals every page needs.

Every template gets: `_()` (and `{% trans %}`), `csrf_token()`, `current_person` (a
`PersonView` or None), `site` (operator name and contact text), and `lang`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from directpost.web import i18n
from directpost.web.security import csrf_token

TEMPLATES_DIR = Path(__file__).with_name("templates")

SESSION_PERSON_KEY = "person_id"
SESSION_ACCOUNT_KEY = "account_id"


@dataclass(frozen=True, slots=True)
class SiteView:
    """Operator-configurable text for the public pages (DG-4)."""

    operator_name: str
    operator_contact: str
    emulator: bool


def _page_context(request: Request) -> dict[str, Any]:
    settings = request.app.state.services.settings
    return {
        "csrf_token": lambda: csrf_token(request),
        "current_person": getattr(request.state, "person_view", None),
        "site": SiteView(
            operator_name=settings.operator_name,
            operator_contact=settings.operator_contact,
            emulator=settings.uses_emulator,
        ),
        "lang": i18n.current_language(),
    }


def _build_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "j2")),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext
    )
    return env


templates = Jinja2Templates(env=_build_environment(), context_processors=[_page_context])


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template as an HTML response (the usual way routes answer)."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
