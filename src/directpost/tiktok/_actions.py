"""What a sans-I/O operation can ask of its driver besides sending a request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds (the driver's injectable sleep)."""

    seconds: float


@dataclass(frozen=True)
class Acquire:
    """Take one request of `family` from the rate budget of the token `key` (waiting if needed)."""

    family: str
    key: str
