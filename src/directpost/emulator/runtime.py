"""The running emulator: the backend plus the background work (pulls, webhooks, the ticker).

Background work runs as asyncio tasks on the server's event loop; the ticker is started by
the first request, so the same app works in-process (ASGI transport) and under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import jinja2

from .backend import Backend
from .config import EmulatorConfig
from .processing import pull
from .webhooks import deliver


class Runtime:
    """Owns the backend and every task the emulator runs in the background."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.backend = Backend(config)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.uploading: set[str] = set()
        self.hashers: dict[str, Any] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._ticker_loop: asyncio.AbstractEventLoop | None = None
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=True,
        )

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def ensure_ticker(self) -> None:
        loop = asyncio.get_running_loop()
        if self._ticker_loop is loop and self._ticker is not None and not self._ticker.done():
            return
        self._ticker_loop = loop
        self._ticker = loop.create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.backend.config.tick_interval_s)
            self.backend.tick()
            self.kick()

    def kick(self) -> None:
        """Start the work the backend queued: webhook deliveries and downloads."""
        backend = self.backend
        while backend.outbox:
            self.spawn(deliver(backend, backend.outbox.pop(0)))
        while backend.pending_pulls:
            publish = backend.publishes.get(backend.pending_pulls.pop(0))
            if publish is not None:
                self.spawn(pull(backend, publish))

    def reset(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.tasks.clear()
        self.uploading.clear()
        self.hashers.clear()
        self.backend.reset()

    def hasher(self, publish_id: str) -> Any:
        return self.hashers.setdefault(publish_id, hashlib.sha256())

    async def aclose(self) -> None:
        for task in [*self.tasks, *([self._ticker] if self._ticker else [])]:
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(BaseException):
                await task
        self.backend.close()
