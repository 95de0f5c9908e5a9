"""A publish worker process for the graceful-shutdown tests: the real `Worker` and the real
SIGTERM handling of `directpost worker` (`serve_until_signal`), with test timings.

Run as `python -m tests.publishing.graceful_worker THREADS GRACE_S`; settings come from
DIRECTPOST_* in the environment. Exit 0: every running job reached a safe point in time.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from datetime import timedelta

from directpost.config import Settings
from directpost.logs import configure_logging
from directpost.publishing.worker import Worker, context_from_settings, serve_until_signal
from tests.publishing.timing import FAST

#: The bench's short waits (`tests/publishing/timing.py`), except: budget waits of up to two
#: minutes happen inside the job (so a job is caught waiting when the stop comes), and claims
#: and leases last a few seconds.
GRACEFUL_TIMING = replace(
    FAST,
    claim_ttl=timedelta(seconds=5),
    lease_ttl=timedelta(seconds=5),
    inline_wait_s=120.0,
    max_tries=40,
)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    grace_s = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
    configure_logging(logging.INFO, fmt="json")
    settings = Settings(_env_file=None)
    ctx = context_from_settings(settings, timing=replace(GRACEFUL_TIMING), threads=threads)
    worker = Worker(
        ctx=ctx, threads=threads, sweep_interval_s=0.2, enqueue_grace=timedelta(seconds=5)
    ).start()
    print("worker ready", flush=True)
    sys.exit(0 if serve_until_signal(worker, grace_s=grace_s) else 1)


if __name__ == "__main__":
    main()
