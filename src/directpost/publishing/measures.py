"""The app measures itself (DG-3): what TikTok answers, how fast, and how fast pages render.

`MeasureRecorder` is an observer of every TikTok request (`gate.TikTokHooks` calls its
`after_request`) and takes page timings (`record`). It adds each event to an in-memory table
keyed by (minute, name, label, outcome): a lock and a dict update on the request's path, no
database write, so measuring costs next to nothing per request or render. A daemon thread
adds that table to the database's (`store.measures.merge_measures`, an upsert that adds) about
every `flush_every_s`, and `close()` (a process's end: `Services.aclose`, `Worker.stop`) adds
the rest. Many processes write into the same rows; none reads them first.

What a request's outcome is, as the operator page counts it:
- "ok": TikTok answered 2xx;
- "error:<code>": TikTok answered with an error code of its own (4xx, e.g. `spam_risk_…`);
- "http_<status>": a 4xx without a code;
- "http_5xx": TikTok answered with a server error (whatever its body says);
- "no_answer": no answer came (refused, timed out, dropped).
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
import weakref
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy import Engine

from directpost.store.measures import (
    BUCKET_COLUMNS,
    LATENCY_BOUNDS_S,
    MeasureRow,
    merge_measures,
    prune_measures,
)
from directpost.tiktok import Exchange

log = logging.getLogger(__name__)

#: What is measured: requests to TikTok, and page renders.
TIKTOK = "tiktok"
PAGE = "page"
#: The label of every request to TikTok's upload host (its URLs carry per-upload ids).
UPLOAD = "upload"
#: Minutes kept in the database (the page shows a week at most).
KEEP_MINUTES = 8 * 24 * 60
_PRUNE_EVERY_S = 3600.0
_LABEL_CACHE_MAX = 256
_BUCKETS = len(BUCKET_COLUMNS)

_Key = tuple[int, str, str, str]


def endpoint_label(url: str) -> str:
    """The endpoint a request went to, as the charts name it: the API path for TikTok's API
    and OAuth endpoints (`/v2/post/publish/status/fetch/`), "upload" for the upload host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    if host.startswith("open-upload.") or path.startswith("/upload"):
        return UPLOAD
    if not path.endswith("/"):
        path += "/"
    return path[:120]


def outcome_of(exchange: Exchange) -> str:
    """How a request ended (see the module's docstring)."""
    status = exchange.status
    if status is None:
        return "no_answer"
    if 200 <= status < 300:
        return "ok"
    if status >= 500:
        return "http_5xx"
    if exchange.error_code and exchange.error_code != "ok":
        return ("error:" + exchange.error_code)[:80]
    return f"http_{status}"


class _Tally:
    """One key's count, latency sum and histogram (mutated under the recorder's lock)."""

    __slots__ = ("buckets", "count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * _BUCKETS

    def add(self, seconds: float) -> None:
        self.count += 1
        self.seconds += seconds
        self.buckets[bisect.bisect_left(LATENCY_BOUNDS_S, seconds)] += 1

    def merge(self, other: _Tally) -> None:
        self.count += other.count
        self.seconds += other.seconds
        for index, value in enumerate(other.buckets):
            self.buckets[index] += value


#: Every recorder not closed yet, so a worker's stop can flush the one its services built.
_LIVE: weakref.WeakSet[MeasureRecorder] = weakref.WeakSet()


class MeasureRecorder:
    """Counts and latencies per minute in memory, added to the database now and then."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._flush_every_s = flush_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[_Key, _Tally] = {}
        self._labels: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = 0.0
        _LIVE.add(self)

    # --- on the request's path: a lock and a dict update ------------------------------------

    def after_request(self, exchange: Exchange) -> None:
        """A request to TikTok was sent (the `ExchangeObserver` of `gate.TikTokHooks`)."""
        label = self._labels.get(exchange.url)
        if label is None:
            label = endpoint_label(exchange.url)
            if len(self._labels) < _LABEL_CACHE_MAX:
                self._labels[exchange.url] = label
        self.record(TIKTOK, label, exchange.seconds, outcome_of(exchange))

    def record(self, name: str, label: str, seconds: float, outcome: str = "ok") -> None:
        """Count one event of `name`/`label` that took `seconds` (a page render, a request)."""
        key = (int(self._clock() // 60), name, label, outcome)
        with self._lock:
            tally = self._pending.get(key)
            if tally is None:
                tally = self._pending[key] = _Tally()
                if self._thread is None and not self._stop.is_set():
                    self._start_flusher()
            tally.add(seconds)

    # --- off the request's path ------------------------------------------------------------

    def _start_flusher(self) -> None:
        # Started with the first event, so a process that measures nothing has no thread.
        self._thread = threading.Thread(target=self._run, name="measures-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_every_s):
            self.flush()

    def pending_count(self) -> int:
        """How many events are held in memory, not yet in the database."""
        with self._lock:
            return sum(tally.count for tally in self._pending.values())

    def flush(self) -> bool:
        """Add what is held to the database's rows; True when nothing is left held.

        A failed write keeps the events for the next flush (the database may be back then);
        it never raises: measuring must not break the work it measures.
        """
        with self._lock:
            taken, self._pending = self._pending, {}
        if not taken:
            return True
        rows = [
            MeasureRow(
                minute=key[0],
                name=key[1],
                label=key[2],
                outcome=key[3],
                count=tally.count,
                seconds_sum=tally.seconds,
                buckets=tuple(tally.buckets),
            )
            for key, tally in taken.items()
        ]
        try:
            merge_measures(self._engine, rows)
            self._prune_now_and_then()
        except Exception as exc:  # one line, not a traceback every half minute
            log.warning(
                "writing %d measure rows failed (%s); keeping them for the next try",
                len(rows),
                type(exc).__name__,
            )
            with self._lock:
                for key, tally in taken.items():
                    self._pending.setdefault(key, _Tally()).merge(tally)
            return False
        return True

    def _prune_now_and_then(self) -> None:
        now = self._clock()
        if now - self._pruned_at >= _PRUNE_EVERY_S:
            self._pruned_at = now
            prune_measures(self._engine, before_minute=int(now // 60) - KEEP_MINUTES)

    def close(self) -> None:
        """Stop the flushing thread and add what is left (the process's end)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        self.flush()
        _LIVE.discard(self)


def flush_all() -> None:
    """Flush every recorder of this process (a worker's graceful stop: its services are not
    closed by anyone else)."""
    for recorder in list(_LIVE):
        recorder.flush()
