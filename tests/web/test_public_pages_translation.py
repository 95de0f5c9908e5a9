"""DG-2: UI text goes through gettext, so a catalogue translates the pages."""

from __future__ import annotations

import struct
from pathlib import Path

import httpx2
import pytest

from directpost.web import i18n
from tests.fixtures.live import AppClient

pytestmark = pytest.mark.anyio

FOOTER = (
    "directpost is independent software. It is not affiliated with, endorsed by or sponsored "
    "by TikTok or ByteDance."
)
FOOTER_DE = "directpost ist unabhängige Software und gehört nicht zu TikTok oder ByteDance."


def _write_mo(path: Path, messages: dict[str, str]) -> None:
    """A minimal GNU .mo catalogue (what msgfmt writes), sorted by original string."""
    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **messages}.items())
    ids = [k.encode() for k, _ in entries]
    strs = [v.encode() for _, v in entries]
    header_size = 7 * 4
    table_size = len(entries) * 8
    ids_offset = header_size + 2 * table_size
    ids_blob = b"".join(i + b"\0" for i in ids)
    strs_offset = ids_offset + len(ids_blob)
    out = struct.pack(
        "<7I", 0x950412DE, 0, len(entries), header_size, header_size + table_size, 0, 0
    )
    offset = ids_offset
    for i in ids:
        out += struct.pack("<2I", len(i), offset)
        offset += len(i) + 1
    offset = strs_offset
    for s in strs:
        out += struct.pack("<2I", len(s), offset)
        offset += len(s) + 1
    out += ids_blob + b"".join(s + b"\0" for s in strs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)


async def test_a_catalogue_translates_the_page_for_a_browser_asking_for_it_DG_2(
    app_client: AppClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locale = tmp_path / "locale"
    _write_mo(locale / "de" / "LC_MESSAGES" / "directpost.mo", {FOOTER: FOOTER_DE})
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)  # the one seam: where catalogues live
    i18n.available_languages.cache_clear()
    i18n.translations.cache_clear()
    try:
        client: httpx2.AsyncClient = app_client.client
        german = await client.get("/", headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
        english = await client.get("/", headers={"accept-language": "en-GB"})
    finally:
        i18n.available_languages.cache_clear()
        i18n.translations.cache_clear()
    assert FOOTER_DE in german.text and 'lang="de"' in german.text
    assert FOOTER in english.text and FOOTER_DE not in english.text
