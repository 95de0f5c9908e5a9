"""Bulk (issue 17): up to 30 prepared posts from a CSV and a folder of media.

Each CSV row names its media, a caption, a time and a privacy; each row that passes the checks
becomes a prepared post in "To review", prepared by the person themselves. Nothing here makes a
post: the creator still opens each one on the Post page and confirms it there (UX-5c); the
privacy of a row is a suggestion shown as text, never chosen (UX-2b).

This module is the part without I/O: read the CSV (`read_csv`), check every row by the rules the
prepared-posts API applies (`check_rows`: `prepared._words_problems` for the words,
`service.parse_schedule` for the time) and give each row its idempotency key (`row_key`). The
web route stores the media and checks it like the upload route does (TECH-3), then prepares.

Decisions, said once:
- a bad row never stops the batch: each row stands alone, the report says which were made;
- too many rows (over `MAX_ROWS`), an unreadable file or a wrong header refuse the whole batch
  with one sentence, and nothing is made;
- a file named by two rows is refused on the later rows (the first keeps it);
- the same row sent again (same CSV name, account, zone, words and media bytes) answers the
  prepared post made the first time instead of making a second one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from directpost.media import checks
from directpost.publishing import service
from directpost.publishing.prepared import Suggestion, _words_problems
from directpost.rules import limits
from directpost.rules.model import PRIVACY_LABELS, PRIVACY_LEVELS

#: The most rows (posts) one batch may hold.
MAX_ROWS: Final = 30
#: The largest CSV read (30 rows of the longest captions, descriptions and notes fit in it).
MAX_CSV_BYTES: Final = 2 * 1024 * 1024
REQUIRED_COLUMNS: Final = ("file", "caption", "time", "privacy")
OPTIONAL_COLUMNS: Final = ("description", "note")
#: Between the photos of one photo post in the `file` column: "a.jpg|b.jpg".
FILE_SEPARATOR: Final = "|"
VIDEO_EXTENSIONS: Final = frozenset(limits.VIDEO_MIME_TYPES)
PHOTO_EXTENSIONS: Final = frozenset({"jpg", "jpeg", "webp"})

Kind = Literal["video", "photos"]


class BatchRefused(Exception):
    """The whole batch is refused (nothing is made); `problems` say why, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row as written (cells stripped of surrounding spaces)."""

    #: 1 for the first row under the header.
    number: int
    file: str = ""
    caption: str = ""
    time: str = ""
    privacy: str = ""
    description: str = ""
    note: str = ""
    #: Found while reading (more cells than the header has).
    problems: tuple[str, ...] = ()

    def fingerprint(self) -> list[str]:
        """What the row says (not where it stands in the file)."""
        return [self.file, self.caption, self.time, self.privacy, self.description, self.note]


@dataclass(slots=True)
class CheckedRow:
    """A row after the checks: what it would become, or why it cannot."""

    row: CsvRow
    #: The media file names it names, as the media were sent (no folders).
    files: tuple[str, ...] = ()
    kind: Kind | None = None
    #: A TikTok privacy name ("SELF_ONLY") or "" for none suggested.
    privacy: str = ""
    scheduled_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading ---------------------------------------------------------------------------------


def _text_of(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise BatchRefused(
            [
                f"The CSV file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB: it cannot hold "
                f"only {MAX_ROWS} posts. Check that you chose the right file."
            ]
        )
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        raise BatchRefused(
            [
                "The CSV file is not UTF-8 text. Save it again as “CSV UTF-8” (spreadsheets "
                "offer it under Save as / Download), then choose it again."
            ]
        ) from None
    if "\x00" in text:
        raise BatchRefused(["The CSV file holds a NUL character: it is not a text file."])
    if not text.strip():
        raise BatchRefused(["The CSV file is empty."])
    return text


def _delimiter(header_line: str) -> str:
    """`;` or `,`: whichever separates the header's names (spreadsheets in many languages
    write `;` because `,` is their decimal mark)."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    unknown = [n for n in names if n and n not in known]
    problems: list[str] = []
    if unknown:
        problems.append(
            "Unknown column " + ", ".join(f"“{n}”" for n in unknown) + ". The first row names "
            "the columns: " + ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)) + "."
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        problems.append(
            "The first row must name the columns; missing: " + ", ".join(missing) + ". "
            "For example: file,caption,time,privacy"
        )
    twice = sorted(n for n, count in Counter(names).items() if n and count > 1)
    if twice:
        problems.append("These columns appear twice: " + ", ".join(twice) + ".")
    if problems:
        raise BatchRefused(problems)
    return names


