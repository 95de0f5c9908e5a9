"""Helpers shared by the app's server tests: a ready upload, and a TikTok client whose
transport notes how many database connections a request holds while TikTok answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx2

from directpost.publishing.wiring import Services, tiktok_client_factory
from tests.fixtures.live import AppClient


async def upload_ready_video(
    client: httpx2.AsyncClient, csrf: str, path: Path, *, name: str = "clip.mp4"
) -> str:
    """Announce, send whole and finish one video upload; the upload's id once it is ready."""
    data = await asyncio.to_thread(path.read_bytes)
    created = await client.post(
        "/uploads",
        json={"kind": "video", "files": [{"name": name, "size": len(data), "type": "video/mp4"}]},
        headers={"x-csrf-token": csrf},
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    put = await client.put(
        f"/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0",
        content=data,
        headers={"x-csrf-token": csrf, "content-type": "application/octet-stream"},
    )
    assert put.status_code == 200, put.text
    done = await client.post(f"/uploads/{upload['id']}/finish", headers={"x-csrf-token": csrf})
    assert done.json()["state"] == "ready", done.text
    return str(upload["id"])


class PoolWatchingTransport(httpx2.AsyncHTTPTransport):
    """The real HTTP transport, noting the app's checked-out connections at each TikTok call."""

    def __init__(self, app_client: AppClient) -> None:
        super().__init__()
        self.app = app_client.app
        self.seen: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((request.url.path, self.app.state.services.engine.pool.checkedout()))
        return await super().handle_async_request(request)

    def creator_info_holds(self) -> list[int]:
        return [held for path, held in self.seen if "creator_info" in path]


@asynccontextmanager
async def watching_tiktok_calls(app_client: AppClient) -> AsyncIterator[PoolWatchingTransport]:
    """The app's TikTok client, rebuilt on a transport that watches the connection pool."""
    transport = PoolWatchingTransport(app_client)
    client = tiktok_client_factory(app_client.settings, transport=transport)()
    original: Services = app_client.app.state.services
    app_client.app.state.services = replace(original, tiktok_client=client)
    try:
        yield transport
    finally:
        app_client.app.state.services = original
        await client.aclose()
