"""When to send the same request again: one small pure function.

Only idempotent calls are retried (creator_info, user info, status fetch, cancel, revoke, chunk
PUTs). Publish inits (video, inbox, photo) are never retried by the library: TikTok has no
idempotency key, so a second init after a lost answer could publish the same post twice
(architecture.md, "No duplicate posts"). The caller decides, after making the first attempt
harmless. Token exchange and refresh are not retried either: codes are single use and refresh
tokens may rotate, so a replay can burn the only valid refresh token.
"""

from __future__ import annotations

import random

from ._errors import RateLimitedError, TikTokError

BASE_DELAY = 0.5
MAX_DELAY = 30.0
RATE_LIMIT_DELAY = 10.0
"""A 429 means the sliding minute is full: back off in larger steps."""
MAX_ATTEMPTS = 4


def retry_after(
    error: BaseException,
    attempt: int,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when retrying cannot help.

    `attempt` counts the failures so far (1 after the first). Capped exponential backoff with
    "full jitter" between half and all of the step, so many workers do not retry in step.
    """
    if not isinstance(error, TikTokError) or not error.retryable or attempt >= max_attempts:
        return None
    base = RATE_LIMIT_DELAY if isinstance(error, RateLimitedError) else BASE_DELAY
    step: float = min(MAX_DELAY, base * 2.0 ** max(0, attempt - 1))
    r = (rng or random).random()  # jitter, not a secret
    return step * (0.5 + 0.5 * r)