def read_csv(data: bytes) -> list[CsvRow]:
    """The rows of a bulk CSV (header row required; UTF-8 with or without BOM; `;` or `,`).

    Raises `BatchRefused` for what makes the whole file unusable, including more than
    `MAX_ROWS` rows; problems of one row stay with that row.
    """
    text = _text_of(data)
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    rows: list[CsvRow] = []
    names: list[str] | None = None
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank lines between rows are harmless
            if names is None:
                names = _header(cells)
                continue
            values = {name: cell.strip() for name, cell in zip(names, cells, strict=False) if name}
            extra = cells[len(names) :]
            problems = (
                (
                    "This row has more cells than the first row names. A caption with a "
                    "comma or a semicolon must be in double quotes.",
                )
                if any(c.strip() for c in extra)
                else ()
            )
            rows.append(
                CsvRow(
                    number=len(rows) + 1,
                    file=values.get("file", ""),
                    caption=values.get("caption", ""),
                    time=values.get("time", ""),
                    privacy=values.get("privacy", ""),
                    description=values.get("description", ""),
                    note=values.get("note", ""),
                    problems=problems,
                )
            )
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise BatchRefused(
            [f"The CSV file cannot be read near line {reader.line_num}: {exc}."]
        ) from None
    if names is None:
        raise BatchRefused(["The CSV file is empty."])
    if not rows:
        raise BatchRefused(["The CSV file has its header row but no posts under it."])
    if len(rows) > MAX_ROWS:
        raise BatchRefused(
            [
                f"The CSV file has more than {MAX_ROWS} rows: at most {MAX_ROWS} posts can be "
                "prepared at once, and nothing was made. Split it into smaller files."
            ]
        )
    return rows


# --- checking --------------------------------------------------------------------------------


