"""docs/emulator.md promises its curl walk-through runs as written: run it, with bash and curl,
against a real emulator (the session's, on a free port: the script reads ``E``), and the
control-plane section documents every ``/_emulator`` route the emulator serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.routing import Route

from directpost.emulator import create_app
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.media_files import make_video

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "emulator.md"
WALKTHROUGH_INTRO = "A whole post with `curl` and `sed` only"


def walkthrough_script() -> str:
    """The first fenced ``sh`` block after the walk-through's introduction, as written."""
    text = DOC.read_text()
    after = text[text.index(WALKTHROUGH_INTRO) :]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed here")
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed here")
def test_the_curl_walkthrough_posts_a_video_as_written(
    emulator_server: EmulatorHandle, tmp_path: Path
) -> None:
    script = walkthrough_script()
    assert script.startswith("E=${E:-http://127.0.0.1:9100}")
    make_video(tmp_path / "clip.mp4", seconds=1)
    ran = subprocess.run(
        ["bash", "-c", "set -e\n" + script],
        cwd=tmp_path,
        env={"E": emulator_server.base_url, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    put = re.search(r"^PUT -> (\d{3})$", ran.stdout, re.M)
    assert put is not None and put.group(1) in ("200", "201"), ran.stdout
    status = json.loads(re.search(r"^\{.*\}$", ran.stdout, re.M).group(0))  # type: ignore[union-attr]
    assert status["error"]["code"] == "ok"
    assert status["data"]["status"] == "PUBLISH_COMPLETE", ran.stdout
    posts = emulator_server.state()["posts"]["demo-public"]
    assert [p["title"] for p in posts] == ["hello #cat"]


def _doc_form(path: str) -> str:
    """A router path as the doc writes it: ``{publish_id}`` → ``<publish_id>``."""
    return re.sub(r"\{(\w+)(:\w+)?\}", r"<\1>", path)


def control_plane_section() -> str:
    text = DOC.read_text()
    start = text.index("## Control plane (`/_emulator/`)")
    return text[start : text.index("\n## ", start + 1)]


def documented_calls() -> set[tuple[str, str]]:
    """Every ``METHOD /_emulator/...`` (or ``GET/POST /_emulator/...``) in backticks."""
    calls = set()
    for methods, path in re.findall(
        r"`([A-Z]+(?:/[A-Z]+)*) (/_emulator/[^`?\s]*)", control_plane_section()
    ):
        for method in methods.split("/"):
            calls.add((method, path))
    return calls


def test_every_control_plane_route_is_documented_with_its_answer() -> None:
    app = create_app()
    try:
        served = {
            (method, _doc_form(route.path))
            for route in app.routes
            if isinstance(route, Route) and route.path.startswith("/_emulator")
            for method in (route.methods or ()) - {"HEAD"}
        }
    finally:
        app.state.runtime.backend.close()
    assert served, "no /_emulator route found"
    missing = sorted(served - documented_calls())
    assert missing == [], "add these to docs/emulator.md, 'Control plane' (body and answer)"
    # Each call appears in the answers table, one row per call.
    answers = control_plane_section().split("### What each call answers", 1)[1]
    rows = {row.split("|")[1].strip() for row in answers.splitlines() if row.startswith("| `")}
    for method, path in sorted(served):
        assert any(f"{method}" in row and f"{path}`" in row for row in rows), (method, path)
