"""The media pre-flight runs in a short child process (`terminal/preflight.py`): the posting
process never loads PyAV, so it stays within issue 16's 64 MB while it streams the upload; and a
child that cannot answer refuses the post, it never lets the files through unchecked (TECH-3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.terminal.conftest import Terminal

#: `directpost post` as the command line runs it, telling on stderr which media libraries it loaded.
POST_AND_TELL = """
import sys
from directpost.cli import app
try:
    app(["post", sys.argv[1], "--privacy", "Everyone", "--yes", "--json"])
finally:
    print("loaded:", sorted(m for m in ("av", "PIL") if m in sys.modules), file=sys.stderr)
"""


def test_the_posting_process_leaves_pyav_to_its_preflight_child(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.sign_in("demo-public")
    done = subprocess.run(
        [sys.executable, "-c", POST_AND_TELL, str(video_mp4)],
        env=terminal.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "published"
    assert done.stderr.strip().splitlines()[-1] == "loaded: []"


def test_a_media_check_that_cannot_answer_refuses_before_anything_is_sent_TECH_3(
    terminal: Terminal, video_mp4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal.sign_in("demo-public")
    # The child interpreter exits at once without a word, as a crashed probe would.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    result = terminal.run("post", str(video_mp4), "--privacy", "Everyone", "--yes", "--json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["outcome"] == "refused"
    assert "could not be checked" in body["message"]
    sent = terminal.requests()
    assert terminal.inits() == [], sent
    assert not any(p.startswith("/upload/") for p in sent), sent
