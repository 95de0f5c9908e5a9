"""Which rows of which table are about one person (DG-5: export and delete cover them all).

Most tables say it with a column: `person_id`, `account_id` (one of their TikTok accounts),
`upload_id` (one of their uploads) or `post_id` (one of their posts, exported with the post's
history and deleted with it). Two keep
a TikTok `open_id` instead of a row id: the webhook deliveries applied (`webhook_events`) and the
per-creator request budgets (`rate_budget_hits`, keyed `family:open_id`). The rest hold nothing
about any one person (`NOT_PERSONAL`). `classify` sorts every table of the schema into one of
these, and a test fails on a table nobody sorted, so a new table cannot slip past a deletion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import ColumnElement, Delete, Table, delete, false, or_

#: Tables with nothing about any one person: the operator's lockdown record, aggregate measures,
#: sign-in throttles by network address.
NOT_PERSONAL = frozenset({"lockdowns", "measures", "sign_in_throttle"})

#: Tables that name a creator by TikTok open_id (see the module's docstring).
OPEN_ID_TABLES = frozenset({"webhook_events", "rate_budget_hits"})

#: Columns an export leaves out besides the secret ones (`accounts._SECRET_COLUMN_MARKERS`): a
#: session's key is a hash of its cookie and its data holds the CSRF token; the export says
#: when each session began and was last used.
EXPORT_OMITS: dict[str, frozenset[str]] = {"web_sessions": frozenset({"id", "data"})}

Relation = Literal["person", "person_id", "account_id", "upload_id", "post_id", "open_id", "none"]


def classify(table: Table) -> Relation | None:
    """How the table's rows relate to a person; None: nobody has said (a test fails)."""
    names = set(table.c.keys())
    if table.name == "people":
        return "person"
    if table.name in OPEN_ID_TABLES:
        return "open_id"
    if table.name in NOT_PERSONAL:
        return "none"
    if "person_id" in names:
        return "person_id"
    if "account_id" in names:
        return "account_id"
    if "upload_id" in names:
        return "upload_id"
    if "post_id" in names:
        return "post_id"
    return None


def open_id_rows(table: Table, open_ids: Sequence[str]) -> ColumnElement[bool]:
    """The rows of an `OPEN_ID_TABLES` table about these open_ids."""
    if not open_ids:
        return false()
    if table.name == "rate_budget_hits":
        # Keyed "family:open_id": the suffix, with LIKE's wildcards in the id escaped.
        return or_(
            *(table.c.key.like("%:" + _escape_like(open_id), escape="\\") for open_id in open_ids)
        )
    return table.c.open_id.in_(list(open_ids))


def delete_open_id_rows(tables: Sequence[Table], open_ids: Sequence[str]) -> list[Delete]:
    """The DELETE statements that remove every open_id-keyed row about these creators."""
    return [
        delete(table).where(open_id_rows(table, open_ids))
        for table in tables
        if table.name in OPEN_ID_TABLES
    ]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