def media_name(filename: str) -> str:
    """A file's name without its folders (a folder picker sends "trip/clip.mp4")."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()


def privacy_level(value: str) -> str | None:
    """TikTok's privacy name for what a row says ("Only me", "self_only"), "" for none, None
    when it is neither a TikTok name nor a label the Post page shows."""
    wanted = " ".join(value.split()).casefold()
    if not wanted:
        return ""
    for level in PRIVACY_LEVELS:
        if wanted in (level.casefold(), PRIVACY_LABELS[level].casefold()):
            return level
    return None


def _kind_of(names: Sequence[str]) -> tuple[Kind | None, list[str]]:
    extensions = [n.rsplit(".", 1)[-1].lower() if "." in n else "" for n in names]
    strange = [n for n, ext in zip(names, extensions, strict=True) if not _known(ext)]
    if strange:
        return None, [
            ", ".join(f"“{n}”" for n in strange)
            + " is not a kind of file TikTok takes: videos in MP4, MOV or WebM, photos in "
            "JPEG or WebP."
        ]
    videos = sum(ext in VIDEO_EXTENSIONS for ext in extensions)
    if videos == 0:
        return "photos", [p.message for p in checks.check_photo_set(len(names))]
    if videos == 1 and len(names) == 1:
        return "video", []
    return None, [
        "A post is one video, or one to 35 photos: name one video, or photos separated by “|”."
    ]


def _known(extension: str) -> bool:
    return extension in VIDEO_EXTENSIONS or extension in PHOTO_EXTENSIONS


def _time_problems(value: str, zone: str, *, now: datetime) -> tuple[datetime | None, list[str]]:
    """The suggested time in UTC, by the schedule rules of the Post page (the 60-day window,
    no past time)."""
    if value:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return None, [
                f"The time “{value}” is not a date and time: write it like 2026-12-24 09:00 "
                "(in the time zone chosen on the form)."
            ]
    try:
        when, _zone = service.parse_schedule(value, zone, now=now)
    except service.PublishRefused as refused:
        return None, [f"{v.message} (the row says “{value}”)" for v in refused.violations]
    return when, []


def check_zone(zone: str) -> str:
    """The time zone of the form, or `BatchRefused` when it is unknown."""
    try:
        return service.parse_schedule("", zone)[1]
    except service.PublishRefused as refused:
        raise BatchRefused([v.message for v in refused.violations]) from None


def check_rows(
    rows: Sequence[CsvRow], *, media_names: Iterable[str], time_zone: str, now: datetime
) -> list[CheckedRow]:
    """Every row checked alone by the prepared-posts rules, against the media files sent."""
    zone = check_zone(time_zone)
    sent = Counter(media_name(n) for n in media_names)
    used_by: dict[str, int] = {}
    checked: list[CheckedRow] = []
    for row in rows:
        result = CheckedRow(row=row, problems=list(row.problems))
        names = tuple(media_name(n) for n in row.file.split(FILE_SEPARATOR) if media_name(n))
        result.files = names
        if not names:
            result.problems.append("No file named: write the media file's name in the file column.")
        else:
            result.kind, kind_problems = _kind_of(names)
            result.problems.extend(kind_problems)
        for name in names:
            if sent[name] == 0:
                result.problems.append(
                    f"“{name}” was not among the media files sent: choose the folder that holds "
                    "it, or check the spelling (capitals count)."
                )
            elif sent[name] > 1:
                result.problems.append(
                    f"Two files named “{name}” were sent (from different folders): keep one."
                )
            if name in used_by:
                result.problems.append(
                    f"“{name}” is used by row {used_by[name]} already: each file makes one post."
                )
            else:
                used_by[name] = row.number
        privacy = privacy_level(row.privacy)
        if privacy is None:
            result.problems.append(
                f"The privacy “{row.privacy}” is not one TikTok knows: write Everyone, Friends, "
                "Followers or Only me, or leave it empty (you choose on the Post page anyway)."
            )
        result.privacy = privacy or ""
        words = Suggestion(
            account_id=0,
            upload_id="",
            title=row.caption,
            description=row.description,
            privacy_suggestion=result.privacy,
            note=row.note,
        )
        words_kind = result.kind or ("photos" if row.description else "video")
        result.problems.extend(_words_problems(words_kind, words))
        result.scheduled_at, time_problems = _time_problems(row.time, zone, now=now)
        result.problems.extend(time_problems)
        checked.append(result)
    return checked


def unnamed_files(
    rows: Iterable[CheckedRow], media_names: Iterable[str], csv_name: str
) -> list[str]:
    """Media files sent that no row names (they are not kept); hidden files and the CSV itself
    (a folder picker sends them too) are left out."""
    named = {name for checked in rows for name in checked.files}
    skip = {media_name(csv_name)}
    return sorted(
        {
            name
            for name in (media_name(n) for n in media_names)
            if name and name not in named and name not in skip and not name.startswith(".")
        }
    )


def row_key(
    *, csv_name: str, row: CsvRow, account_id: int, time_zone: str, file_digests: Sequence[str]
) -> str:
    """The row's idempotency key: the same row sent again finds the prepared post it made."""
    raw = json.dumps(
        [media_name(csv_name), account_id, time_zone, row.fingerprint(), list(file_digests)]
    )
    return "bulk-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()
