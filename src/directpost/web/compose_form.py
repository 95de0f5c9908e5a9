"""Turn the Post page's form and the server's own records into the inputs of `directpost.rules`.

Shared by the compose routes (re-rendering the page's controls) and the publish route: both read
the form the same way, take media facts only from what the server measured (never from the
browser), and take creator facts only from a creator_info fetched for this very request (UX-1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directpost import rules
from directpost.rules import Draft, MediaFacts
from directpost.store.uploads import Upload

#: Form values a checkbox sends when it is checked.
_TRUE = frozenset({"on", "true", "1", "yes"})

#: The form fields of the Post page, for anyone building or reading the form.
FORM_FIELDS = (
    "upload_id",
    "title",
    "description",
    "privacy_level",
    "allow_comment",
    "allow_duet",
    "allow_stitch",
    "disclose_commercial",
    "your_brand",
    "branded_content",
    "is_aigc",
    "mode",
    "cover_timestamp_ms",
    "photo_cover_index",
)


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _flag(form: Mapping[str, Any], name: str) -> bool:
    return _text(form, name).strip().lower() in _TRUE


def _int_or_none(form: Mapping[str, Any], name: str) -> int | None:
    raw = _text(form, name).strip()
    if not raw:
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


def parse_draft(form: Mapping[str, Any], *, media: MediaFacts = rules.NO_MEDIA) -> Draft:
    """The user's choices from the Post page's form, with the server-measured `media` facts.

    Absent fields are the page's defaults (nothing chosen, nothing checked), so a bypassing
    client cannot get a default it did not pick. Line endings are normalised as browsers send
    them (CRLF), and counted as TikTok will count them.
    """
    privacy = _text(form, "privacy_level").strip() or None
    mode: rules.PostMode = "inbox" if _text(form, "mode") == "inbox" else "direct"
    return Draft(
        media=media,
        title=_text(form, "title").replace("\r\n", "\n"),
        description=_text(form, "description").replace("\r\n", "\n"),
        privacy_level=privacy,
        allow_comment=_flag(form, "allow_comment"),
        allow_duet=_flag(form, "allow_duet"),
        allow_stitch=_flag(form, "allow_stitch"),
        disclose_commercial=_flag(form, "disclose_commercial"),
        your_brand=_flag(form, "your_brand"),
        branded_content=_flag(form, "branded_content"),
        is_aigc=_flag(form, "is_aigc"),
        mode=mode,
        cover_timestamp_ms=_int_or_none(form, "cover_timestamp_ms"),
        photo_cover_index=_int_or_none(form, "photo_cover_index") or 0,
    )


def media_facts(upload: Upload | None) -> MediaFacts:
    """What the server measured about an upload (or "nothing uploaded yet")."""
    if upload is None:
        return rules.NO_MEDIA
    kind: rules.MediaKind = "photos" if upload.kind == "photos" else "video"
    ready = upload.state == "ready"
    duration: float | None = None
    if kind == "video" and upload.files:
        raw = upload.files[0].facts.get("duration_s")
        duration = float(raw) if isinstance(raw, int | float) else None
    return MediaFacts(
        kind=kind,
        ready=ready,
        duration_sec=duration,
        photo_count=len(upload.files) if kind == "photos" else 0,
        problems=tuple(upload.problems) if upload.state == "rejected" else (),
    )
