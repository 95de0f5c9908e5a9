"""The pack's report: one data structure, written as `report.json` and rendered as `report.html`.

Both carry the same facts: every rule of the catalogue (also those whose tests were not run this
time, marked so), its guideline text, how the app meets it, its tests with outcome and duration;
the screenshots, the walk-through and the app's facts. The HTML is self-contained (inline CSS,
relative links, no script, no CDN) so the folder can be zipped and opened anywhere offline.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from directpost.audit.rules import Rule
from directpost.audit.screens import Shot
from directpost.audit.tests_run import TestRun

PASSING = {"passed", "xfailed"}
FAILING = {"failed", "error"}


def rule_status(tests: list[dict[str, Any]], chosen: bool) -> str:
    """`proven`, `failing`, `not run` or `no test`, from the outcomes of a rule's tests."""
    if not tests:
        return "no test"
    outcomes = {t["outcome"] for t in tests}
    if outcomes & FAILING:
        return "failing"
    if chosen and outcomes & PASSING:
        return "proven"
    return "not run"


def build_report(
    *,
    rules: list[Rule],
    run: TestRun,
    shots: list[Shot],
    walkthrough: dict[str, Any] | None,
    facts: dict[str, Any],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """The report as plain data (what report.json holds and report.html shows)."""
    chosen = set(run.chosen_rules) if run.chosen_rules else {r.id for r in rules}
    rows: list[dict[str, Any]] = []
    for rule in rules:
        tests = [
            {
                "nodeid": t.nodeid,
                "outcome": t.outcome,
                "duration_s": t.duration_s,
                "slow": t.slow,
                "message": t.message,
            }
            for t in run.for_rule(rule.id)
        ]
        ran = run.ran and rule.id in chosen
        rows.append(
            {
                "id": rule.id,
                "section": rule.section,
                "text": rule.text,
                "verified_by": list(rule.verified_by),
                "compliance": rule.compliance,
                "status": rule_status(tests, ran),
                "tests": tests,
                "screenshots": [s.file for s in shots if rule.id in s.rules],
            }
        )
    executed = [t for t in run.tests if t.outcome != "not run"]
    slow_left_out = sorted({t.nodeid for t in run.tests if t.slow and t.outcome == "not run"})
    return {
        **meta,
        "summary": {
            "rules": len(rows),
            "proven": sum(r["status"] == "proven" for r in rows),
            "failing": [r["id"] for r in rows if r["status"] == "failing"],
            "not_run": [r["id"] for r in rows if r["status"] == "not run"],
            "without_test": [r["id"] for r in rows if r["status"] == "no test"],
            "tests_run": len(executed),
            "tests_passed": sum(t.outcome in PASSING for t in executed),
            "tests_failed": sum(t.outcome in FAILING for t in executed),
            "tests_skipped": sum(t.outcome == "skipped" for t in executed),
        },
        "test_run": {
            "ran": run.ran,
            "command": " ".join(run.command),
            "exit_status": run.exit_status,
            "wall_time_s": run.wall_time_s,
            "chosen_rules": run.chosen_rules or "all",
            "log_file": run.log_file,
            "slow_tests_left_out": slow_left_out,
        },
        "rules": rows,
        "screenshots": [asdict(s) for s in shots],
        "walkthrough": walkthrough,
        "facts": facts,
    }


def inline_code(text: str) -> Markup:
    """Escape `text`, then show its `backticked` names (module paths, ids) as code."""
    parts = text.split("`")
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
        for i, part in enumerate(parts)
    )


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("directpost.audit", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["inline_code"] = inline_code
    env.filters["seconds"] = lambda v: "" if v is None else f"{v:.2f} s"
    return env


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write report.json, report.html and index.html (which opens the report)."""
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    html_path = out_dir / "report.html"
    html_path.write_text(
        _environment().get_template("report.html").render(report=report), encoding="utf-8"
    )
    index = out_dir / "index.html"
    index.write_text(
        '<!doctype html><meta charset="utf-8"><title>directpost audit pack</title>'
        '<meta http-equiv="refresh" content="0; url=report.html">'
        '<p><a href="report.html">Open the audit report</a> · '
        '<a href="report.json">report.json</a></p>\n',
        encoding="utf-8",
    )
    return [json_path, html_path, index]
