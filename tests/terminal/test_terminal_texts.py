"""The terminal says the page's own words: the UX-5d notice is one sentence in `rules.texts`,
and the post page's template (which holds it for gettext) says exactly the same."""

from __future__ import annotations

from pathlib import Path

import directpost.web
from directpost.rules import texts


def test_the_processing_notice_is_the_pages_own_sentence_UX_5d() -> None:
    template = Path(directpost.web.__file__).parent / "templates" / "posts" / "detail.html"
    assert f'_("{texts.PROCESSING_NOTICE}")' in template.read_text(encoding="utf-8")
