"""The rules an audit reports on: read from `docs/requirements.md` and `docs/compliance.md`.

The requirement catalogue is the one source of the rule ids and their guideline text; the
compliance page says, per rule, how the app meets it. A test proves a rule when its name cites
the id (`test_ux_2b_...`, `..._TECH_2`, `test_tech2_...`) or when it carries
`@pytest.mark.rules("DG-6", ...)`: `rules_cited_by_name` is that one reading of a name, shared
by the pytest plugin and the suite's own check that every rule has evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: A row of the catalogue's tables: `| UX-2b | the rule | browser, server |`.
_ROW = re.compile(r"^\|\s*([A-Z]+-[0-9]+[a-z]?)\s*\|(.*)\|([^|]*)\|\s*$")
_SECTION = re.compile(r"^##\s+(.+?)\s*$")
_RULE_ID = re.compile(r"^([A-Z]+)-([0-9]+[a-z]?)$")


class AuditInputError(ValueError):
    """A document the audit reads is missing or malformed; the message says which and how."""


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue, with how the app meets it (from docs/compliance.md)."""

    id: str
    section: str
    text: str
    verified_by: tuple[str, ...]
    compliance: str


def parse_requirements(text: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Every table row of the catalogue as (id, section, rule text, verified-by kinds)."""
    rows: list[tuple[str, str, str, tuple[str, ...]]] = []
    section = ""
    for line in text.splitlines():
        heading = _SECTION.match(line)
        if heading:
            section = heading.group(1)
            continue
        row = _ROW.match(line)
        if row:
            kinds = tuple(k.strip() for k in row.group(3).split(",") if k.strip())
            rows.append((row.group(1), section, row.group(2).strip(), kinds))
    return rows


def parse_compliance(text: str) -> dict[str, str]:
    """`## RULE-ID` sections of docs/compliance.md: id -> the paragraph(s) under it."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        heading = re.match(r"^##\s+([A-Z]+-[0-9]+[a-z]?)\s*$", line)
        if heading or line.startswith("# "):
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current = heading.group(1) if heading else None
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


def load_rules(root: Path) -> list[Rule]:
    """The catalogue's rules in its order, each with its compliance paragraph ("" if none)."""
    requirements = root / "docs" / "requirements.md"
    compliance = root / "docs" / "compliance.md"
    for path in (requirements, compliance):
        if not path.is_file():
            raise AuditInputError(
                f"{path} is missing: run the audit from a directpost checkout (the folder "
                "with pyproject.toml and docs/)."
            )
    rows = parse_requirements(requirements.read_text(encoding="utf-8"))
    if not rows:
        raise AuditInputError(f"{requirements} lists no rules (no `| ID | rule | kinds |` rows).")
    paragraphs = parse_compliance(compliance.read_text(encoding="utf-8"))
    return [
        Rule(
            id=rid,
            section=section,
            text=text,
            verified_by=kinds,
            compliance=paragraphs.get(rid, ""),
        )
        for rid, section, text, kinds in rows
    ]


def name_token(rule_id: str) -> re.Pattern[str]:
    """How a test's name cites `rule_id`: `ux_2b`, `UX_2b` or `ux2b`, between underscores."""
    match = _RULE_ID.match(rule_id)
    if match is None:
        raise AuditInputError(f"{rule_id!r} is not a rule id like UX-2b or TOS-1.")
    prefix, number = match.group(1).lower(), match.group(2).lower()
    return re.compile(rf"(?:^|_){prefix}_?{number}(?:_|$)")


def rules_cited_by_name(test_name: str, rule_ids: list[str]) -> set[str]:
    """The rule ids that a test function's name cites (parameters in brackets ignored)."""
    bare = test_name.split("[", 1)[0].lower()
    return {rid for rid in rule_ids if name_token(rid).search(bare)}


def parse_rule_selection(raw: str, rule_ids: list[str]) -> list[str]:
    """`--rules UX-2b,cap-1` as catalogue ids; unknown ids are a clear error, not a traceback."""
    by_lower = {rid.lower(): rid for rid in rule_ids}
    chosen: list[str] = []
    unknown: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() in by_lower:
            chosen.append(by_lower[name.lower()])
        else:
            unknown.append(name)
    if unknown:
        raise AuditInputError(
            f"Unknown rule id(s): {', '.join(unknown)}. Known ids: {', '.join(rule_ids)}."
        )
    if not chosen:
        raise AuditInputError("--rules names no rule; give ids like UX-2b,CAP-1.")
    return chosen
