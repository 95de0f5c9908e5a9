"""The running emulator: the backend plus the background work (pulls, webhooks, the ticker).

Background work runs as asyncio tasks on the server's event loop; the ticker is started by
the first request, so the same app works in-process (ASGI transport) and under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import jinja2

from .backend import Backend
from .compliance import ComplianceLog
from .config import EmulatorConfig
from .processing import pull
from .webhooks import deliver

logger = logging.getLogger(__name__)

#: How many of the latest app requests the emulator remembers.
REQUEST_LOG_SIZE = 20_000


class Runtime:
    """Owns the backend and every task the emulator runs in the background."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.backend = Backend(config)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.uploading: set[str] = set()
        self.digests: dict[str, UploadDigest] = {}
        #: Every request an app sent (not the control plane's): wall-clock time it arrived,
        #: method, path. Bounded; read through `GET /_emulator/requests`.
        self.requests: deque[tuple[float, str, str]] = deque(maxlen=REQUEST_LOG_SIZE)
        #: Every app request with its compliance verdicts (`GET /_emulator/compliance`).
        self.compliance = ComplianceLog(self.backend)
        self._ticker: asyncio.Task[None] | None = None
        self._ticker_loop: asyncio.AbstractEventLoop | None = None
        #: Hooks of the start-up options (launch.py): after each reset (a seed file applies
        #: itself again), on each tick (the state keeper saves) and on shutdown, before the
        #: backend closes (the last save).
        self.after_reset: list[Callable[[], None]] = []
        self.on_tick: list[Callable[[], None]] = []
        self.on_close: list[Callable[[], None]] = []
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
            for hook in self.on_tick:
                hook()

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
        self.digests.clear()
        self.requests.clear()
        self.backend.reset()
        self.compliance.reset()
        for hook in self.after_reset:
            hook()

    def upload_digest(self, publish_id: str) -> UploadDigest:
        """The running SHA-256 of a FILE_UPLOAD publish (made on its first chunk)."""
        digest = self.digests.get(publish_id)
        if digest is None:
            digest = self.digests[publish_id] = UploadDigest()
        return digest

    async def aclose(self) -> None:
        for task in [*self.tasks, *([self._ticker] if self._ticker else [])]:
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(BaseException):
                await task
        try:
            for hook in self.on_close:
                hook()
        finally:
            self.backend.close()


class _HashingThread:
    """One daemon thread that runs the emulator's hashing jobs in the order they were queued.

    Handing a job over is a queue put (no task, no thread-pool round trip per range); the
    order of the queue is the order of the bytes, so an upload's ranges need no chaining.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="emulator-hashing", daemon=True
                )
                self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a job's failure is its own; later uploads still get hashed
                logger.exception("an upload digest job failed")


_HASHING = _HashingThread()


class _Hasher:
    """A SHA-256 in the making, touched only by the hashing thread; None once it is lost."""

    def __init__(self, sha: Any) -> None:
        self.sha = sha


class UploadDigest:
    """The SHA-256 of one FILE_UPLOAD, taken off the receiving path.

    Received bytes are read back from the file (the page cache) and hashed by the hashing
    thread, a few MiB at a time while the chunk still arrives (``feed``), so that the last chunk
    leaves only its last few MiB to hash. A chunk is hashed on a copy of the digest of the
    chunks kept before it: a chunk that arrives short is cut off the file and its ranges are
    dropped (``drop_chunk``); one that arrived whole is kept (``keep_chunk``). A kept range is
    never rewritten (the next chunk starts where it ended).
    """

    def __init__(self) -> None:
        self._kept = _Hasher(hashlib.sha256())
        self._chunk: _Hasher | None = None
        self._hashed_to = 0  # the file offset up to which ranges are queued

    def start_chunk(self, offset: int) -> None:
        self._chunk = None
        self._hashed_to = offset

    def feed(self, path: Path, end: int) -> None:
        """Queue the file's bytes from where the last range ended up to ``end``."""
        start = self._hashed_to
        if end <= start:
            return
        self._hashed_to = end
        if self._chunk is None:
            kept = self._kept
            chunk = self._chunk = _Hasher(None)

            def fork() -> None:
                chunk.sha = None if kept.sha is None else kept.sha.copy()

            _HASHING.submit(fork)
        hasher = self._chunk

        def update() -> None:
            if hasher.sha is not None:
                try:
                    hash_range(hasher.sha, path, start, end)
                except OSError:  # the file went (a reset): processing hashes the file itself
                    hasher.sha = None

        _HASHING.submit(update)

    def keep_chunk(self) -> None:
        if self._chunk is not None:
            self._kept, self._chunk = self._chunk, None

    def drop_chunk(self) -> None:
        self._chunk = None

    async def hexdigest(self) -> str | None:
        """The digest of the kept chunks, once their last range is hashed (None if lost)."""
        kept = self._kept
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()

        def settle(value: str | None) -> None:
            if not answer.done():
                answer.set_result(value)

        def finish() -> None:
            value = None if kept.sha is None else str(kept.sha.hexdigest())
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle, value)

        _HASHING.submit(finish)
        return await answer


def hash_range(hasher: Any, path: Path, start: int, end: int) -> None:
    """Feed bytes ``start:end`` of ``path`` to ``hasher`` through one reused 1 MiB buffer."""
    buffer = memoryview(bytearray(min(1024 * 1024, max(end - start, 1))))
    with path.open("rb", buffering=0) as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            got = handle.readinto(buffer[: min(len(buffer), left)])
            if not got:
                raise OSError(f"{path} ends before byte {end}")
            hasher.update(buffer[:got])
            left -= got
