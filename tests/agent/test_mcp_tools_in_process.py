"""The MCP server's tools against the app in-process (the SDK's in-memory client, the app
through httpx2's ASGI transport): refusals in the API's own words, local files refused
clearly, an upload that survives a lost answer and a misplaced chunk, and a withdrawal.

The stdio and HTTP transports, with the app as a real server, are in test_mcp_server.py; these
are the many small cases that do not need a process each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from directpost.agent.app_api import AppApi
from directpost.agent.media_upload import upload_file
from directpost.agent.settings import AgentSettings
from directpost.agent.tools import build_server
from tests.agent.helpers import answer, make_token, new_creator, publishes_for, refusal
from tests.fixtures.live import AppClient, api_sign_in
from tests.fixtures.media_files import make_photo, make_video

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Agent:
    """A fresh creator signed in to the in-process app, with a token for each scope set."""

    app: AppClient
    open_id: str
    account_id: int
    token: str
    read_only_token: str

    def api(self, token: str | None = None, transport: Any = None) -> AppApi:
        settings = AgentSettings(url=str(self.app.client.base_url), token=token or self.token)
        return AppApi(settings, transport=transport or httpx2.ASGITransport(app=self.app.app))


@pytest.fixture
async def agent(app_client: AppClient) -> Agent:
    open_id = new_creator(app_client.emulator, private_account=True)
    signed = await api_sign_in(app_client.client, open_id=open_id)
    assert signed.status_code == 303, signed.text
    settings = app_client.settings
    token = make_token(settings, open_id)
    read_only = make_token(settings, open_id, frozenset({"read"}))
    async with AppApi(
        AgentSettings(url=str(app_client.client.base_url), token=token),
        transport=httpx2.ASGITransport(app=app_client.app),
    ) as api:
        [account] = (await api.accounts())["accounts"]
    return Agent(app_client, open_id, account["id"], token, read_only)


@pytest.fixture
async def tools(agent: Agent) -> AsyncIterator[Client]:
    async with agent.api() as api, Client(build_server(api)) as client:
        yield client


async def test_upload_media_refuses_a_folder_a_missing_file_and_other_kinds_clearly(
    agent: Agent, tools: Client, tmp_path: Path
) -> None:
    account = agent.account_id
    folder = refusal(
        await tools.call_tool("upload_media", {"account_id": account, "path": str(tmp_path)})
    )
    assert folder == f"{tmp_path} is a folder, not a file: give the path of one media file."
    missing = tmp_path / "nowhere.mp4"
    gone = refusal(
        await tools.call_tool("upload_media", {"account_id": account, "path": str(missing)})
    )
    assert gone == f"There is no file at {missing}."
    png = make_photo(tmp_path / "photo.png", fmt="PNG")
    other = refusal(
        await tools.call_tool("upload_media", {"account_id": account, "path": str(png)})
    )
    assert "photo.png is not a kind of file TikTok takes" in other
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    nothing = refusal(
        await tools.call_tool("upload_media", {"account_id": account, "path": str(empty)})
    )
    assert nothing == f"{empty} is empty."


async def test_api_refusals_are_tool_errors_in_the_apis_words_without_a_traceback(
    agent: Agent, tools: Client, tmp_path: Path
) -> None:
    other_account = refusal(await tools.call_tool("get_posting_options", {"account_id": 999_999}))
    assert other_account.startswith("No such account (or you may not prepare for it).")
    assert other_account.endswith("(HTTP 404, not_found)")

    uploaded = answer(
        await tools.call_tool(
            "upload_media",
            {"account_id": agent.account_id, "path": str(make_video(tmp_path / "c.mp4"))},
        )
    )
    too_far = refusal(
        await tools.call_tool(
            "prepare_post",
            {
                "account_id": agent.account_id,
                "upload_id": uploaded["upload_id"],
                "caption": "too late",
                "schedule_at": "2099-01-01T09:00",
            },
        )
    )
    assert "(HTTP 422, refused)" in too_far
    assert "Traceback" not in too_far


async def test_a_read_only_token_reads_but_cannot_upload_or_prepare(
    agent: Agent, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "c.mp4")
    async with agent.api(agent.read_only_token) as api, Client(build_server(api)) as tools:
        listed = answer(await tools.call_tool("list_accounts", {}))
        assert [a["id"] for a in listed["accounts"]] == [agent.account_id]
        upload = refusal(
            await tools.call_tool(
                "upload_media", {"account_id": agent.account_id, "path": str(video)}
            )
        )
    assert "it needs the 'prepare' scope" in upload
    assert "(HTTP 403, insufficient_scope)" in upload


async def test_withdraw_takes_a_prepared_post_back_once(
    agent: Agent, tools: Client, tmp_path: Path
) -> None:
    uploaded = answer(
        await tools.call_tool(
            "upload_media",
            {"account_id": agent.account_id, "path": str(make_video(tmp_path / "w.mp4"))},
        )
    )
    prepared = answer(
        await tools.call_tool(
            "prepare_post",
            {"account_id": agent.account_id, "upload_id": uploaded["upload_id"], "caption": "w"},
        )
    )
    withdrawn = answer(
        await tools.call_tool("withdraw_prepared_post", {"prepared_id": prepared["id"]})
    )
    assert withdrawn["state"] == "withdrawn"
    again = refusal(
        await tools.call_tool("withdraw_prepared_post", {"prepared_id": prepared["id"]})
    )
    assert "(HTTP 409, conflict)" in again
    listed = answer(await tools.call_tool("list_prepared_posts", {"state": "withdrawn"}))
    assert [p["id"] for p in listed["prepared_posts"]] == [prepared["id"]]
    assert publishes_for(agent.app.emulator, agent.open_id) == []


class FlakyNetwork(httpx2.AsyncBaseTransport):
    """The app in-process, with two mishaps on the way: the answer to the second chunk is lost
    after the app stored it, and the fourth chunk says the wrong offset (as a client that lost
    count would). Only the transport is replaced: the app and its media store are real."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx2.ASGITransport(app=app)
        self.chunks = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "PUT":
            return await self.inner.handle_async_request(request)
        self.chunks += 1
        if self.chunks == 4:
            request.url = request.url.copy_set_param("offset", "0")
        response = await self.inner.handle_async_request(request)
        if self.chunks == 2:
            await response.aread()
            raise httpx2.ReadError("connection reset by peer", request=request)
        return response


