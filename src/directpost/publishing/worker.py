"""Running publish jobs: the Huey queue, the worker threads, and the sweeper that feeds them.

The database is the truth; the queue only says "look at post N now". A sweeper in every worker
process enqueues posts that are due (scheduled time reached, retry or next status poll due, or a
killed job's claim run out), marking each as enqueued for a while so it is not queued twice.
Worker threads take jobs from Huey and run `pipeline.advance`, which claims the post, so two
workers never work on one post even when a job is duplicated.

Embedded: SQLite queue in `data_dir` and the workers in the app's own process
(`start_in_process`). At scale: `Settings.queue_url` (Redis) and `directpost worker` processes
on any machine, stopped gracefully by SIGTERM (the current job finishes first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from huey import RedisHuey, SqliteHuey
from sqlalchemy import Engine

from directpost import tiktok
from directpost.config import Settings
from directpost.media.storage import media_store_from_settings
from directpost.publishing import pipeline
from directpost.publishing.budgets import budgets_from_settings
from directpost.store import posts as store
from directpost.store.crypto import token_cipher_from_settings
from directpost.store.db import LeaderLock, create_engine_from_settings, create_session_factory

log = logging.getLogger(__name__)

QUEUE_NAME = "directpost-publish"
#: The advisory lock that elects the one sweeping process (any constant unique to it).
SWEEP_LEADER_KEY = 0x6470_7377


def make_huey(settings: Settings) -> Any:
    """The job queue: Redis when `queue_url` is set, else a SQLite file in `data_dir`."""
    if settings.queue_url:
        return RedisHuey(QUEUE_NAME, url=settings.queue_url, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(settings.data_dir / "queue.db"), results=False)


def tiktok_client_factory(
    settings: Settings, *, transport: Any = None
) -> Callable[[], AbstractAsyncContextManager[Any]]:
    """Builds the library client from settings (the emulator's URLs when no credentials)."""

    def make() -> AbstractAsyncContextManager[Any]:
        client: AbstractAsyncContextManager[Any] = tiktok.AsyncTikTokClient(
            client_key=settings.tiktok_client_key,
            client_secret=settings.tiktok_client_secret.get_secret_value(),
            auth_base_url=settings.tiktok_auth_base_url,
            api_base_url=settings.tiktok_api_base_url,
            transport=transport,
            # The job retries itself, each time through the shared budget (CAP-4); a retry
            # inside the client would spend requests the budget never saw.
            max_retries=0,
        )
        return client

    return make


def _engine(settings: Settings, *, connections: int | None) -> Engine:
    """The database engine for a worker process whose pool holds `connections` at once.

    Every worker thread and the sweeper hold a connection at once (a job's heartbeat briefly
    too): the pool keeps one each, so none is opened and closed per use (a new PostgreSQL
    connection costs a server process every time); the rare heartbeat overflows.
    """
    if connections is None:
        return create_engine_from_settings(settings)
    return create_engine_from_settings(settings, pool_size=connections, max_overflow=4)


def context_from_settings(
    settings: Settings,
    *,
    timing: pipeline.Timing | None = None,
    transport: Any = None,
    threads: int | None = None,
) -> pipeline.PublishContext:
    """Everything a job needs, from settings (one per process; `threads`: the worker threads
    that will share it, to size the database pool)."""
    connections = None if threads is None else threads + 2
    factory = create_session_factory(_engine(settings, connections=connections))
    return pipeline.PublishContext(
        settings=settings,
        factory=factory,
        cipher=token_cipher_from_settings(settings),
        client=tiktok_client_factory(settings, transport=transport),
        budgets=budgets_from_settings(settings, factory),
        media_store=media_store_from_settings(settings),
        timing=timing or pipeline.Timing(),
    )


class _ThreadLoops:
    """One event loop and one TikTok client per worker thread, kept from job to job.

    A job is short (a few requests); building a fresh loop and a fresh HTTP client for each
    one cost more CPU than the job itself (the client's TLS context alone is ~25 ms), which is
    what limited `bench/publish_scale.py`. The client's connections are reused too.
    """

    def __init__(self, ctx: pipeline.PublishContext) -> None:
        self._ctx = ctx
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: dict[int | None, tuple[asyncio.AbstractEventLoop, _KeptClient]] = {}

    def _current(self) -> tuple[asyncio.AbstractEventLoop, _KeptClient]:
        local = self._local
        loop: asyncio.AbstractEventLoop | None = getattr(local, "loop", None)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            kept = _KeptClient(self._ctx.client)
            local.loop, local.kept, local.ctx = loop, kept, replace(self._ctx, client=kept)
            with self._lock:
                self._all[threading.get_ident()] = (loop, kept)
        return loop, local.kept

    def prepare(self) -> None:
        """Build this thread's loop and open its client before the first job: 32 threads
        each doing it in the first second of a burst cost a second of CPU there."""
        loop, kept = self._current()
        loop.run_until_complete(kept.open())

    def run(self, post_id: int) -> None:
        loop, _ = self._current()
        loop.run_until_complete(pipeline.advance(self._local.ctx, post_id))

    def close_current(self) -> None:
        """Close this thread's loop and client (a runner thread calls it as it ends)."""
        with self._lock:
            found = self._all.pop(threading.get_ident(), None)
        self._local.loop = None
        if found is not None:
            loop, kept = found
            try:
                loop.run_until_complete(kept.aclose())
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()


class _KeptClient:
    """`ctx.client` for one thread: the same open client each time, closed only at the end."""

    def __init__(self, make: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._make = make
        self._manager: AbstractAsyncContextManager[Any] | None = None
        self._client: Any = None

    def __call__(self) -> AbstractAsyncContextManager[Any]:
        return self._borrow()

    @contextlib.asynccontextmanager
    async def _borrow(self) -> AsyncIterator[Any]:
        yield await self.open()

    async def open(self) -> Any:
        """The open client (opened now if it is not yet)."""
        if self._manager is None:
            manager = self._make()
            self._client = await manager.__aenter__()
            self._manager = manager
        return self._client

    async def aclose(self) -> None:
        manager, self._manager, self._client = self._manager, None, None
        if manager is not None:
            await manager.__aexit__(None, None, None)


@dataclass
class Worker:
    """Worker threads plus a sweeper over one queue, in this process."""

    ctx: pipeline.PublishContext
    huey: Any
    threads: int = 4
    sweep_interval_s: float = 0.25
    enqueue_grace: timedelta = timedelta(seconds=60)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _task: Any = None
    _loops: Any = None

    def __post_init__(self) -> None:
        def advance_post(post_id: int) -> None:
            self._loops.run(post_id)

        self._task = self.huey.task(name="directpost.advance_post")(advance_post)
        self.ctx = replace(self.ctx, handoff=self.handoff)
        self._loops = _ThreadLoops(self.ctx)

    def enqueue(self, post_id: int) -> None:
        """Ask a worker to look at the post now (used by the web app right after publish)."""
        self._task(post_id)

    def handoff(self, account_id: int) -> None:
        """Enqueue the account's next due post now (its lease was just let go), instead of
        waiting for the sweeper; the sweeper still finds it if this never happens."""
        self._enqueue_due(limit=1, account_id=account_id)

    def sweep_once(self) -> int:
        """Enqueue every due post no queue holds; returns how many."""
        return self._enqueue_due()

    def _enqueue_due(self, **scope: Any) -> int:
        """Claim due posts (`store.claim_due_posts`, narrowed by `scope`) and enqueue them."""
        with self.ctx.factory() as session, session.begin():
            due = store.claim_due_posts(
                session, now=self.ctx.clock(), grace=self.enqueue_grace, **scope
            )
        for post_id in due:
            self.enqueue(post_id)
        return len(due)

    def _sweeper(self) -> None:
        # One process sweeps at a time (see LeaderLock); the others stand by, ready to lead.
        leader = LeaderLock(self.ctx.factory.kw["bind"], SWEEP_LEADER_KEY)
        try:
            while not self.stop_event.is_set():
                try:
                    if leader.is_leader():
                        self.sweep_once()
                except Exception:  # the sweeper must outlive a database hiccup
                    log.exception("sweeping due posts failed; trying again")
                self.stop_event.wait(self.sweep_interval_s)
        finally:
            leader.close()

    def _runner(self) -> None:
        try:
            self._loops.prepare()
        except Exception:  # a job would build it again; never lose the thread over it
            log.exception("preparing a worker thread failed")
        delay = 0.02
        while not self.stop_event.is_set():
            try:
                task = self.huey.dequeue()
            except Exception:
                log.exception("reading the job queue failed; trying again")
                task = None
            if task is None:
                self.stop_event.wait(delay)
                delay = min(0.5, delay * 1.5)
                continue
            delay = 0.02
            try:
                self.huey.execute(task)
            except Exception:  # a job's failure is recorded on its post; keep working
                log.exception("a publish job raised")
        self._loops.close_current()

    def start(self) -> Worker:
        self.stop_event.clear()
        self._threads = [
            threading.Thread(target=self._sweeper, name="publish-sweeper", daemon=True)
        ]
        self._threads += [
            threading.Thread(target=self._runner, name=f"publish-worker-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful stop: no new jobs; the running ones finish (killed ones are re-run later)."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def start_in_process(settings: Settings, *, threads: int = 4) -> Worker:
    """Start the embedded worker inside the app's process (what `directpost run` calls)."""
    ctx = context_from_settings(settings, threads=threads)
    worker = Worker(ctx=ctx, huey=make_huey(settings), threads=threads).start()
    log.info("publish worker started in-process with %d threads", threads)
    return worker


def run_worker(settings: Settings, *, threads: int = 4) -> None:
    """Run a worker in this process until SIGTERM or SIGINT (then stop gracefully)."""
    worker = start_in_process(settings, threads=threads)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal %d: finishing the running jobs, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.is_set():
        stop.wait(0.5)
    worker.stop()


def run_worker_processes(settings: Settings, *, processes: int, threads: int) -> None:
    """Run `processes` separate worker processes; SIGTERM stops them all gracefully."""
    children = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [
                sys.executable,
                "-m",
                "directpost.cli",
                "worker",
                "--processes",
                "1",
                "--threads",
                str(threads),
            ]
        )
        for _ in range(processes)
    ]
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.is_set() and any(c.poll() is None for c in children):
        stop.wait(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(60)


@contextlib.contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    """Run the worker for the duration of a block (tests, benchmarks)."""
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
