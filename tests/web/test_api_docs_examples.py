"""Issue 18: the examples of docs/api.md run as written, against the app served on a free port
beside the emulator, with a PyAV-made video:

- docs/examples/prepare_post.py, with Python's standard library only (`python -I -S`: no site
  packages), stopped after two chunks and run again (it resumes the same upload), then the
  prepared post is read back through the API;
- the curl session (the fenced `sh` block that sends the Idempotency-Key), run by bash; skipped
  with the reason when curl or jq is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.fixtures.live import LiveEmulator
from tests.fixtures.media_files import make_video
from tests.web.api_helpers import API, bearer, make_token, served_app, sign_in_served

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
SCRIPT = ROOT / "docs" / "examples" / "prepare_post.py"
#: Small chunks, so the example sends several and can be stopped in the middle.
CHUNK = 16 * 1024


@dataclass
class Served:
    base_url: str
    token: str
    video: Path

    def env(self, **more: str) -> dict[str, str]:
        """A clean environment: no proxy settings, nothing of the test process's Python."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DIRECTPOST_URL": self.base_url,
            "DIRECTPOST_TOKEN": self.token,
            **more,
        }

    def prepared(self, prepared_id: int) -> dict[str, Any]:
        answer = httpx2.get(
            f"{self.base_url}{API}/prepared-posts/{prepared_id}",
            headers=bearer(self.token),
            trust_env=False,
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture(scope="module")
def served(
    live_emulator: LiveEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    with served_app(live_emulator, tmp_path_factory.mktemp("api-docs-app")) as app:
        sign_in_served(app.base_url, open_id="demo-private")
        token = make_token(app.app, open_id="demo-private", name="docs example")
        video = make_video(tmp_path_factory.mktemp("api-docs-media") / "harbour.mp4", seconds=1.0)
        yield Served(base_url=app.base_url, token=token, video=video)


def _review_id(output: str, base_url: str) -> int:
    found = re.search(re.escape(base_url) + r"/review/(\d+)", output)
    assert found is not None, output
    return int(found.group(1))


def test_the_python_example_uploads_in_chunks_resumes_and_prepares_a_post(
    served: Served, tmp_path: Path
) -> None:
    video = Path(shutil.copy(served.video, tmp_path / "harbour.mp4"))
    place = tmp_path / "harbour.mp4.directpost.json"
    command = [
        sys.executable,
        "-I",  # isolated, and
        "-S",  # without site packages: the script must need nothing but the standard library
        str(SCRIPT),
        str(video),
        "--caption",
        "Harbour at dawn #sea",
        "--privacy-suggestion",
        "PUBLIC_TO_EVERYONE",
        "--note",
        "Cut 3, with the licensed track.",
        "--chunk-size",
        str(CHUNK),
    ]
    run = [*command, "--stop-after-chunks", "2"]
    stopped = subprocess.run(run, env=served.env(), capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "run the same command again" in stopped.stdout
    assert place.exists(), "the script keeps its place to resume"

    done = subprocess.run(command, env=served.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Resuming upload" in done.stdout
    assert f"{2 * CHUNK:,} of" not in done.stdout, "the resumed run did not send bytes again"
    assert not place.exists()
    prepared = served.prepared(_review_id(done.stdout, served.base_url))
    assert prepared["state"] == "to_review"
    assert prepared["title"] == "Harbour at dawn #sea"
    assert prepared["privacy_suggestion"] == "PUBLIC_TO_EVERYONE"
    assert prepared["prepared_by"] == "docs example"


def _curl_block() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
    [block] = [b for b in blocks if "Idempotency-Key" in b and "curl" in b]
    return block


def test_the_curl_example_prepares_a_post(served: Served) -> None:
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: the curl example of docs/api.md needs it")
    done = subprocess.run(
        ["bash", "-c", _curl_block()],
        env=served.env(VIDEO=str(served.video)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    prepared = served.prepared(_review_id(done.stdout, served.base_url))
    assert prepared["state"] == "to_review"
    assert prepared["note"] == "Made with curl."
    assert prepared["privacy_suggestion"] == "SELF_ONLY"
