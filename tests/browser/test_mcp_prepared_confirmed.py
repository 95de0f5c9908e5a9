"""Issue 18's end to end: an AI agent prepares a post through `directpost mcp` (the official
SDK's client over stdio, the server as a subprocess), and only the creator's confirmation in
Chromium publishes it, onto the emulator's profile.

The MCP session stays open while the creator reviews: the agent then reads, through the same
tools, that its prepared post was confirmed and the post made from it was published. Until the
creator pressed publish, TikTok (the emulator) received no init for this creator (UX-5c).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from pathlib import Path
from typing import Any, TextIO

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from tests.agent.helpers import (
    answer,
    make_token,
    mcp_command,
    new_creator,
    profile_of,
    publishes_for,
)
from tests.browser.test_post_page_rules import expect, publish_button
from tests.fixtures.live import LiveApp, sign_in
from tests.fixtures.media_files import make_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAPTION = "Sunset over the harbour, prepared by an agent #mcp"


class StdioAgent:
    """An MCP client session over stdio, kept open on an event loop in its own thread: the
    browser's sync API keeps this thread's loop busy, and the agent must outlive the review."""

    def __init__(self, server: StdioServerParameters, errlog: TextIO) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._ready: concurrent.futures.Future[ClientSession] = concurrent.futures.Future()
        self._stop = asyncio.Event()
        self._runner = asyncio.run_coroutine_threadsafe(self._run(server, errlog), self._loop)
        try:
            self._session = self._ready.result(timeout=120)
        except BaseException:
            self.close()
            raise

    async def _run(self, server: StdioServerParameters, errlog: TextIO) -> None:
        try:
            async with (
                stdio_client(server, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                self._ready.set_result(session)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        work = self._session.call_tool(name, arguments)
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=120)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        try:
            self._runner.result(timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


def test_an_agent_prepares_over_mcp_and_only_the_creators_confirmation_publishes_it(
    page: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    open_id = new_creator(live_app.emulator, private_account=True)
    sign_in(page, open_id=open_id)  # the creator has an account in the app; the agent a token
    token = make_token(live_app.settings, open_id)
    video = make_video(tmp_path / "harbour.mp4", seconds=1.0)

    with (tmp_path / "mcp-stderr.txt").open("w") as errlog:
        agent = StdioAgent(mcp_command(live_app.base_url, token), errlog)
        try:
            [account] = answer(agent.call("list_accounts", {}))["accounts"]
            uploaded = answer(
                agent.call("upload_media", {"account_id": account["id"], "path": str(video)})
            )
            assert uploaded["state"] == "ready", uploaded["problems"]
            prepared = answer(
                agent.call(
                    "prepare_post",
                    {
                        "account_id": account["id"],
                        "upload_id": uploaded["upload_id"],
                        "caption": CAPTION,
                        "privacy_suggestion": "SELF_ONLY",
                        "note": "For tonight, if you like it.",
                    },
                )
            )
            assert prepared["state"] == "to_review"
            assert publishes_for(live_app.emulator, open_id) == []  # nothing went to TikTok

            # The creator opens the link the agent gave them.
            page.goto(prepared["review_url"])
            expect(page.locator("h1")).to_have_text("Review a prepared post")
            expect(page.get_by_test_id("review-suggestion")).to_contain_text("Only me")
            expect(page.get_by_test_id("review-note")).to_contain_text("For tonight")
            expect(page.get_by_label("Title")).to_have_value(CAPTION)  # filled in, editable
            expect(page.locator("#privacy_level")).to_have_value("")  # suggested, not chosen
            expect(page.get_by_label("Allow comment")).not_to_be_checked()
            expect(publish_button(page)).to_be_disabled()
            assert publishes_for(live_app.emulator, open_id) == []

            page.locator("#privacy_level").select_option("SELF_ONLY")
            expect(publish_button(page)).to_be_enabled()
            publish_button(page).click()  # below the declaration: the creator's consent
            page.wait_for_url(re.compile(r"/posts/\d+"))
            page.locator("#post-live .state-published").wait_for(timeout=30_000)

            [post] = profile_of(live_app.emulator, open_id)
            assert post["title"] == CAPTION
            assert post["privacy_level"] == "SELF_ONLY"
            assert len(publishes_for(live_app.emulator, open_id)) == 1

            # The agent reads the outcome through its own tools.
            decided = answer(agent.call("get_prepared_post", {"prepared_id": prepared["id"]}))
            assert decided["state"] == "confirmed"
            status = answer(agent.call("get_post_status", {"post_id": decided["post"]["id"]}))
            assert (status["state"], status["final"]) == ("published", True)
        finally:
            agent.close()
    assert token not in (tmp_path / "mcp-stderr.txt").read_text()
