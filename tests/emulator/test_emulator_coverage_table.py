"""The coverage table in docs/emulator.md is generated from code and names tests that exist."""

from __future__ import annotations

import ast
from pathlib import Path

from directpost.emulator.coverage import COVERAGE, render

ROOT = Path(__file__).resolve().parents[2]


def emulator_test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests" / "emulator").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


def test_every_coverage_row_names_an_existing_test() -> None:
    missing = sorted({t for _, _, t in COVERAGE} - emulator_test_names())
    assert missing == []


def test_docs_embed_the_generated_coverage_table() -> None:
    doc = (ROOT / "docs" / "emulator.md").read_text()
    start = doc.index("<!-- coverage:start -->\n") + len("<!-- coverage:start -->\n")
    end = doc.index("<!-- coverage:end -->")
    assert doc[start:end] == render(), "regenerate: python -m directpost.emulator.coverage"
