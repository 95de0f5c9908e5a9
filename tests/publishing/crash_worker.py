"""A publish worker process for the crash suite: the real `Worker`, with test timings.

Run as `python -m tests.publishing.crash_worker THREADS`; settings come from DIRECTPOST_* in
the environment, like `directpost worker`. The suite kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import replace
from datetime import timedelta

from directpost.config import Settings
from directpost.publishing.worker import Worker, context_from_settings
from tests.publishing.timing import FAST

CRASH_TIMING = replace(
    FAST, claim_ttl=timedelta(seconds=2), lease_ttl=timedelta(seconds=2), max_tries=40
)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    settings = Settings(_env_file=None)
    ctx = context_from_settings(settings, timing=replace(CRASH_TIMING), threads=threads)
    worker = Worker(
        ctx=ctx,
        threads=threads,
        sweep_interval_s=0.2,
        enqueue_grace=timedelta(seconds=3),
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("worker ready", flush=True)
    stop.wait()
    worker.stop()


if __name__ == "__main__":
    main()
