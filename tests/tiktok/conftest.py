"""Fixtures for the client library tests: a fake TikTok and both clients driven the same way."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from directpost.tiktok import AsyncTikTokClient, TikTokClient

from .fake_tiktok import FakeTikTok, SyncASGITransport, async_transport, close_loop

API = "http://api.test"
AUTH = "http://auth.test"
CLIENT_KEY = "awkey123"
CLIENT_SECRET = "s3cret-value-never-logged"


class Driven:
    """Calls a sync or async client with the same (synchronous) syntax."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.client = client
        self._loop = loop
        self.sleeps: list[float] = []

    @property
    def is_async(self) -> bool:
        return self._loop is not None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attr = getattr(self.client, name)
        if self._loop is None or not inspect.iscoroutinefunction(attr):
            return attr  # type: ignore[no-any-return]
        loop = self._loop

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return loop.run_until_complete(attr(*args, **kwargs))

        return call


@pytest.fixture
def fake() -> FakeTikTok:
    return FakeTikTok()


@pytest.fixture
def emulator_strict() -> bool:
    """The library's tests call endpoints one by one (an init without creator_info, errors on
    purpose): the emulator they run against is lenient (tests/fixtures/emulator.py)."""
    return False


@pytest.fixture(params=["sync", "async"])
def tk(request: pytest.FixtureRequest, fake: FakeTikTok) -> Iterator[Driven]:
    """The client under test, sync or async, wired to the fake over in-process ASGI."""
    sleeps: list[float] = []
    if request.param == "sync":
        transport = SyncASGITransport(fake.app)
        client = TikTokClient(
            client_key=CLIENT_KEY,
            client_secret=CLIENT_SECRET,
            auth_base_url=AUTH,
            api_base_url=API,
            transport=transport,
            sleep=sleeps.append,
        )
        driven = Driven(client, None)
        driven.sleeps = sleeps
        yield driven
        client.close()  # closes the transport too
    else:
        loop = asyncio.new_event_loop()

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        aclient = AsyncTikTokClient(
            client_key=CLIENT_KEY,
            client_secret=CLIENT_SECRET,
            auth_base_url=AUTH,
            api_base_url=API,
            transport=async_transport(fake),
            sleep=record,
        )
        driven = Driven(aclient, loop)
        driven.sleeps = sleeps
        yield driven
        loop.run_until_complete(aclient.aclose())
        close_loop(loop)
