"""Translation of UI text: gettext catalogues under `web/locale/<lang>/LC_MESSAGES/directpost.mo`.

Templates use `{{ _("…") }}` / `{% trans %}` (jinja2.ext.i18n); Python code uses `_()` from here.
The language of each request is chosen from Accept-Language among the catalogues that exist
(English, the source language, needs none) and kept in a context variable for the request.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "directpost"
DEFAULT_LANGUAGE = "en"

_current_language: ContextVar[str] = ContextVar("directpost_language", default=DEFAULT_LANGUAGE)


@lru_cache(maxsize=1)
def available_languages() -> frozenset[str]:
    """Languages with a compiled catalogue, plus the source language."""
    found = {DEFAULT_LANGUAGE}
    if LOCALE_DIR.is_dir():
        for mo in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"):
            found.add(mo.parent.parent.name)
    return frozenset(found)


@lru_cache(maxsize=32)
def translations(language: str) -> _gettext.NullTranslations:
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def negotiate_language(accept_language: str | None) -> str:
    """The best available language for an Accept-Language header (quality values honoured)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    choices: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        choices.append((quality, tag.strip().lower()))
    available = available_languages()
    for _quality, tag in sorted(choices, key=lambda c: -c[0]):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in available:
                return candidate
    return DEFAULT_LANGUAGE


def set_language(language: str) -> None:
    _current_language.set(language)


def current_language() -> str:
    return _current_language.get()


def gettext(message: str) -> str:
    """Translate `message` into the current request's language."""
    return translations(_current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current_language.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_current_language.get()).npgettext(context, singular, plural, n)


_ = gettext
