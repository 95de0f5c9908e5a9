"""The gate every TikTok request of the app passes (TOS-2), and the observers that watch them.

`TikTokHooks` is the `RequestHooks` the composition root gives every TikTok client it builds:
before each request it reads the lockdown switch in the database (`store.lockdown.SwitchReader`)
and refuses with `LockdownActive` when it is on, so a lockdown started by any process on any
machine stops every `serve` and `worker` process at their very next request, mid-job included.
After each request it tells its observers what TikTok answered (DG-3's figures).

The read is synchronous on the caller's thread, the event loop's too: one indexed read of a
table of a few rows on the thread's own connection (`store.lockdown.SwitchReader`), cheaper than
the thread hop that would avoid it, and a lockdown must not wait for a cache to expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine

from directpost.store.lockdown import SwitchReader
from directpost.tiktok import Exchange


class LockdownActive(Exception):
    """The operator stopped all traffic to TikTok (`directpost lockdown`): nothing was sent."""

    def __init__(self) -> None:
        super().__init__(
            "Publishing to TikTok is stopped: the app's operator turned on a lockdown. "
            "Nothing was sent to TikTok."
        )


class ExchangeObserver(Protocol):
    """Something told of every request sent to TikTok (a counter, not a gate)."""

    def after_request(self, exchange: Exchange) -> None: ...


class TikTokHooks:
    """The app's `RequestHooks`: the lockdown gate, then the observers."""

    def __init__(
        self,
        engine: Engine | None,
        observers: Sequence[ExchangeObserver] = (),
    ) -> None:
        #: None: no gate (the lockdown command itself, which revokes the tokens).
        self._switch = SwitchReader(engine) if engine is not None else None
        self._observers = tuple(observers)

    def before_request(self, method: str, url: str) -> None:
        if self._switch is not None and self._switch.locked():
            raise LockdownActive()

    def after_request(self, exchange: Exchange) -> None:
        for observer in self._observers:
            observer.after_request(exchange)

    def close(self) -> None:
        """Close the switch reader's connections (the end of the process's services)."""
        if self._switch is not None:
            self._switch.close()
