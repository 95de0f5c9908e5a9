"""Running publish jobs: the database is the queue, and each worker process takes from it.

A post is due when its scheduled time has come, a retry or the next status poll is due, or a
killed job's claim has run out. Each worker process has a dispatcher thread that, every
`sweep_interval_s` or when a runner thread becomes free, claims as many due posts as it has idle
runner threads for (`store.claim_due_posts`: one conditional `UPDATE … RETURNING` marks each as
enqueued for a while, so no other process takes it) and hands them to its runner threads
through an in-process queue. A runner runs `pipeline.advance`, which claims the post itself, so
even a post handed out twice is worked on by one job at a time. A creator's next post is
claimed as soon as a runner is free again, in its turn: the claim takes turns between creators
(one creator's posts one after another would hold back every other creator's first post).

A process killed with claimed posts it never started leaves them marked: they come back once
the mark runs out (`enqueue_grace`). A graceful stop (SIGTERM) claims nothing more, clears the
marks of the posts it claimed but did not start, so another process takes them at once, and
lets each running job reach its next safe point within the grace period:

- a job waiting for a creator's request budget (CAP-4) stops waiting and gives its post back,
  due when the budget frees (nothing was spent for it);
- a request in flight is answered and its answer stored: an init's `publish_id` is written
  before the job looks at the stop (never an attempt left `init_sent` by a stop);
- a FILE_UPLOAD upload stops at the next chunk boundary; the next run resumes it where TikTok
  says it got to, under the stored `publish_id` (never a new init).

A job still running when the grace period ends is left as a crash would leave it (safe by
design, run again later); `run_worker` then says which posts and returns False (exit 1).

Embedded: the worker runs inside the app's process (`start_in_process`). At scale: any number
of `directpost worker` processes on any machine, sharing the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from directpost.config import Settings
from directpost.publishing import housekeeping, measures, notify_delivery, pipeline
from directpost.publishing.media_check import media_check_for
from directpost.publishing.wiring import Services, build_services
from directpost.store import posts as store
from directpost.tiktok import AsyncTikTokClient, AsyncTransport

log = logging.getLogger(__name__)

#: How long a stopping worker waits for its running jobs to reach a safe point, by default. One
#: TikTok request (30 s timeout) or one upload chunk fits; the container's stop timeout must be
#: longer (compose.yaml: `stop_grace_period`).
DEFAULT_GRACE_S = 30.0
#: The longest pause between two claims while the database does not answer.
_OUTAGE_MAX_PAUSE_S = 30.0
#: How often a job's budget wait looks whether the worker is stopping.
_STOP_POLL_S = 0.1

#: Connections a worker process keeps beyond one per runner thread (the dispatcher, and the
#: heartbeat a job's long step renews its claim with), and how many more it may open briefly.
EXTRA_CONNECTIONS = 2
MAX_OVERFLOW = 4


def publish_context(
    services: Services, *, timing: pipeline.Timing | None = None
) -> pipeline.PublishContext:
    """What a publish job runs with, from the process's services. Pull publishes first ask
    whether our media service answers (`media_check`), unless the operator turned it off or
    every video is uploaded (transfer mode file_upload)."""
    settings = services.settings
    check = (
        media_check_for(settings.resolved_media_public_base_url, settings.media_check_url)
        if settings.transfer_mode == "pull"
        else None
    )
    return pipeline.PublishContext(
        settings=settings,
        factory=services.factory,
        cipher=services.cipher,
        client=services.tiktok_client_factory,
        budgets=services.budgets,
        media_store=services.media_store,
        timing=timing or pipeline.Timing(),
        media_check=check,
    )


def context_from_settings(
    settings: Settings,
    *,
    timing: pipeline.Timing | None = None,
    transport: AsyncTransport | None = None,
    threads: int | None = None,
) -> pipeline.PublishContext:
    """Everything a job needs, from settings (one per process; `threads`: the runner threads
    that will share it, to size the database pool).

    Every runner thread and the dispatcher hold a connection at once (a job's heartbeat
    briefly too): the pool keeps one each, so none is opened and closed per use (a new
    PostgreSQL connection costs a server process every time); the rare heartbeat overflows.
    """
    pool = {} if threads is None else {"db_pool_size": threads + EXTRA_CONNECTIONS}
    services = build_services(
        settings,
        tiktok_transport=transport,
        db_max_overflow=MAX_OVERFLOW if pool else None,
        **pool,
    )
    return publish_context(services, timing=timing)


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

    def __init__(self, make: Callable[[], AbstractAsyncContextManager[AsyncTikTokClient]]) -> None:
        self._make = make
        self._manager: AbstractAsyncContextManager[AsyncTikTokClient] | None = None
        self._client: AsyncTikTokClient | None = None

    def __call__(self) -> AbstractAsyncContextManager[AsyncTikTokClient]:
        return self._borrow()

    @contextlib.asynccontextmanager
    async def _borrow(self) -> AsyncIterator[AsyncTikTokClient]:
        yield await self.open()

    async def open(self) -> AsyncTikTokClient:
        """The open client (opened now if it is not yet)."""
        if self._client is None:
            manager = self._make()
            client = await manager.__aenter__()
            self._manager, self._client = manager, client
        return self._client

    async def aclose(self) -> None:
        manager, self._manager, self._client = self._manager, None, None
        if manager is not None:
            await manager.__aexit__(None, None, None)


@dataclass
class Worker:
    """Runner threads in this process, fed by a dispatcher that claims due posts."""

    ctx: pipeline.PublishContext
    threads: int = 4
    sweep_interval_s: float = 0.25
    enqueue_grace: timedelta = timedelta(seconds=60)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _jobs: queue.Queue[int | None] = field(default_factory=queue.Queue)
    _wake: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Posts claimed by this process whose job has not ended yet (waiting or running).
    _outstanding: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)
    #: The post each runner thread is working on now (by thread name).
    _running: dict[str, int] = field(default_factory=dict)
    #: When the dispatcher next sweeps abandoned uploads and expired media (monotonic).
    _next_housekeeping: float = 0.0
    #: Sends the notifications' e-mails and webhooks (its own thread: a slow mail server or
    #: receiver must never delay a claim).
    _deliveries: notify_delivery.DeliveryLoop | None = None

    def __post_init__(self) -> None:
        # The jobs learn of a stop through their context: `stopping` at each safe point, and a
        # budget wait (`ctx.sleep`) that ends early when the stop comes.
        self._base_sleep = self.ctx.sleep
        self.ctx = replace(self.ctx, stopping=self.stop_event.is_set, sleep=self._sleep)
        self._loops = _ThreadLoops(self.ctx)

    async def _sleep(self, seconds: float) -> None:
        """A job's wait, cut short when the worker starts stopping."""
        end = time.monotonic() + seconds
        while not self.stop_event.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            await self._base_sleep(min(left, _STOP_POLL_S))

    def running_posts(self) -> list[int]:
        """The posts whose jobs are running now (a snapshot)."""
        with self._lock:
            return sorted(self._running.values())

    def dispatch_once(self) -> int:
        """Claim as many due posts as this process has runner threads free for (minus the
        jobs already waiting here) and queue them; returns how many."""
        with self._lock:
            free = self.threads - self._outstanding
        return self._claim(limit=free) if free > 0 else 0

    def pending(self) -> list[int]:
        """The posts this process has claimed and not started yet (a snapshot)."""
        with self._jobs.mutex:
            return [post_id for post_id in self._jobs.queue if post_id is not None]

    def _claim(self, *, limit: int) -> int:
        """Claim due posts (`store.claim_due_posts`) and queue them for the runner threads."""
        with self.ctx.factory() as session, session.begin():
            due = store.claim_due_posts(
                session, now=self.ctx.clock(), grace=self.enqueue_grace, limit=limit
            )
        with self._lock:
            self._outstanding += len(due)
        for post_id in due:
            self._jobs.put(post_id)
        return len(due)

    def _dispatcher(self) -> None:
        failing = 0.0  # the pause after a failed claim, doubled while the failures go on
        while not self.stop_event.is_set():
            self._wake.clear()
            try:
                claimed = self.dispatch_once()
                failing = 0.0
            except Exception as exc:  # the dispatcher must outlive a database outage
                failing = min(_OUTAGE_MAX_PAUSE_S, failing * 2 or self.sweep_interval_s)
                if isinstance(exc, OperationalError):  # unreachable: one line, no traceback
                    reason = str(exc.orig or exc).strip().splitlines()[0]
                    log.warning(
                        "the database does not answer (%s); trying again in %.1f s", reason, failing
                    )
                else:
                    log.exception("claiming due posts failed; trying again in %.1f s", failing)
                self.stop_event.wait(failing)
                continue
            with self._lock:
                free = self.threads - self._outstanding
            if claimed and free > 0:
                continue  # it took what it found and may find more: look again now
            self._housekeep()
            self._wake.wait(self.sweep_interval_s)

    def _housekeep(self) -> None:
        """Every `housekeeping.SWEEP_EVERY`: abandoned uploads, then the media of posts that
        ended longer ago than the operator's retention (issue 15)."""
        now = time.monotonic()
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + housekeeping.SWEEP_EVERY.total_seconds()
        ctx = self.ctx
        try:
            housekeeping.sweep_abandoned_uploads(ctx.factory, ctx.media_store)
            housekeeping.expire_prepared(ctx.factory, ctx.media_store)
            days = ctx.settings.media_retention_days
            if days > 0:
                housekeeping.expire_final_media(
                    ctx.factory, ctx.media_store, retention=timedelta(days=days)
                )
        except Exception:  # next time, then: a sweep must never stop the publishing
            log.exception("housekeeping failed; trying again in %s", housekeeping.SWEEP_EVERY)

    def _runner(self) -> None:
        try:
            self._loops.prepare()
        except Exception:  # a job would build it again; never lose the thread over it
            log.exception("preparing a worker thread failed")
        try:
            while True:
                post_id = self._jobs.get()
                if post_id is None or self.stop_event.is_set():
                    if post_id is not None:
                        self._jobs.put(post_id)  # not started: `stop` hands it back
                    return
                name = threading.current_thread().name
                with self._lock:
                    self._running[name] = post_id
                try:
                    self._loops.run(post_id)
                except Exception:  # a job's failure is recorded on its post; keep working
                    log.exception("a publish job raised")
                with self._lock:
                    self._outstanding -= 1
                    self._running.pop(name, None)
                self._wake.set()  # a runner is free: claim the next due post now
        finally:
            self._loops.close_current()

    def start(self) -> Worker:
        self.stop_event.clear()
        self._jobs = queue.Queue()
        self._outstanding = 0
        self._threads = [
            threading.Thread(target=self._dispatcher, name="publish-dispatcher", daemon=True)
        ]
        self._threads += [
            threading.Thread(target=self._runner, name=f"publish-worker-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for thread in self._threads:
            thread.start()
        sender = notify_delivery.Sender(self.ctx.settings, self.ctx.cipher)
        self._deliveries = notify_delivery.DeliveryLoop(self.ctx.factory, sender).start()
        return self

    def stop(self, timeout: float = DEFAULT_GRACE_S) -> list[int]:
        """Graceful stop: no new claims; the posts claimed here but not started go back to the
        database for another process at once; the running jobs reach their next safe point
        (see the module's docstring). Returns the posts whose jobs were still running when
        `timeout` ran out (they are run again later, as after a crash); empty: a clean stop."""
        self.stop_event.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        dispatcher, runners = self._threads[:1], self._threads[1:]
        for thread in dispatcher:
            thread.join(max(0.0, deadline - time.monotonic()))
        # Hand back before waiting for the running jobs: another process may take them now.
        self._hand_back(self._take_pending())
        for _ in runners:
            self._jobs.put(None)  # wakes every idle runner, which then ends
        for thread in runners:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._hand_back(self._take_pending())
        if self._deliveries is not None:
            self._deliveries.stop(max(0.0, deadline - time.monotonic()))
        measures.flush_all()  # what the jobs measured (DG-3): nobody closes these services
        return self.running_posts() if any(t.is_alive() for t in runners) else []

    def _take_pending(self) -> list[int]:
        taken: list[int] = []
        while True:
            try:
                post_id = self._jobs.get_nowait()
            except queue.Empty:
                return taken
            if post_id is not None:
                taken.append(post_id)

    def _hand_back(self, post_ids: list[int]) -> None:
        """Clear the enqueued marks of claimed posts this process will not run."""
        if not post_ids:
            return
        try:
            with self.ctx.factory() as session, session.begin():
                store.clear_enqueued(session, post_ids=post_ids)
        except Exception:  # their marks run out after `enqueue_grace` anyway
            log.exception("handing back %d claimed posts failed", len(post_ids))


def start_in_process(settings: Settings, *, threads: int = 4) -> Worker:
    """Start a worker inside this process (`directpost run`, `directpost worker`)."""
    ctx = context_from_settings(settings, threads=threads)
    worker = Worker(ctx=ctx, threads=threads).start()
    log.info("publish worker started in-process with %d threads", threads)
    return worker


def run_worker(settings: Settings, *, threads: int = 4, grace_s: float = DEFAULT_GRACE_S) -> bool:
    """Run a worker in this process until SIGTERM or SIGINT, then stop gracefully (see
    `Worker.stop`). False when jobs were still running at the end of the grace period."""
    return serve_until_signal(start_in_process(settings, threads=threads), grace_s=grace_s)


def serve_until_signal(worker: Worker, *, grace_s: float = DEFAULT_GRACE_S) -> bool:
    """Let a started worker run until SIGTERM or SIGINT, then stop it within `grace_s`."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.is_set():
        stop.wait(0.5)
    running = worker.running_posts()
    log.info(
        "stopping: no new jobs; %d running (posts %s) get %.0f s to reach a safe point",
        len(running),
        running,
        grace_s,
    )
    left = worker.stop(timeout=grace_s)
    if left:
        log.error(
            "stopped with jobs still running for posts %s after %.0f s; they run again once "
            "their claims expire",
            left,
            grace_s,
        )
        return False
    log.info("stopped cleanly")
    return True


def run_worker_processes(
    settings: Settings, *, processes: int, threads: int, grace_s: float = DEFAULT_GRACE_S
) -> bool:
    """Run `processes` separate worker processes; SIGTERM stops them all gracefully. False
    when one of them did not stop cleanly."""
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
                "--grace",
                str(grace_s),
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
    deadline = time.monotonic() + grace_s + 10.0
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.0, deadline - time.monotonic()))
    return all(child.poll() == 0 for child in children)


@contextlib.contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    """Run the worker for the duration of a block (tests, benchmarks)."""
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
