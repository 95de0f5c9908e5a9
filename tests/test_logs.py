"""Log lines in both formats: the fields an operator searches by, and never a secret.

Each test writes through the handler `configure_logging` installs (`logs.build_handler`) into a
buffer, so what is checked is exactly what a process would write to stderr.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from directpost import logs
from directpost.config import Settings
from directpost.web.app import create_app
from directpost.web.request_id import RequestIdMiddleware
from tests.fixtures.live import make_app_settings

pytestmark = pytest.mark.anyio

SECRETS = {
    "upload URL token": "https://open-upload.tiktokapis.com/video/?upload_id=7&upload_token=UPL0AD-S3CRET",
    "media URL token": "GET /m/MED1A-S3CRET/0.mp4 200",
    "bearer token": "Authorization: Bearer act.BEAR3R-S3CRET",
    "access token pair": "refreshing with access_token=ACC3SS-S3CRET",
    "client secret pair": "client_secret: 'CL1ENT-S3CRET'",
    "OAuth code in a path": "/auth/tiktok/callback?code=C0DE-S3CRET&state=x",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Captured:
    """A logger whose lines are written, formatted, into a buffer."""

    def __init__(self, fmt: logs.LogFormat) -> None:
        self.fmt = fmt
        self.buffer = io.StringIO()
        self.handler = logs.build_handler(fmt, self.buffer)

    def lines(self) -> list[str]:
        return [line for line in self.buffer.getvalue().splitlines() if line]

    def records(self) -> list[dict[str, str]]:
        assert self.fmt == "json"
        return [json.loads(line) for line in self.lines()]


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    cap = Captured(request.param)
    root = logging.getLogger()
    root.addHandler(cap.handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        yield cap
    finally:
        root.removeHandler(cap.handler)
        root.setLevel(old_level)


@pytest.fixture
def json_lines() -> Iterator[Captured]:
    cap = Captured("json")
    root = logging.getLogger()
    root.addHandler(cap.handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        yield cap
    finally:
        root.removeHandler(cap.handler)
        root.setLevel(old_level)


def test_a_json_line_has_time_level_logger_message_and_the_known_context(
    json_lines: Captured,
) -> None:
    with logs.log_context(request_id="req-1", post_id=42, open_id="creator-open-id-7"):
        logging.getLogger("directpost.test").warning("publish %s started", "now")
    logging.getLogger("directpost.test").info("outside any context")
    first, second = json_lines.records()
    assert first["level"] == "WARNING"
    assert first["logger"] == "directpost.test"
    assert first["message"] == "publish now started"
    assert first["time"].endswith("+00:00")
    assert first["request_id"] == "req-1"
    assert first["post_id"] == "42"
    assert first["open_id_hash"] == logs.hash_open_id("creator-open-id-7")
    assert set(second) == {"time", "level", "logger", "message"}


def test_the_raw_open_id_is_never_written_only_its_hash(captured: Captured) -> None:
    open_id = "-000OPEN1D-of-a-creator"
    with logs.log_context(open_id=open_id):
        logging.getLogger("directpost.test").info("job step")
    logging.getLogger("directpost.test").info("a job ended", extra={"open_id": open_id})
    text = captured.buffer.getvalue()
    assert open_id not in text
    assert text.count(logs.hash_open_id(open_id)) == 2


def test_tiktok_log_id_given_with_a_line_is_a_field(json_lines: Captured) -> None:
    with logs.log_context(post_id=3):
        logging.getLogger("directpost.test").info("ended", extra={"log_id": "202612021125ABC"})
    (line,) = json_lines.records()
    assert (line["post_id"], line["log_id"]) == ("3", "202612021125ABC")


@pytest.mark.parametrize("what", sorted(SECRETS))
def test_no_secret_reaches_a_log_line_in_either_format(captured: Captured, what: str) -> None:
    text = SECRETS[what]
    logging.getLogger("directpost.test").info("seen: %s", text)
    try:
        raise RuntimeError(f"request failed: {text}")
    except RuntimeError:
        logging.getLogger("directpost.test").exception("with a traceback")
    written = captured.buffer.getvalue()
    assert "S3CRET" not in written, written
    assert "seen:" in written and "with a traceback" in written


def test_per_request_url_lines_and_the_access_log_stay_redacted(
    captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in `directpost serve` (uvicorn without its own log config): the lines reach the root
    # handler. (Another test's uvicorn.Config may have given the access logger its own.)
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "propagate", True)
        monkeypatch.setattr(logger, "disabled", False)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "level", logging.INFO)
    logs.configure_logging(fmt=captured.fmt)
    try:
        logging.getLogger("httpx2").info("HTTP Request: PUT %s", SECRETS["upload URL token"])
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/m/MED1A-S3CRET/0.mp4", "1.1", 200
        )
    finally:
        logs.configure_logging(fmt="text")
    written = captured.buffer.getvalue()
    assert "S3CRET" not in written
    assert "/m/…/0.mp4" in written  # the access line itself is kept, redacted


def test_the_json_format_is_chosen_by_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTPOST_LOG_FORMAT", "json")
    assert Settings(_env_file=None).log_format == "json"  # type: ignore[call-arg]
    monkeypatch.setenv("DIRECTPOST_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="log_format"):
        Settings(_env_file=None)


def _app() -> Starlette:
    async def hello(request: Request) -> PlainTextResponse:
        logging.getLogger("directpost.test").info("inside the route")
        return PlainTextResponse("hi", headers={"X-Request-ID": "set-by-the-route"})

    return Starlette(routes=[Route("/", hello)])


async def test_each_request_gets_an_id_in_its_lines_and_its_answer(json_lines: Captured) -> None:
    app = RequestIdMiddleware(_app())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        fresh = await c.get("/")
        kept = await c.get("/", headers={"X-Request-ID": "proxy-id.123:abc"})
        refused = await c.get("/", headers={"X-Request-ID": "evil\tid with spaces"})
    ids = [r.headers.get_list("x-request-id") for r in (fresh, kept, refused)]
    assert all(len(one) == 1 for one in ids), ids  # one header, never the route's as well
    assert ids[1] == ["proxy-id.123:abc"]
    assert ids[2][0] not in ("evil\tid with spaces", ids[0][0])
    assert [line["request_id"] for line in json_lines.records()] == [one[0] for one in ids]


async def test_the_app_answers_every_request_with_its_id(tmp_path: Path) -> None:
    settings = make_app_settings(
        tmp_path, emulator_url="http://127.0.0.1:9", public_base_url="http://127.0.0.1:8000"
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answer = await c.get("/healthz", headers={"X-Request-ID": "from-the-proxy"})
    assert answer.headers["x-request-id"] == "from-the-proxy"
