"""`directpost mcp` (issue 18): the MCP server an AI agent uses to prepare posts, driven by the
official SDK's own client over stdio and streamable HTTP, against the app running as a real
server beside the emulator, with a personal access token.

What it must hold to: the tools an agent is shown, and none that publishes (UX-5c: the creator
confirms in the app; every description says so); a whole preparation (accounts, posting
options, a real video uploaded in chunks, a prepared post, read back) with no publish init
reaching TikTok; a retried prepare_post makes one prepared post; refusals come back as tool
errors in the API's words, with no traceback; and the token is never printed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.agent.helpers import (
    answer,
    make_token,
    mcp_command,
    new_creator,
    publishes_for,
    refusal,
    sign_in_over_http,
)
from tests.fixtures.live import LiveApp
from tests.fixtures.media_files import make_video

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {
    "list_accounts",
    "get_posting_options",
    "upload_media",
    "prepare_post",
    "list_prepared_posts",
    "get_prepared_post",
    "withdraw_prepared_post",
    "get_post_status",
}
#: What a tool's name would say if it published, consented or confirmed for the creator.
PUBLISHING_NAME = re.compile(r"publish|confirm|consent|approve|post_now|go_live|share", re.I)
#: What a description would say if the tool itself published.
PUBLISHING_CLAIM = re.compile(
    r"\b(publishes|will publish|publish(es)? it|posts it|goes live|makes it live)\b", re.I
)
CREATOR_CONFIRMS = "Nothing is published by this tool"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def agent_creator(live_app: LiveApp) -> tuple[str, str]:
    """A fresh creator signed in to the live app, and a token of theirs: (open_id, token)."""
    open_id = new_creator(live_app.emulator, private_account=True)
    sign_in_over_http(live_app.base_url, open_id)
    return open_id, make_token(live_app.settings, open_id)


async def test_stdio_lists_the_tools_and_none_publishes_ux_5c(
    live_app: LiveApp, agent_creator: tuple[str, str], tmp_path: Path
) -> None:
    _open_id, token = agent_creator
    with (tmp_path / "server-stderr.txt").open("w") as errlog:
        async with (
            stdio_client(mcp_command(live_app.base_url, token), errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            started = await session.initialize()
            tools = (await session.list_tools()).tools
    assert started.server_info.name == "directpost"
    assert "cannot publish" in (started.instructions or "")
    assert {tool.name for tool in tools} == EXPECTED_TOOLS
    for tool in tools:
        description = tool.description or ""
        assert not PUBLISHING_NAME.search(tool.name), tool.name
        assert CREATOR_CONFIRMS in description, tool.name
        assert "review_url" in description and "confirms it there" in description, tool.name
        claims = description.replace(CREATOR_CONFIRMS, "")
        assert not PUBLISHING_CLAIM.search(claims), (tool.name, description)
    schema = next(t for t in tools if t.name == "prepare_post").input_schema
    assert set(schema["required"]) == {"account_id", "upload_id", "caption"}
    stderr = (tmp_path / "server-stderr.txt").read_text()
    assert "mcp test agent" in stderr  # the start line names the token…
    assert token not in stderr  # …never its secret


async def test_an_agent_prepares_a_post_over_stdio_and_nothing_reaches_tiktoks_init(
    live_app: LiveApp, agent_creator: tuple[str, str], tmp_path: Path
) -> None:
    open_id, token = agent_creator
    video = make_video(tmp_path / "agent clip.mp4", seconds=1.0)
    with (tmp_path / "server-stderr.txt").open("w") as errlog:
        async with (
            stdio_client(mcp_command(live_app.base_url, token), errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = answer(await session.call_tool("list_accounts", {}))
            [account] = listed["accounts"]
            assert account["role"] == "owner"
            assert account["nickname"] == f"Nick {open_id}"

            options = answer(
                await session.call_tool("get_posting_options", {"account_id": account["id"]})
            )
            assert "SELF_ONLY" in options["privacy_level_options"]

            uploaded = answer(
                await session.call_tool(
                    "upload_media", {"account_id": account["id"], "path": str(video)}
                )
            )
            assert uploaded["state"] == "ready", uploaded["problems"]
            assert uploaded["file"] == {"name": "agent clip.mp4", "size": video.stat().st_size}

            request = {
                "account_id": account["id"],
                "upload_id": uploaded["upload_id"],
                "caption": "Made by an agent #mcp",
                "privacy_suggestion": "SELF_ONLY",
                "note": "Check the colours, please.",
            }
            prepared = answer(await session.call_tool("prepare_post", request))
            assert prepared["state"] == "to_review"
            assert prepared["already_prepared"] is False
            assert prepared["review_url"] == f"{live_app.base_url}/review/{prepared['id']}"
            assert "Nothing is published until they do" in prepared["next_step"]

            # The agent retries the same call (a lost answer, a confused model): one post.
            again = answer(await session.call_tool("prepare_post", request))
            assert again["id"] == prepared["id"]
            assert again["already_prepared"] is True

            read_back = answer(
                await session.call_tool("get_prepared_post", {"prepared_id": prepared["id"]})
            )
            assert read_back["state"] == "to_review"
            assert read_back["title"] == "Made by an agent #mcp"
            assert read_back["privacy_suggestion"] == "SELF_ONLY"
            assert read_back["post"] is None

            waiting = answer(await session.call_tool("list_prepared_posts", {"state": "to_review"}))
            assert [p["id"] for p in waiting["prepared_posts"]] == [prepared["id"]]

            unknown = refusal(
                await session.call_tool("get_prepared_post", {"prepared_id": 2**31 - 1})
            )
            assert "No such prepared post" in unknown and "404" in unknown
            assert "Traceback" not in unknown
    # Everything an agent can do was done: TikTok was never asked to publish (UX-5c).
    assert publishes_for(live_app.emulator, open_id) == []
    assert token not in (tmp_path / "server-stderr.txt").read_text()


@dataclass
class HttpServer:
    """`directpost mcp --http --port 0` as a process, and what it said on stderr."""

    process: subprocess.Popen[str]
    url: str
    reader: threading.Thread

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()


def _start_http_server(app_base_url: str, token: str) -> HttpServer:
    """Start the server on any free port and read the URL it says it serves at."""
    process = subprocess.Popen(
        [sys.executable, "-m", "directpost.cli", "mcp", "--http", "--port", "0"],
        env={"DIRECTPOST_URL": app_base_url, "DIRECTPOST_TOKEN": token},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "streamable HTTP at" in line:
                found.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    started = found.wait(timeout=60)
    server = HttpServer(process, "", reader)
    if not started:
        server.stop()
        raise AssertionError("the HTTP server did not start:\n" + "".join(lines))
    url = re.search(r"(http://\S+/mcp)", next(x for x in lines if "streamable HTTP" in x))
    assert url is not None
    server.url = url.group(1)
    return server


@pytest.fixture
def http_server(
    live_app: LiveApp, agent_creator: tuple[str, str]
) -> Iterator[tuple[str, str, str]]:
    """The MCP server over streamable HTTP: (its /mcp URL, the creator's open_id, token)."""
    open_id, token = agent_creator
    server = _start_http_server(live_app.base_url, token)
    try:
        yield server.url, open_id, token
    finally:
        server.stop()


async def test_streamable_http_lists_the_tools_lists_accounts_and_refuses_other_hosts(
    http_server: tuple[str, str, str],
) -> None:
    url, open_id, _token = http_server
    assert url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    async with (
        httpx2.AsyncClient(timeout=30, trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = (await session.list_tools()).tools
        listed = answer(await session.call_tool("list_accounts", {}))
        # A web page elsewhere cannot reach it through DNS rebinding: the SDK's Host check is
        # on for loopback.
        foreign = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Host": "evil.example", "Accept": "application/json, text/event-stream"},
        )
    assert {tool.name for tool in tools} == EXPECTED_TOOLS
    assert [a["nickname"] for a in listed["accounts"]] == [f"Nick {open_id}"]
    assert foreign.status_code in (403, 421), foreign.text
