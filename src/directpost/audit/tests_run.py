"""Run the tests that prove the chosen rules, now, and read back what each one did.

The tests run in a child pytest process (the project's own suite, its own fixtures and
settings) with `directpost.audit.pytest_plugin`, which maps every collected test to its rules
and records outcome and duration. Tests marked `slow` (the crash and fault suite) are left out
so the pack builds in minutes; the report says so and lists them as not run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directpost.audit.rules import AuditInputError


@dataclass(frozen=True)
class TestResult:
    """One collected test: the rules it proves and, if it ran, how."""

    nodeid: str
    rules: tuple[str, ...]
    slow: bool
    outcome: str  # passed, failed, error, skipped, xfailed, or "not run"
    duration_s: float | None = None
    message: str = ""


@dataclass
class TestRun:
    """The whole child run: every test of the suite that proves a rule, and how it ended."""

    tests: list[TestResult] = field(default_factory=list)
    ran: bool = False
    exit_status: int | None = None
    wall_time_s: float = 0.0
    command: list[str] = field(default_factory=list)
    chosen_rules: list[str] | None = None  # None: every rule
    log_file: str = ""

    def for_rule(self, rule_id: str) -> list[TestResult]:
        return [t for t in self.tests if rule_id in t.rules]


def pytest_command(record: Path, *, rules: list[str] | None, run: bool) -> list[str]:
    """The child's command line: the project's pytest with the audit plugin."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "directpost.audit.pytest_plugin",
        f"--audit-record={record}",
        "--audit-rules=" + (",".join(rules) if rules else "all"),
        "-q",
        "--no-header",
        "-rfE",
    ]
    if not run:
        command.append("--collect-only")
    return command


def run_tests(
    root: Path, work_dir: Path, *, rules: list[str] | None, run: bool, log_file: Path
) -> TestRun:
    """Collect the suite (always) and run the chosen rules' tests (when `run`)."""
    record = work_dir / "pytest-record.json"
    record.unlink(missing_ok=True)
    command = pytest_command(record, rules=rules, run=run)
    started = time.monotonic()
    with log_file.open("w", encoding="utf-8") as log:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            command, cwd=root, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    wall = time.monotonic() - started
    if not record.is_file():
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise AuditInputError(
            f"pytest did not get as far as collecting the tests (exit {completed.returncode}); "
            "its last lines:\n" + "\n".join(tail)
        )
    data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    record.unlink()
    results: dict[str, dict[str, Any]] = data.get("results", {})
    tests: list[TestResult] = []
    for entry in data["collected"]:
        if not entry["rules"]:
            continue
        done = results.get(entry["nodeid"]) if run else None
        tests.append(
            TestResult(
                nodeid=entry["nodeid"],
                rules=tuple(entry["rules"]),
                slow=bool(entry["slow"]),
                outcome=str(done["outcome"]) if done else "not run",
                duration_s=float(done["duration_s"]) if done else None,
                message=str(done.get("message", "")) if done else "",
            )
        )
    return TestRun(
        tests=tests,
        ran=run,
        exit_status=completed.returncode,
        wall_time_s=round(wall, 1),
        command=["pytest", *command[3:]],
        chosen_rules=rules,
        log_file=log_file.name,
    )
