"""A pytest plugin that maps tests to rules and records how each chosen one ran.

Loaded by the audit as `-p directpost.audit.pytest_plugin` in a child pytest process. It reads
every collected test's rules (the ids its name cites, plus `@pytest.mark.rules(...)`), keeps
only the tests of the chosen rules that are not `slow`, and writes one JSON file: every
collected test with its rules (so the report can list tests that were not run), then each run
test's outcome and duration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from directpost.audit.rules import parse_requirements, rules_cited_by_name

_RECORD = pytest.StashKey[dict[str, Any]]()
#: The session's config: report hooks get no config of their own.
_CONFIG: dict[str, pytest.Config] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("directpost audit")
    group.addoption("--audit-record", default="", help="write the audit's JSON record here")
    group.addoption(
        "--audit-rules",
        default="all",
        help="comma-separated rule ids whose tests run ('all' = every rule; 'none' = collect)",
    )
    group.addoption("--audit-include-slow", action="store_true", help="also run tests marked slow")


def _rule_ids(config: pytest.Config) -> list[str]:
    path = Path(str(config.rootpath)) / "docs" / "requirements.md"
    return [row[0] for row in parse_requirements(path.read_text(encoding="utf-8"))]


def item_rules(item: pytest.Item, rule_ids: list[str]) -> list[str]:
    """The rules `item` proves: cited in its name, or listed by `@pytest.mark.rules`."""
    found = rules_cited_by_name(getattr(item, "originalname", None) or item.name, rule_ids)
    for mark in item.iter_markers("rules"):
        found.update(str(arg) for arg in mark.args)
    return [rid for rid in rule_ids if rid in found] + sorted(found - set(rule_ids))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("audit_record"):
        return
    rule_ids = _rule_ids(config)
    chosen_raw = str(config.getoption("audit_rules"))
    chosen = (
        set(rule_ids)
        if chosen_raw == "all"
        else set()
        if chosen_raw == "none"
        else {r.strip() for r in chosen_raw.split(",")}
    )
    include_slow = bool(config.getoption("audit_include_slow"))
    collected: list[dict[str, Any]] = []
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        rules = item_rules(item, rule_ids)
        slow = item.get_closest_marker("slow") is not None
        selected = bool(chosen.intersection(rules)) and (include_slow or not slow)
        collected.append({"nodeid": item.nodeid, "rules": rules, "slow": slow, "run": selected})
        (keep if selected else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    config.stash[_RECORD] = {"collected": collected, "results": {}}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is None or _RECORD not in config.stash:
        return
    results: dict[str, dict[str, Any]] = config.stash[_RECORD]["results"]
    entry = results.setdefault(report.nodeid, {"outcome": "passed", "duration_s": 0.0})
    entry["duration_s"] = round(entry["duration_s"] + report.duration, 4)
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            entry["outcome"] = "xfailed" if report.skipped else "failed"
        else:
            entry["outcome"] = report.outcome
        if report.failed:
            entry["message"] = _short(report)
    elif report.failed:  # setup or teardown
        entry["outcome"] = "error"
        entry["message"] = _short(report)
    elif report.skipped and report.when == "setup":
        entry["outcome"] = "skipped"
        entry["message"] = _short(report)


def _short(report: pytest.TestReport) -> str:
    text = report.longreprtext or ""
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-6:])[:1500]


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    target = str(config.getoption("audit_record") or "")
    if not target or _RECORD not in config.stash:
        return
    stored: dict[str, Any] = config.stash[_RECORD]
    record = {**stored, "exitstatus": int(exitstatus)}
    Path(target).write_text(json.dumps(record, indent=1), encoding="utf-8")
