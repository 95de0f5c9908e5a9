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
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from directpost.config import Settings
from directpost.publishing.telemetry import record_budget_wait

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


#: Record one request unless `limit` are already in the window: one statement. On SQLite a
#: writing statement takes the database's single writer lock before it reads, so the count and
#: the insert cannot interleave with another writer's; on PostgreSQL the caller holds the key's
#: advisory lock first (READ COMMITTED would let two inserts each count the other's absence).
_DB_RESERVE: Final = text(
    "INSERT INTO rate_budget_hits (key, at) "
    "SELECT CAST(:key AS VARCHAR(200)), CAST(:now AS DOUBLE PRECISION) WHERE ("
    "SELECT count(*) FROM rate_budget_hits WHERE key = :key AND at > :since) < :limit "
    "RETURNING id"
)
_DB_LOCK: Final = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_DB_TIMES: Final = text(
    "SELECT at FROM rate_budget_hits WHERE key = :key AND at > :since ORDER BY at"
)
_DB_SETTLE: Final = text(
    "UPDATE rate_budget_hits SET at = :now WHERE id = :id AND key = :key AND at < :now"
)
_DB_FORGET: Final = text("DELETE FROM rate_budget_hits WHERE at <= :before")
_DB_COUNT: Final = text("SELECT count(*) FROM rate_budget_hits WHERE key = :key AND at > :since")
#: Requests that left every window are deleted once per this many reservations of a process
#: (they no longer count either way; deleting them on every call cost a statement per call).
FORGET_EVERY: Final = 200


class DatabaseBudgetBackend:
    """Budgets as rows in the app's database (SQLite or PostgreSQL), one row per request.

    A reservation is one short transaction of one statement (two on PostgreSQL: the key's
    advisory lock, then the guarded insert); settling is one update. No ORM objects: on SQLite
    this code path was 39 % of a worker's CPU when each call built a session, flushed an
    object, deleted old rows and read the window back.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        engine = factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("DatabaseBudgetBackend needs a sessionmaker bound to an Engine")
        self._engine = engine
        self._locks = engine.dialect.name == "postgresql"
        self._calls = 0

    def reserve(self, key: str, limit: int, window_s: float, now: float) -> float:
        return self.reserve_ticket(key, limit, window_s, now)[0]

    def reserve_ticket(
        self, key: str, limit: int, window_s: float, now: float, *, within: Session | None = None
    ) -> tuple[float, str | None]:
        """`reserve`, also returning the recorded request's id (for `settle`) when allowed.

        `within`: a session whose transaction the reservation joins (it stands or falls with
        that transaction, and costs no transaction of its own: on SQLite each one is a turn
        at the single writer lock)."""
        since = now - window_s
        self._calls += 1
        with self._transaction(within) as conn:
            if self._calls % FORGET_EVERY == 0:
                conn.execute(_DB_FORGET, {"before": since})
            if self._locks:
                conn.execute(_DB_LOCK, {"key": key})
            row = conn.execute(
                _DB_RESERVE, {"key": key, "now": now, "since": since, "limit": limit}
            ).first()
            if row is not None:
                return 0.0, str(row[0])
            times = list(conn.execute(_DB_TIMES, {"key": key, "since": since}).scalars())
        if len(times) < limit:  # the window moved between the two statements: ask again
            return 0.01, None
        # The request becomes possible when enough of the oldest ones leave the window.
        return max(0.01, times[len(times) - limit] + window_s - now), None

    def settle(self, key: str, ticket: str, now: float, *, within: Session | None = None) -> None:
        """Move a recorded request to `now` (when its answer came back), never earlier."""
        with self._transaction(within) as conn:
            conn.execute(_DB_SETTLE, {"id": int(ticket), "key": key, "now": now})

    @contextlib.contextmanager
    def _transaction(self, within: Session | None) -> Iterator[Connection]:
        if within is not None:
            yield within.connection()
        else:
            with self._engine.begin() as conn:
                yield conn

    def spent(self, key: str, window_s: float, now: float) -> int:
        """How many requests `key` has spent in the window ending `now` (for tests, pages)."""
        with self._engine.connect() as conn:
            return int(conn.execute(_DB_COUNT, {"key": key, "since": now - window_s}).scalar_one())


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
        self, key: str, limit: int, window_s: float, now: float, *, within: Session | None = None
    ) -> tuple[float, str | None]:
        """`reserve`, also returning the recorded request's member (for `settle`) when allowed.
        (`within` is for the database backend's sake: Redis has no part in its transaction.)"""
        self._counter += 1
        member = f"{now:.6f}:{time.monotonic_ns()}:{self._counter}:{uuid.uuid4().hex[:8]}"
        answer = self._script(keys=[self._prefix + key], args=[limit, window_s, now, member])
        wait = float(answer.decode() if isinstance(answer, bytes) else answer)
        return (0.0, member) if wait <= 0 else (max(0.01, wait), None)

    def settle(self, key: str, ticket: str, now: float, *, within: Session | None = None) -> None:
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
        #: Whether reservations and settles can join the caller's database transaction.
        self.joins_transactions = isinstance(backend, DatabaseBudgetBackend)
        self.limits = dict(LIMITS if limits is None else limits)
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep

    def key(self, token_key: str, family: str) -> str:
        return f"{family}:{token_key}"

    def try_spend(self, token_key: str, family: str) -> float:
        """Spend one request now if the budget allows (0.0), else the seconds to wait."""
        wait = self.backend.reserve(
            self.key(token_key, family), self.limits[family], self.window_s, self._clock()
        )
        if wait > 0:
            record_budget_wait(family, wait)
        return wait

    def try_reserve(
        self, token_key: str, family: str, *, within: Session | None = None
    ) -> tuple[float, Ticket | None]:
        """Like `try_spend`, also returning a ticket to `settle` once the request's answer is
        back. Backends without tickets answer None (their record stays at the send time).
        `within`: the caller's open transaction, which a database backend joins."""
        key = self.key(token_key, family)
        limit, now = self.limits[family], self._clock()
        reserve_ticket = getattr(self.backend, "reserve_ticket", None)
        if reserve_ticket is None:
            wait, ticket = self.backend.reserve(key, limit, self.window_s, now), None
        else:
            wait, ticket = reserve_ticket(key, limit, self.window_s, now, within=within)
        if wait > 0:
            record_budget_wait(family, wait)  # the caller waits, or gives the worker back
        return float(wait), (Ticket(key, str(ticket)) if ticket is not None else None)

    def settle(self, ticket: Ticket, *, within: Session | None = None) -> None:
        """Record the request at the moment its answer came back (CAP-4).

        The request may have reached TikTok any time between the reservation and the answer;
        TikTok's window counts from when it arrived. Under load that can be seconds after the
        reservation, so counting from the answer keeps our window behind TikTok's, never ahead
        (a 7th request would otherwise be sent when TikTok still counts 6).
        """
        settle = getattr(self.backend, "settle", None)
        if settle is not None:
            settle(ticket.key, ticket.ticket, self._clock(), within=within)

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
