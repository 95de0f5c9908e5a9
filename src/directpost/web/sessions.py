"""Server-side sessions for the web app (TOS-1): the cookie holds a random token, the data a row.

`ServerSessionMiddleware` replaces Starlette's signed-cookie sessions. `request.session` stays a
mutable mapping, so routes read and write it as before, but it is a `ServerSession`: it knows the
token from the cookie (HMAC-signed with the session secret, so changing the secret signs
everyone out) and reads its row (`store.sessions`) only when first used.

When the row is read, and why it costs the Post page nothing (issue 11's budget: 3 statements,
1 thread hop per render): pages that need the signed-in person read the session row together
with the person and their accounts in one statement, inside the thread hop they already make
(`session_person`: `deps.get_optional_person`, the Post page's `_read_for_render`). A
state-changing request loads it first in a thread for the CSRF check (`ensure_loaded`). Any
other first use loads it where it happens (a blocking primary-key read). There is no cache:
every request that uses the session reads the row, so a session ended on one process (deleted
row) is refused by every process at its very next request. A cache, however short, would let a
copied cookie work on other processes until it expired.

Writes happen once, when the response starts, and only when something changed: the data (compared
as JSON with what was read), a new token (a first use, or `clear()` / `regenerate()`: sign-in and
sign-out never keep the token), or the last use is older than `touch_interval` (idle timeout).
An update never re-creates a row that another process deleted meanwhile (sign-out wins).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime, timedelta
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directpost.store import accounts as store_accounts
from directpost.store import sessions as store
from directpost.store.accounts import Person
from directpost.store.base import utcnow

#: One in this many new sessions also removes the expired rows.
SWEEP_ONE_IN = 200


class SessionBackend:
    """Reads and writes session rows; the clock is injectable (tests)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        timeouts: store.Timeouts,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory = factory
        self.timeouts = timeouts
        self.clock = clock
        #: How stale `last_seen_at` may get before a request writes it again (a tenth of the
        #: idle timeout, at most a minute: a page view writes nothing most of the time).
        self.touch_interval = min(timedelta(minutes=1), timeouts.idle / 10)

    def read(
        self, db: Session, key: str
    ) -> tuple[store.WebSession | None, Person | None, datetime]:
        now = self.clock()
        row, person = store.read_session(db, key=key, timeouts=self.timeouts, now=now)
        return row, person, now

    def persist(self, web: ServerSession) -> None:
        """Write what changed (blocking: the middleware calls it in a worker thread)."""
        now = self.clock()
        with self.factory() as db, db.begin():
            if web.old_key is not None and web.rotated:
                store.end_session(db, key=web.old_key)
            if web.key is None:
                return
            if web.key == web.old_key:
                # An update only: a row ended meanwhile (sign-out elsewhere) stays ended.
                db.execute(
                    update(store.WebSession)
                    .where(store.WebSession.id == web.key)
                    .values(
                        data=dict(web.data),
                        person_id=_person_of(web.data),
                        last_seen_at=now,
                    )
                )
            else:
                store.save_session(db, key=web.key, data=dict(web.data), now=now)
                if random.randrange(SWEEP_ONE_IN) == 0:  # noqa: S311 - not a secret
                    store.delete_expired(db, timeouts=self.timeouts, now=now)


def _person_of(data: MutableMapping[str, Any]) -> int | None:
    value = data.get(store.PERSON_KEY)
    return value if isinstance(value, int) else None


