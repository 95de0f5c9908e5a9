"""`retry_after`: which failures are worth another try, and how long to wait."""

from __future__ import annotations

import random

from directpost.tiktok import (
    AccessTokenInvalidError,
    CreatorCannotPostError,
    InvalidParamsError,
    OAuthError,
    RateLimitedError,
    ServerError,
    TransportError,
    error_for,
    retry_after,
)


def test_transient_failures_back_off_exponentially_with_a_cap_and_jitter() -> None:
    rng = random.Random(7)
    err = ServerError(http_status=503, code="internal_error")
    delays = [retry_after(err, n, max_attempts=20, rng=rng) for n in range(1, 12)]
    assert all(d is not None for d in delays)
    steps = [min(30.0, 0.5 * 2 ** (n - 1)) for n in range(1, 12)]
    assert all(s / 2 <= d <= s for d, s in zip(delays, steps, strict=True))  # type: ignore[operator]
    assert max(d for d in delays if d is not None) <= 30.0
    assert retry_after(TransportError("reset"), 1) is not None


def test_rate_limits_wait_longer_than_server_errors() -> None:
    limited = RateLimitedError(http_status=429, code="rate_limit_exceeded")
    delay = retry_after(limited, 1, rng=random.Random(1))
    assert delay is not None and delay >= 5.0


def test_failures_that_a_retry_cannot_fix_are_not_retried() -> None:
    for error in (
        AccessTokenInvalidError(http_status=401, code="access_token_invalid"),
        InvalidParamsError(http_status=400, code="invalid_params"),
        CreatorCannotPostError(http_status=200, code="spam_risk_too_many_posts"),
        OAuthError(error="invalid_grant", http_status=400),
        ValueError("not ours"),
    ):
        assert retry_after(error, 1) is None


def test_retries_stop_after_max_attempts() -> None:
    err = ServerError(http_status=500, code="internal_error")
    assert retry_after(err, 3, max_attempts=4) is not None
    assert retry_after(err, 4, max_attempts=4) is None


def test_error_for_maps_unknown_codes_by_status() -> None:
    assert type(error_for(503, "weird")) is ServerError
    assert type(error_for(429, "weird")) is RateLimitedError
    assert type(error_for(200, "reached_active_user_cap")) is CreatorCannotPostError
    assert error_for(500, "internal_error").retryable
    assert not error_for(400, "invalid_param").retryable
