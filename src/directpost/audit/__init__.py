"""The audit pack (TOS-4): proof of compliance, built on request into one folder viewable offline.

`build_pack(options)` writes into `options.out`:

- `report.html`, `report.json`: every rule of `docs/requirements.md`, its guideline text, how the
  app meets it (`docs/compliance.md`), the tests that prove it, run now, with outcome and
  duration (`tests_run`, `pytest_plugin`); the app's facts (`facts`);
- `screenshots/*.png`: every Post page state an auditor checks (`screens`), and
  `walkthrough.webm`, the whole flow recorded (`walkthrough`), both from real Chromium against
  the app and the local emulator started in this process (`stack`);
- `index.html` (opens the report) and `pytest.log` (the test run's own output).

`directpost audit` (cli.py) and `make audit` call it. Nothing of ours imports this package but
the command line.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from directpost.audit.rules import AuditInputError, load_rules, parse_rule_selection

#: A file in every pack, so a later build may replace the folder and no other folder.
MARKER = ".directpost-audit-pack"

__all__ = ["AuditInputError", "AuditOptions", "PackSummary", "build_pack", "find_root"]


@dataclass(frozen=True)
class AuditOptions:
    """What to build: where, which rules' tests to run, and which parts to leave out."""

    out: Path
    rules: str = ""  # "UX-2b,CAP-1": run only these rules' tests; "" runs every rule's
    run_tests: bool = True
    browser: bool = True
    root: Path | None = None
    command: str = "directpost audit"


@dataclass(frozen=True)
class PackSummary:
    """What the command prints at the end."""

    out: Path
    seconds: float
    bytes: int
    proven: int
    rules: int
    without_passing_test: list[str]


def find_root(start: Path | None = None) -> Path:
    """The checkout: the nearest folder upwards with pyproject.toml and docs/requirements.md."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (
            folder / "docs" / "requirements.md"
        ).is_file():
            return folder
    raise AuditInputError(
        f"No directpost checkout at or above {here}: the audit runs the project's tests, so run "
        "it from the repository (the folder with pyproject.toml, docs/ and tests/)."
    )


def _commit(root: Path) -> str:
    try:
        answer = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return answer.stdout.strip() if answer.returncode == 0 else ""


def _settings() -> Any:
    from pydantic import ValidationError

    from directpost.config import Settings, SettingsError

    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        raise AuditInputError(
            f"The app's settings are not valid, so its facts cannot be read: {exc}"
        ) from exc


def _browser_parts(out: Path, work: Path) -> tuple[list[Any], dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    from directpost.audit.screens import CHROMIUM, launch, take_screenshots
    from directpost.audit.stack import running_stack
    from directpost.audit.walkthrough import record_walkthrough

    if not CHROMIUM.exists():
        raise AuditInputError(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium); "
            "or build the pack without pictures: --no-browser."
        )
    with running_stack(work / "stack") as stack, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            shots = take_screenshots(browser, stack, out, work)
            video = record_walkthrough(browser, stack, out, work)
        finally:
            browser.close()
    return shots, video


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_pack(options: AuditOptions) -> PackSummary:
    """Build the whole pack into `options.out` (replacing the pack that was there)."""
    from directpost.audit.facts import app_facts
    from directpost.audit.report import build_report, write_report
    from directpost.audit.tests_run import run_tests

    started = time.monotonic()
    root = options.root or find_root()
    rules = load_rules(root)
    ids = [r.id for r in rules]
    chosen = parse_rule_selection(options.rules, ids) if options.rules else None
    facts = app_facts(_settings())
    out = options.out if options.out.is_absolute() else Path.cwd() / options.out
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise AuditInputError(
                f"{out} exists and is not an audit pack: choose another --out folder."
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("A directpost audit pack: `directpost audit` replaces it.\n")
    with tempfile.TemporaryDirectory(prefix="directpost-audit-") as tmp:
        work = Path(tmp)
        run = run_tests(
            root, work, rules=chosen, run=options.run_tests, log_file=out / "pytest.log"
        )
        shots: list[Any] = []
        video: dict[str, Any] | None = None
        if options.browser:
            shots, video = _browser_parts(out, work)
    meta = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(root),
        "command": options.command,
        "build_seconds": round(time.monotonic() - started, 1),
        "browser_note": "" if options.browser else "Built with --no-browser: no pictures.",
    }
    report = build_report(
        rules=rules, run=run, shots=shots, walkthrough=video, facts=facts, meta=meta
    )
    write_report(report, out)
    missing = [
        r["id"]
        for r in report["rules"]
        if r["status"] != "proven" and (chosen is None or r["id"] in chosen)
    ]
    return PackSummary(
        out=out,
        seconds=round(time.monotonic() - started, 1),
        bytes=_folder_bytes(out),
        proven=report["summary"]["proven"],
        rules=len(rules),
        without_passing_test=missing,
    )