def _as_json(data: MutableMapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


class ServerSession(MutableMapping[str, Any]):
    """`request.session`: the row's data, read on first use, written back when changed."""

    def __init__(self, backend: SessionBackend, token: str | None) -> None:
        self.backend = backend
        self.token = token
        #: The row key the request came with (None: no valid cookie).
        self.old_key = store.session_key(token) if token else None
        self.key = self.old_key
        self.data: dict[str, Any] = {}
        self.loaded = token is None  # nothing to read without a cookie
        self.rotated = False
        self.touch = False
        self._read_as = "{}"
        self.new_token: str | None = None

    # --- loading --------------------------------------------------------------------------

    def load_from(self, row: store.WebSession | None, now: datetime) -> None:
        """Take the row's data (None: unknown or expired, so a fresh, empty session)."""
        if self.loaded:
            return
        self.loaded = True
        if row is None:
            self.key = None  # a token is issued only if something is stored
            return
        self.data = dict(row.data or {})
        self._read_as = _as_json(self.data)
        self.touch = now - row.last_seen_at >= self.backend.touch_interval

    def load_with_person(self, db: Session) -> Person | None:
        """Read the row and its signed-in person (with accounts) in one statement."""
        assert self.old_key is not None
        row, person, now = self.backend.read(db, self.old_key)
        self.load_from(row, now)
        return person if self.loaded and self.key is not None else None

    def load_blocking(self) -> None:
        """Read the row in a short session of its own (blocking)."""
        if self.loaded or self.old_key is None:
            self.loaded = True
            return
        with self.backend.factory() as db:
            row, _person, now = self.backend.read(db, self.old_key)
            self.load_from(row, now)

    @property
    def ended(self) -> bool:
        """The browser sent a cookie whose session is over (ended on the server, or expired)."""
        return self.old_key is not None and self.loaded and self.key is None and not self.rotated

    def _data(self) -> dict[str, Any]:
        if not self.loaded:
            self.load_blocking()
        return self.data

    # --- ending and renewing --------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything: the row is deleted and the next write gets a new token."""
        self.loaded = True
        self.data = {}
        self.regenerate()

    def regenerate(self) -> None:
        """Keep the data under a new token (a copy of the old cookie stops working)."""
        self._data()
        self.rotated = True
        self.key = None

    # --- the mapping ----------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        return self._data()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._data()[name] = value

    def __delitem__(self, name: str) -> None:
        del self._data()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    # --- what the response must do --------------------------------------------------------

    def needs_write(self) -> bool:
        if not self.loaded:
            return False
        if self.rotated and self.old_key is not None:
            return True
        if self.key is None:
            return bool(self.data)
        return self.touch or _as_json(self.data) != self._read_as

    def prepare_write(self) -> None:
        """Choose the token for a session that has data but no row key yet."""
        if self.data and self.key is None:
            self.new_token = secrets.token_urlsafe(32)
            self.key = store.session_key(self.new_token)


class ServerSessionMiddleware:
    """Puts a `ServerSession` on every request and writes it back as the response starts."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        backend: SessionBackend,
        secret_key: str,
        session_cookie: str,
        max_age: int,
        same_site: str = "lax",
        https_only: bool = False,
    ) -> None:
        self.app = app
        self.backend = backend
        self.secret = secret_key.encode("utf-8")
        self.cookie = session_cookie
        self.max_age = max_age
        self.flags = f"path=/; httponly; samesite={same_site}" + ("; secure" if https_only else "")

    def _sign(self, token: str) -> str:
        mac = hmac.new(self.secret, token.encode("ascii"), hashlib.sha256).hexdigest()
        return f"{token}.{mac}"

    def _verified(self, value: str | None) -> str | None:
        if not value or value.count(".") != 1:
            return None
        token, _mac = value.split(".")
        if not token or not hmac.compare_digest(self._sign(token), value):
            return None
        return token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        presented = HTTPConnection(scope).cookies.get(self.cookie)
        web = ServerSession(self.backend, self._verified(presented))
        scope["session"] = web

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                if web.needs_write():
                    web.prepare_write()
                    # Shielded: a client that left must not leave a sign-out half done.
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(self.backend.persist, web)
                headers = MutableHeaders(scope=message)
                if web.new_token is not None:
                    value = self._sign(web.new_token)
                    headers.append(
                        "set-cookie", f"{self.cookie}={value}; max-age={self.max_age}; {self.flags}"
                    )
                elif presented and web.loaded and web.key is None:
                    # Ended, unknown or expired: the browser forgets the cookie too.
                    headers.append(
                        "set-cookie",
                        f"{self.cookie}=null; expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_session)


def server_session(request: Request) -> ServerSession | None:
    web = request.scope.get("session")
    return web if isinstance(web, ServerSession) else None


async def ensure_loaded(request: Request) -> None:
    """Read the session in a worker thread now (before code on the event loop uses it)."""
    web = server_session(request)
    if web is not None and not web.loaded:
        await anyio.to_thread.run_sync(web.load_blocking)


def session_person(db: Session, request: Request) -> Person | None:
    """The person this session signs in, with their accounts (blocking: call it in a thread).

    The first use of the session reads it with the person in one statement; a session read
    already costs one read of the person."""
    web = server_session(request)
    if web is not None and not web.loaded:
        return web.load_with_person(db)
    person_id = request.session.get(store.PERSON_KEY)
    if not isinstance(person_id, int):
        return None
    return store_accounts.get_person(db, person_id=person_id)


def end_other_sessions(db: Session, request: Request, *, person_id: int) -> None:
    """End every session of the person; this browser's goes on under a new token."""
    web = server_session(request)
    store.end_person_sessions(db, person_id=person_id, keep=web.old_key if web else None)
    if web is not None:
        web.regenerate()


def renew_session(request: Request) -> None:
    """Keep this session's data under a new token (after a sign-in: no fixation)."""
    web = server_session(request)
    if web is not None:
        web.regenerate()
