"""The process's Prometheus counters for publishing: TikTok requests, budget waits, webhooks.

These families are defined once, at import, in prometheus-client's default registry; with
`PROMETHEUS_MULTIPROC_DIR` set (several processes per machine) prometheus-client writes them
to files in that folder instead, and `/metrics` adds up every process's files
(`web.metrics.exposition`). Only counters and histograms live here: they add up across
processes as they are; what the database knows (posts by state, the queue) is read at scrape
time instead (`web.metrics.StoreCollector`), so no process has to keep a gauge right.

Each `record_*` is a dict lookup and a locked add on the caller's path: cheap enough for every
request, and it never raises (measuring must not break the work it measures).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Histogram

from directpost.publishing.measures import endpoint_label, outcome_of
from directpost.tiktok import Exchange

#: Latency buckets (seconds) for requests to TikTok: its API answers in tens to hundreds of
#: milliseconds; an upload chunk or a slow answer takes seconds.
TIKTOK_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Budget waits are what the per-token sliding minute asks: up to a minute.
BUDGET_BUCKETS: Final = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0)
#: A TikTok error code longer than this is cut (TikTok's own are short snake_case names).
_CODE_MAX = 64
_LABEL_CACHE_MAX = 256

TIKTOK_REQUESTS: Final = Counter(
    "directpost_tiktok_requests",
    "Requests sent to TikTok, by endpoint, outcome (ok, error, http_<status>, http_5xx, "
    "no_answer) and TikTok's error code ('' when TikTok gave none).",
    ["endpoint", "outcome", "code"],
)
TIKTOK_LATENCY: Final = Histogram(
    "directpost_tiktok_request_duration_seconds",
    "How long each request to TikTok took, by endpoint and outcome.",
    ["endpoint", "outcome"],
    buckets=TIKTOK_BUCKETS,
)
BUDGET_WAITS: Final = Counter(
    "directpost_budget_waits",
    "Times a request to TikTok had to wait for its creator's per-minute budget (CAP-4), by "
    "request family (creator_info, init, status).",
    ["family"],
)
BUDGET_WAIT_SECONDS: Final = Histogram(
    "directpost_budget_wait_seconds",
    "How long the budget asked each waiting request to wait, by request family.",
    ["family"],
    buckets=BUDGET_BUCKETS,
)
WEBHOOK_DELIVERIES: Final = Counter(
    "directpost_webhook_deliveries",
    "TikTok webhook deliveries received, by outcome (applied, duplicate, rejected, too_large, "
    "client_gone, failed).",
    ["outcome"],
)


class TikTokMetrics:
    """The `gate.ExchangeObserver` that counts every TikTok request for Prometheus.

    Endpoint and outcome are DG-3's (`measures.endpoint_label`, `measures.outcome_of`), so the
    operator page and Prometheus name a request alike; the outcome's "error:<code>" is split
    into outcome "error" and the code as its own label.
    """

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        # Each series' children, kept: a `labels()` lookup costs more than the adds.
        self._series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def after_request(self, exchange: Exchange) -> None:
        endpoint = self._labels.get(exchange.url)
        if endpoint is None:
            endpoint = endpoint_label(exchange.url)
            if len(self._labels) < _LABEL_CACHE_MAX:
                self._labels[exchange.url] = endpoint
        outcome = outcome_of(exchange).split(":", 1)[0]
        code = "" if exchange.error_code == "ok" else exchange.error_code[:_CODE_MAX]
        key = (endpoint, outcome, code)
        series = self._series.get(key)
        if series is None:
            series = (
                TIKTOK_REQUESTS.labels(endpoint, outcome, code),
                TIKTOK_LATENCY.labels(endpoint, outcome),
            )
            if len(self._series) < _LABEL_CACHE_MAX:
                self._series[key] = series
        series[0].inc()
        series[1].observe(max(0.0, exchange.seconds))


#: The process's one observer (`wiring.build_services` gives it to every client's hooks).
TIKTOK_METRICS: Final = TikTokMetrics()


def record_budget_wait(family: str, seconds: float) -> None:
    """A request of `family` was told to wait `seconds` for its budget (`budgets.Budgets`)."""
    BUDGET_WAITS.labels(family).inc()
    BUDGET_WAIT_SECONDS.labels(family).observe(max(0.0, seconds))


def record_webhook_delivery(outcome: str) -> None:
    """A webhook delivery ended with `outcome` (`web.routes.webhooks`)."""
    WEBHOOK_DELIVERIES.labels(outcome).inc()
