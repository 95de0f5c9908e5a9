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

#: Rows about a person through a column besides the one `classify` picks (issue 18), exported
#: with the rest: what they prepared for someone else's account (`prepared_by`), the
#: invitations they accepted (`accepted_by`), and who is a teammate on their accounts
#: (`account_members.account_id`). "person" columns hold a person's id, "account" ones an
#: account's.
ALSO_ABOUT: dict[str, tuple[tuple[str, Literal["person", "account"]], ...]] = {
    "prepared_posts": (("prepared_by", "person"),),
    "invites": (("accepted_by", "person"),),
    "account_members": (("account_id", "account"),),
}

#: Rows deleted with the person although their foreign key would only forget who they were
#: (SET NULL): the posts a person prepared for someone else's account hold their words and
#: their name. An accepted invitation keeps no more than when it was used, so it stays with its
#: owner (its `accepted_by` is emptied).
DELETED_WITH_PERSON: dict[str, str] = {"prepared_posts": "prepared_by"}


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


def also_about(
    table: Table, *, person_id: int, account_ids: Sequence[int]
) -> list[ColumnElement[bool]]:
    """The `ALSO_ABOUT` conditions of the table for this person and their accounts."""
    found: list[ColumnElement[bool]] = []
    for column, holds in ALSO_ABOUT.get(table.name, ()):
        if holds == "person":
            found.append(table.c[column] == person_id)
        elif account_ids:
            found.append(table.c[column].in_(list(account_ids)))
    return found


def delete_prepared_by(tables: Sequence[Table], person_id: int) -> list[Delete]:
    """The DELETE statements for the `DELETED_WITH_PERSON` rows of this person."""
    return [
        delete(table).where(table.c[DELETED_WITH_PERSON[table.name]] == person_id)
        for table in tables
        if table.name in DELETED_WITH_PERSON
    ]
