"""The emulator fixtures never send test traffic to a port the tests did not open.

The stock demo app verifies ``http://127.0.0.1:8000/m/``, the address of a developer's running
app; the fixtures move it to ``closed_loopback_port`` (see tests/fixtures/emulator.py).
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette

from directpost.emulator import DEMO_CLIENT_KEY
from tests.emulator.helpers import error_code
from tests.fixtures.emulator import ClosedPort, EmulatorHandle


def demo_app(apps: list[dict[str, Any]]) -> dict[str, Any]:
    return next(a for a in apps if a["client_key"] == DEMO_CLIENT_KEY)


def ports(urls: list[str]) -> set[int | None]:
    return {urlsplit(url).port for url in urls}


def test_the_closed_loopback_port_refuses_connections(closed_loopback_port: ClosedPort) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_loopback_port.port), timeout=5).close()


def test_the_served_demo_app_verifies_only_the_closed_port_even_after_a_reset(
    emulator_server: EmulatorHandle, closed_loopback_port: ClosedPort
) -> None:
    h = emulator_server
    for _ in range(2):
        app = demo_app(h.state()["apps"])
        assert app["verified_url_prefixes"] == [f"{closed_loopback_port.base_url}m/"]
        assert h.verified_url("a.mp4").startswith(app["verified_url_prefixes"][0])
        assert ports(app["redirect_uris"][:1]) == {closed_loopback_port.port}
        h.reset()


def test_a_pull_of_a_verified_demo_url_is_refused_by_the_closed_port(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    body = {
        "post_info": {"privacy_level": "SELF_ONLY", "title": "nowhere"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": h.verified_url("a.mp4")},
    }
    init = h.api("/v2/post/publish/video/init/", h.token("demo-public"), body)
    assert error_code(init) == (200, "ok")
    publish = h.wait_for_status(init.json()["data"]["publish_id"])
    assert (publish["status"], publish["fail_reason"]) == ("FAILED", "video_pull_failed")


def test_the_in_process_demo_app_verifies_only_the_closed_port(
    emulator_app: Starlette, closed_loopback_port: ClosedPort
) -> None:
    app = emulator_app.state.runtime.backend.apps[DEMO_CLIENT_KEY]
    assert app.verified_url_prefixes == [f"{closed_loopback_port.base_url}m/"]
    assert ports(app.redirect_uris[:1]) == {closed_loopback_port.port}
