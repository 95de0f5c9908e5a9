"""A browser that leaves while sending a form update costs a quiet 400, not a server error.

The Post page sends a form update on every change; when the page is closed or navigates away
while one is on its way, the server sees the body end early (`ClientDisconnect`). That must be
answered calmly, without an exception escaping the app and a traceback in the log.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.fixtures.live import AppClient

pytestmark = pytest.mark.anyio


async def test_form_update_cut_off_by_the_browser_is_answered_quietly(
    app_client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/compose/state",
        "raw_path": b"/compose/state",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8999"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"1000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8999),
    }
    chunks = [
        {"type": "http.request", "body": b"title=half", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app_client.app(scope, receive, send)  # must not raise

    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
