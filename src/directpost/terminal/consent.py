"""The consent record kept locally (UX-5c), and the caps' counts read back from it (CAP-1/3/5).

Like the app's post row, a record says what was shown (creator_info as fetched, the nickname,
the declaration and label texts, notices), what was chosen, the files, and when; it is written
before the init, so nothing reaches TikTok without it. A second line notes each publish that
TikTok accepted; the rolling 24 hours of those lines are what `rules.app_policy` counts (posts
from this machine only: the app counts its own posts the same way).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directpost.rules import AppPolicy, ComposeState, CreatorFacts, Draft, app_policy

from .home import write_private

RECORDS = "consent.jsonl"
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Shown:
    """What the terminal printed before the user said yes."""

    nickname: str
    declaration: str
    label: str | None
    notices: tuple[str, ...]


def shown_of(state: ComposeState) -> Shown:
    return Shown(
        nickname=state.nickname,
        declaration=state.declaration.text,
        label=state.disclosure.label_prompt,
        notices=state.notices,
    )


class ConsentLog:
    """Append-only JSON lines in the config folder (mode 0600)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / RECORDS

    def _append(self, record: dict[str, Any]) -> None:
        if not self.path.exists():
            write_private(self.path, b"")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def record_consent(
        self,
        *,
        account: str,
        open_id: str,
        creator: CreatorFacts,
        draft: Draft,
        shown: Shown,
        files: list[dict[str, Any]],
        confirmed_by: str,
    ) -> str:
        """Write what was shown and chosen; returns the record's id."""
        consent_id = f"c{time.time_ns():x}"
        choices = dataclasses.asdict(draft)
        choices["media"]["problems"] = list(draft.media.problems)
        creator_json = dataclasses.asdict(creator)
        creator_json["privacy_level_options"] = list(creator.privacy_level_options)
        self._append(
            {
                "type": "consent",
                "id": consent_id,
                "at": time.time(),
                "account": account,
                "open_id": open_id,
                "creator_info": creator_json,
                "shown": dataclasses.asdict(shown),
                "choices": choices,
                "files": files,
                "confirmed_by": confirmed_by,
            }
        )
        return consent_id

    def record_started(self, *, consent_id: str, open_id: str, mode: str, publish_id: str) -> None:
        """TikTok accepted the init: this post now counts against the caps."""
        self._append(
            {
                "type": "started",
                "consent": consent_id,
                "at": time.time(),
                "open_id": open_id,
                "mode": mode,
                "publish_id": publish_id,
            }
        )

    def records(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash says nothing
        return out

    def policy(self, *, open_id: str, audited: bool, creator_cap: int) -> AppPolicy:
        """What this app may do for `open_id` now, from the last 24 hours' started posts."""
        since = time.time() - DAY_S
        started = [r for r in self.records() if r.get("type") == "started" and r["at"] >= since]
        creators = {r["open_id"] for r in started}
        mine = [r for r in started if r["open_id"] == open_id]
        return app_policy(
            audited=audited,
            configured_creator_cap=creator_cap,
            creators_posted=len(creators),
            creator_posted=open_id in creators,
            posts_started=sum(1 for r in mine if r["mode"] == "direct"),
            inbox_started=sum(1 for r in mine if r["mode"] == "inbox"),
        )
