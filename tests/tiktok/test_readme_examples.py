"""The README's client-library examples run, as printed, against the emulator as a real server.

The README points them at `http://127.0.0.1:9100`; the test swaps in the session emulator's
address and plays the user in the consent step, nothing else.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from tests.fixtures.emulator import EmulatorHandle

README = Path(__file__).resolve().parents[2] / "README.md"
README_EMULATOR = "http://127.0.0.1:9100"
CALLBACK_MARKER = "# ... the browser comes back"


def _library_examples() -> list[str]:
    """The python blocks of the README's client-library section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## The client library", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def _consent(base_url: str, authorize_url: str) -> dict[str, str]:
    """Play the user on the emulator's consent page: allow every scope as demo-public."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    form = {**query, "decision": "allow", "open_id": "demo-public"}
    form.update({f"scope:{s}": "on" for s in query["scope"].split(",")})
    with httpx2.Client(base_url=base_url, trust_env=False) as browser:
        resp = browser.post("/v2/auth/authorize/", data=form)
    assert resp.status_code in (302, 303), resp.text
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}


def test_readme_has_the_two_library_examples_pointed_at_the_emulator() -> None:
    sign_in, post = _library_examples()
    assert CALLBACK_MARKER in sign_in
    assert README_EMULATOR in sign_in and README_EMULATOR in post


def test_readme_sign_in_example_runs_against_the_emulator(
    emulator_server: EmulatorHandle,
) -> None:
    base = emulator_server.base_url.rstrip("/")
    sign_in = _library_examples()[0].replace(README_EMULATOR, base)
    before, marker_line = sign_in.split(CALLBACK_MARKER, 1)
    after = marker_line.split("\n", 1)[1]  # the code after the comment line
    scope: dict[str, Any] = {"one_time_state": "readme-state-1"}
    exec(compile(before, "README.md (sign in)", "exec"), scope)
    callback = _consent(base, scope["url"])
    assert callback["state"] == "readme-state-1"
    scope["code"] = callback["code"]
    try:
        exec(compile(after, "README.md (sign in)", "exec"), scope)
    finally:
        scope["tk"].close()
    assert scope["token"].open_id == "demo-public"
    assert scope["token"].refresh_token


def test_readme_post_example_publishes_a_real_video_through_the_emulator(
    emulator_server: EmulatorHandle,
    video_mp4: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = emulator_server.base_url.rstrip("/")
    post = _library_examples()[1].replace(README_EMULATOR, base)
    workdir = video_mp4.parent / "readme"
    workdir.mkdir()
    shutil.copy(video_mp4, workdir / "clip.mp4")
    monkeypatch.chdir(workdir)
    scope: dict[str, Any] = {"access_token": emulator_server.token("demo-public")}
    exec(compile(post, "README.md (post)", "exec"), scope)
    size = (workdir / "clip.mp4").stat().st_size
    assert scope["status"].status == "PUBLISH_COMPLETE"
    assert f"{size}/{size} bytes" in capsys.readouterr().out
    received = emulator_server.state()
    assert scope["init"].publish_id in str(received)