async def test_upload_resumes_after_a_lost_answer_and_a_misplaced_chunk_byte_for_byte(
    agent: Agent, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "resume.mp4", seconds=1.0)
    data = video.read_bytes()
    network = FlakyNetwork(agent.app.app)
    sent: list[int] = []

    async def progress(received: int, size: int) -> None:
        sent.append(received)

    async with agent.api(transport=network) as api:
        upload = await upload_file(
            api,
            account_id=agent.account_id,
            raw_path=str(video),
            chunk_bytes=len(data) // 5 + 1,
            progress=progress,
        )
    assert upload["state"] == "ready", upload["problems"]
    assert network.chunks >= 6  # five chunks, the misplaced one, sent again from the app's offset
    assert sent[-1] == len(data)
    file_id = upload["files"][0]["id"]
    stored = await agent.app.client.get(f"/uploads/{upload['id']}/files/{file_id}")
    assert stored.status_code == 200
    assert stored.content == data


async def test_an_unreachable_app_is_one_line_that_names_it(tmp_path: Path) -> None:
    settings = AgentSettings(url="http://127.0.0.1:9", token="dpat_" + "x" * 43)
    async with AppApi(settings, timeout=5) as api, Client(build_server(api)) as tools:
        said = refusal(await tools.call_tool("list_accounts", {}))
    assert said.startswith("Cannot reach the app at http://127.0.0.1:9 (ConnectError).")
    assert "dpat_" not in said
