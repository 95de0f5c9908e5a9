"""Issue 15, item 6: `directpost migrate` against a database that does not answer says so in one
line (where, what it said, what to check) and exits 1 — not a 520-line traceback — and never
prints the URL's password."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.fixtures.processes import free_port


def test_migrate_against_an_unreachable_database_says_so_in_one_line() -> None:
    port = free_port()  # nothing listens here
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
    env["DIRECTPOST_DATABASE_URL"] = f"postgresql+psycopg://app:s3cretpw@127.0.0.1:{port}/app"
    result = subprocess.run(
        [sys.executable, "-m", "directpost.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "DIRECTPOST_DATABASE_URL" in lines[0]
    assert "s3cretpw" not in result.stderr and "Traceback" not in result.stderr
