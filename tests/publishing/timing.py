"""The publish jobs' short waits for tests (TikTok's own limits are never shortened), in a
module of their own so a worker process started by a test can use them without loading the
web app (tests/publishing/harness.py does)."""

from __future__ import annotations

from datetime import timedelta

from directpost.publishing.pipeline import Timing

#: Short waits for tests; TikTok's limits themselves are never shortened.
FAST = Timing(
    claim_ttl=timedelta(seconds=3),
    lease_ttl=timedelta(seconds=3),
    lease_busy_retry=timedelta(seconds=0.05),
    retry_base_s=0.05,
    retry_max_s=0.5,
    poll_first_s=0.05,
    poll_base_s=0.05,
    poll_max_s=0.5,
    inline_wait_s=5.0,
    max_tries=6,
)
