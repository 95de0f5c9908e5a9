"""Per-token request budgets, so callers wait for their turn instead of spending a 429.

TikTok's documented limits per user access token, on a one-minute sliding window:
creator_info 20, each init 6, status fetch 30 (tiktok-api-v2-rate-limit,
content-posting-api-reference-*). The bookkeeping sits behind `BudgetBackend`, so the app can
share one budget between processes (a database table or Redis) instead of this process's memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

DEFAULT_LIMITS: Mapping[str, int] = {"creator_info": 20, "init": 6, "status": 30}


def budget_key(access_token: str) -> str:
    """A stable, non-secret key for a token's budget (never store raw tokens in a budget)."""
    return hashlib.sha256(access_token.encode()).hexdigest()[:32]


class BudgetBackend(Protocol):
    """Storage for sliding-window request logs, shared by everyone who spends the budget."""

    def reserve(self, key: str, limit: int, window_s: float, now: float) -> float:
        """Record one request at `now` if fewer than `limit` happened in the last `window_s`.

        Returns 0.0 when recorded, else the seconds until a slot frees (nothing recorded).
        Must be atomic per key.
        """
        ...


class InMemoryBudgetBackend:
    """A `BudgetBackend` in this process's memory (one process, any number of threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: dict[str, deque[float]] = {}

    def reserve(self, key: str, limit: int, window_s: float, now: float) -> float:
        """See `BudgetBackend.reserve`."""
        with self._lock:
            log = self._log.setdefault(key, deque())
            while log and log[0] <= now - window_s:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                return 0.0
            return max(log[0] + window_s - now, 1e-3)


class RateBudget:
    """Per-token budgets by family ("creator_info", "init", "status") on a sliding window."""

    def __init__(
        self,
        *,
        limits: Mapping[str, int] | None = None,
        window: float = 60.0,
        backend: BudgetBackend | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.window = window
        self.backend: BudgetBackend = backend if backend is not None else InMemoryBudgetBackend()
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep

    def _limit(self, family: str) -> int:
        try:
            return self.limits[family]
        except KeyError:
            known = ", ".join(sorted(self.limits))
            raise ValueError(f"unknown budget family {family!r}; known: {known}") from None

    def try_acquire(self, token_key: str, family: str) -> float:
        """Take one request from the budget: 0.0 if taken, else seconds until one is free."""
        limit = self._limit(family)
        return self.backend.reserve(f"{family}:{token_key}", limit, self.window, self._clock())

    def acquire(self, token_key: str, family: str) -> None:
        """Wait (with the injected `sleep`) until one request is taken from the budget."""
        while (wait := self.try_acquire(token_key, family)) > 0:
            self._sleep(wait)

    async def acquire_async(self, token_key: str, family: str) -> None:
        """`acquire` for asyncio code."""
        while (wait := self.try_acquire(token_key, family)) > 0:
            await self._async_sleep(wait)
