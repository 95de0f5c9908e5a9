"""Per-token request budgets shared by every process (CAP-4): limits are budgets, not errors.

TikTok allows, per user access token and sliding minute, 20 creator_info calls, 6 inits and 30
status fetches (spec §5.1). Every worker and web process spends from the same budget, kept in
the database (embedded size) or in Redis (at scale). A caller asks for one request; the backend
either records it at once (answer 0) or says how many seconds to wait. Nobody spends a 429.

The backends fit the client library's `BudgetBackend` protocol
(`reserve(key, limit, window_s, now) -> float`), so they can also back `tiktok.RateBudget`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from directpost.config import Settings
from directpost.store.posts import RateBudgetHit

#: TikTok's documented per-token limits per sliding minute (spec §5.1).
LIMITS: Final[dict[str, int]] = {"creator_info": 20, "init": 6, "status": 30}
WINDOW_S: Final = 60.0
#: Extra seconds kept between our window and TikTok's. Network time is already on our side (a
#: request counts from when its answer came back, see `Budgets.settle`, so never before TikTok
#: saw it); this margin covers a clock that runs slightly fast or slow over a minute.
SAFETY_S: Final = 0.25


class BudgetBackend(Protocol):
    """Records one request in a sliding window, or says how long until one is allowed."""

    def reserve(self, key: str, limit: int, window_s: float, now: float) -> float: ...


class DatabaseBudgetBackend:
    """Budgets as rows in the app's database (SQLite or PostgreSQL), one row per request.

    Serialised per key: on PostgreSQL by a transaction-scoped advisory lock; on SQLite by
    writing first (a write takes the database's single writer lock before anything is read).
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def reserve(self, key: str, limit: int, window_s: float, now: float) -> float:
        return self.reserve_ticket(key, limit, window_s, now)[0]

    def reserve_ticket(
        self, key: str, limit: int, window_s: float, now: float
    ) -> tuple[float, str | None]:
        """`reserve`, also returning the recorded request's id (for `settle`) when allowed."""
        with self._factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
            mine = RateBudgetHit(key=key, at=now)
            session.add(mine)
            session.flush()
            session.execute(
                delete(RateBudgetHit).where(
                    RateBudgetHit.key == key, RateBudgetHit.at <= now - window_s
                )
            )
            times = list(
                session.scalars(
                    select(RateBudgetHit.at)
                    .where(
                        RateBudgetHit.key == key,
                        RateBudgetHit.at > now - window_s,
                        RateBudgetHit.id != mine.id,
                    )
                    .order_by(RateBudgetHit.at)
                )
            )
            if len(times) < limit:
                return 0.0, str(mine.id)
            session.delete(mine)
            # The request becomes possible when enough of the oldest ones leave the window.
            return max(0.01, times[len(times) - limit] + window_s - now), None

    def settle(self, key: str, ticket: str, now: float) -> None:
        """Move a recorded request to `now` (when its answer came back), never earlier."""
        with self._factory() as session, session.begin():
            session.execute(
                update(RateBudgetHit)
                .where(
                    RateBudgetHit.id == int(ticket),
                    RateBudgetHit.key == key,
                    RateBudgetHit.at < now,
                )
                .values(at=now)
            )

    def spent(self, key: str, window_s: float, now: float) -> int:
        """How many requests `key` has spent in the window ending `now` (for tests, pages)."""
        with self._factory() as session:
            count = session.scalar(
                select(func.count())
                .select_from(RateBudgetHit)
                .where(RateBudgetHit.key == key, RateBudgetHit.at > now - window_s)
            )
            return int(count or 0)


_REDIS_RESERVE: Final = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local member = ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisBudgetBackend:
    """Budgets as Redis sorted sets; one Lua script makes check-and-record atomic."""

    def __init__(self, url: str, *, prefix: str = "directpost:budget:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_REDIS_RESERVE)
        self._prefix = prefix
        self._counter = 0

    def reserve(self, key: str, limit: int, window_s: float, now: float) -> float:
        return self.reserve_ticket(key, limit, window_s, now)[0]

    def reserve_ticket(
        self, key: str, limit: int, window_s: float, now: float
    ) -> tuple[float, str | None]:
        """`reserve`, also returning the recorded request's member (for `settle`) when allowed."""
        self._counter += 1
        member = f"{now:.6f}:{time.monotonic_ns()}:{self._counter}:{uuid.uuid4().hex[:8]}"
        answer = self._script(keys=[self._prefix + key], args=[limit, window_s, now, member])
        wait = float(answer.decode() if isinstance(answer, bytes) else answer)
        return (0.0, member) if wait <= 0 else (max(0.01, wait), None)

    def settle(self, key: str, ticket: str, now: float) -> None:
        """Move a recorded request to `now` (when its answer came back); XX: only if still kept."""
        self._redis.zadd(self._prefix + key, {ticket: now}, xx=True, gt=True)


@dataclass(frozen=True, slots=True)
class Ticket:
    """One request recorded in a budget, to be moved to the time its answer came back."""

    key: str
    ticket: str


class Budgets:
    """Waits for a request's budget before it is made (CAP-4), shared through a backend."""

    def __init__(
        self,
        backend: BudgetBackend,
        *,
        limits: dict[str, int] | None = None,
        window_s: float = WINDOW_S + SAFETY_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backend = backend
        self.limits = dict(LIMITS if limits is None else limits)
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep

    def key(self, token_key: str, family: str) -> str:
        return f"{family}:{token_key}"

    def try_spend(self, token_key: str, family: str) -> float:
        """Spend one request now if the budget allows (0.0), else the seconds to wait."""
        return self.backend.reserve(
            self.key(token_key, family), self.limits[family], self.window_s, self._clock()
        )

    def try_reserve(self, token_key: str, family: str) -> tuple[float, Ticket | None]:
        """Like `try_spend`, also returning a ticket to `settle` once the request's answer is
        back. Backends without tickets answer None (their record stays at the send time)."""
        key = self.key(token_key, family)
        limit, now = self.limits[family], self._clock()
        reserve_ticket = getattr(self.backend, "reserve_ticket", None)
        if reserve_ticket is None:
            return self.backend.reserve(key, limit, self.window_s, now), None
        wait, ticket = reserve_ticket(key, limit, self.window_s, now)
        return float(wait), (Ticket(key, str(ticket)) if ticket is not None else None)

    def settle(self, ticket: Ticket) -> None:
        """Record the request at the moment its answer came back (CAP-4).

        The request may have reached TikTok any time between the reservation and the answer;
        TikTok's window counts from when it arrived. Under load that can be seconds after the
        reservation, so counting from the answer keeps our window behind TikTok's, never ahead
        (a 7th request would otherwise be sent when TikTok still counts 6).
        """
        settle = getattr(self.backend, "settle", None)
        if settle is not None:
            settle(ticket.key, ticket.ticket, self._clock())

    async def spend(self, token_key: str, family: str) -> None:
        """Wait until one request of `family` is allowed for this token, and record it."""
        while True:
            wait = await asyncio.to_thread(self.try_spend, token_key, family)
            if wait <= 0:
                return
            await self._sleep(wait)


def budgets_from_settings(settings: Settings, factory: sessionmaker[Session]) -> Budgets:
    """Redis budgets when `budget_url` is set, else budgets in the app's database."""
    backend: BudgetBackend
    if settings.budget_url:
        backend = RedisBudgetBackend(settings.budget_url)
    else:
        backend = DatabaseBudgetBackend(factory)
    return Budgets(backend)
