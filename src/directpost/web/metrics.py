"""`/metrics` for Prometheus: the HTTP middleware that counts requests, and the exposition.

`HttpMetricsMiddleware` (pure ASGI, one line in `web.app`) counts every HTTP request by method,
route template (`/posts/{post_id}`, never the path itself: one series per route, not per post)
and status, with a latency histogram per route. Its cost per request is two clock reads, two
dict lookups and two locked adds (the Post page benchmark, `bench/post_page.py`, measures it).

`exposition(services)` is the body of `/metrics`: this process's families (HTTP here, TikTok,
budgets and webhooks in `publishing.telemetry`) — or, with `PROMETHEUS_MULTIPROC_DIR` set,
every process's on this machine added up — then the database's figures, read at scrape time
by `StoreCollector` in two aggregate queries (posts by state, the due queue and its age). A
database that does not answer gives `directpost_database_up 0`, never a failed scrape.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directpost.publishing.wiring import Services
from directpost.store import posts as post_store
from directpost.store.base import utcnow
from directpost.store.lockdown import is_locked

#: Page renders take milliseconds; uploads and media pulls take seconds.
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The route label of a request no route matched (scanners' guesses share one series).
UNMATCHED: Final = "<unmatched>"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CACHE_MAX = 2048

HTTP_REQUESTS: Final = Counter(
    "directpost_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY: Final = Histogram(
    "directpost_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)


class HttpMetricsMiddleware:
    """Counts each HTTP request by route template and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label lookups cost more than the adds: keep each series' child (bounded: routes x
        # statuses x methods is small, and unmatched paths share one label).
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._timers: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the answer started is a 500 to the client

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED
        method = scope.get("method", "GET")
        if method not in _METHODS:
            method = "OTHER"
        counter = self._counters.get((method, template, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(method, template, str(status))
            if len(self._counters) < _CACHE_MAX:
                self._counters[(method, template, status)] = counter
        timer = self._timers.get((method, template))
        if timer is None:
            timer = HTTP_LATENCY.labels(method, template)
            if len(self._timers) < _CACHE_MAX:
                self._timers[(method, template)] = timer
        counter.inc()
        timer.observe(seconds)


class StoreCollector(Collector):
    """The database's figures as gauges, computed when Prometheus scrapes (never kept)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "directpost_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            now = utcnow()
            with self._services.factory() as session:
                figures = post_store.queue_figures(session, now=now)
            locked = is_locked(self._services.engine)
        except Exception:  # the scrape still answers; readiness says what is wrong
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        posts = GaugeMetricFamily(
            "directpost_posts", "Posts in the database by state.", labels=["state"]
        )
        for state, count in sorted(figures.by_state.items()):
            posts.add_metric([state or "new"], count)
        yield posts
        yield GaugeMetricFamily(
            "directpost_queue_depth",
            "Posts whose time has come (scheduled, queued, publishing, processing and due).",
            value=figures.due_now,
        )
        yield GaugeMetricFamily(
            "directpost_queue_oldest_due_age_seconds",
            "How long the longest-waiting due post has been due (0: none is due).",
            value=_age(now, figures.oldest_due_at),
        )
        yield GaugeMetricFamily(
            "directpost_posts_oldest_active_update_age_seconds",
            "How long the queued, publishing or processing post that changed least recently "
            "has gone without changing (0: none is active).",
            value=_age(now, figures.oldest_active_update_at),
        )
        yield GaugeMetricFamily(
            "directpost_lockdown_active",
            "1 while a lockdown stops all traffic to TikTok (TOS-2).",
            value=1 if locked else 0,
        )


def _age(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max(0.0, (now - then).total_seconds())


def exposition(services: Services) -> bytes:
    """The `/metrics` body: the processes' families, then the database's (see the module)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
        body = generate_latest(processes)
    else:
        body = generate_latest(REGISTRY)
    store = CollectorRegistry(auto_describe=False)
    store.register(StoreCollector(services))
    return body + generate_latest(store)
