"""Issue 15, item 6: a database that does not answer fails clearly. `migrate` and `worker`
started against one say so in one line (where, what it said, what to check; never the
password) and exit 1 (a setting to fix), not a 520-line traceback; a running worker's dispatcher waits out an
outage with backoff and one line each time, not a traceback every 0.25 s; a page that needs the
database answers 503 in words, not a 500."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from directpost.media.urls import new_media_token
from directpost.publishing.worker import Worker, context_from_settings
from directpost.web.app import create_app
from tests.fixtures.live import make_app_settings
from tests.fixtures.processes import free_port


def _closed_database() -> str:
    return f"postgresql+psycopg://app:s3cretpw@127.0.0.1:{free_port()}/app"


@pytest.mark.parametrize("command", ["migrate", "worker"])
def test_a_command_started_against_an_unreachable_database_says_so_in_one_line_and_exits_1(
    command: str,
) -> None:
    port = free_port()  # nothing listens here
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
    env["DIRECTPOST_DATABASE_URL"] = f"postgresql+psycopg://app:s3cretpw@127.0.0.1:{port}/app"
    result = subprocess.run(
        [sys.executable, "-m", "directpost.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach the database" in lines[0], result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "DIRECTPOST_DATABASE_URL" in lines[0]
    assert "s3cretpw" not in result.stderr and "Traceback" not in result.stderr


def test_a_running_dispatcher_waits_out_an_outage_with_backoff_and_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_app_settings(
        tmp_path,
        emulator_url="http://127.0.0.1:9",
        public_base_url="http://127.0.0.1:1",
        database_url=_closed_database(),
    )
    worker = Worker(context_from_settings(settings, threads=1), threads=1)
    with caplog.at_level(logging.WARNING, logger="directpost.publishing.worker"):
        worker.start()
        time.sleep(3.0)
        worker.stop(timeout=5)
    records = [r for r in caplog.records if r.name == "directpost.publishing.worker"]
    # 0.25, 0.5, 1, 2 s: four tries in three seconds, where a try every 0.25 s made twelve.
    assert 1 <= len(records) <= 5, [r.getMessage() for r in records]
    assert all(r.exc_info is None for r in records), "one line each, no traceback"
    assert "the database does not answer" in records[0].getMessage()


@pytest.mark.anyio
async def test_a_page_that_needs_the_database_answers_503_in_words(tmp_path: Path) -> None:
    public = "http://127.0.0.1:8995"
    settings = make_app_settings(
        tmp_path,
        emulator_url="http://127.0.0.1:9",
        public_base_url=public,
        database_url=_closed_database(),
    )
    app = create_app(settings)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url=public
    ) as client:
        # TikTok pulling a post's media: the route must look the link up in the database.
        page = await client.get(f"/m/{new_media_token()}/0.mp4", headers={"accept": "text/html"})
    assert page.status_code == 503, page.text
    assert "cannot reach its database" in page.text and "Nothing was changed" in page.text
    assert page.headers["retry-after"] == "30"
    assert "s3cretpw" not in page.text
