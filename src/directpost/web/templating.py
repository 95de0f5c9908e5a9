"""The one Jinja environment of the app, with i18n and the globals every page needs.

Every template gets: `_()` (and `{% trans %}`), `csrf_token()`, `current_person` (a
`PersonView` or None), `site` (operator name and contact text), and `lang`.

Templates are compiled once per process: the environment is built once (`environment()`),
and outside development it never looks at the files again (`auto_reload` off: no `stat` per
template per render). A bytecode cache would only shorten the first render after a start, so
there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from directpost.web import i18n
from directpost.web.security import csrf_token

if TYPE_CHECKING:
    from directpost.config import Settings

TEMPLATES_DIR = Path(__file__).with_name("templates")

SESSION_PERSON_KEY = "person_id"
SESSION_ACCOUNT_KEY = "account_id"


@dataclass(frozen=True, slots=True)
class SiteView:
    """Operator-configurable text for the public pages (DG-4)."""

    operator_name: str
    operator_contact: str
    emulator: bool

    @classmethod
    def of(cls, settings: Settings) -> SiteView:
        return cls(
            operator_name=settings.operator_name,
            operator_contact=settings.operator_contact,
            emulator=settings.uses_emulator,
        )


def configure(settings: Settings) -> None:
    """Settings-dependent template behaviour, set by `create_app`: templates are re-read when
    their file changes only in development (elsewhere they are compiled once)."""
    environment().auto_reload = settings.environment == "development"


def _site(request: Request) -> SiteView:
    """The app's `SiteView`, built once per app (kept on `app.state`)."""
    state = request.app.state
    site: SiteView | None = getattr(state, "site_view", None)
    if site is None:
        site = state.site_view = SiteView.of(state.services.settings)
    return site


def _page_context(request: Request) -> dict[str, Any]:
    return {
        "csrf_token": lambda: csrf_token(request),
        "current_person": getattr(request.state, "person_view", None),
        "site": _site(request),
        "lang": i18n.current_language(),
    }


@lru_cache(maxsize=4096)
def _translated(language: str, message: str) -> Markup:
    # The same value Jinja's new-style gettext gives (`Markup(text) % {}`), kept per language:
    # most of a page's text is fixed, and each `_()` through the i18n extension costs several
    # Python calls per render.
    return Markup(i18n.translations(language).gettext(message)) % {}  # noqa: S704 - our catalogue


def _template_gettext(message: str, /, **variables: Any) -> Markup:
    """`_()` in templates: like jinja2.ext.i18n's new-style `_` (translated, marked safe, then
    `%`-formatted with escaped variables), with fixed texts served from a cache."""
    if variables:
        return Markup(i18n.gettext(message)) % variables  # noqa: S704 - as jinja2.ext.i18n
    return _translated(i18n.current_language(), message)


@cache
def environment() -> jinja2.Environment:
    """The app's Jinja environment, built once per process (compiled templates are kept)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "j2")),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # `configure` turns it on in development
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext
    )
    # Every template is autoescaped (.html), so `_()` may always answer Markup, as the i18n
    # extension's own `_` does there; `{% trans %}` keeps the extension's callables.
    env.globals["_"] = _template_gettext
    return env


templates = Jinja2Templates(env=environment(), context_processors=[_page_context])


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template as an HTML response (the usual way routes answer)."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
