"""Does our media service answer? Asked by a worker before it starts a pull publish (TECH-2).

TikTok downloads a pull publish's media from our public URL as soon as the init is accepted; if
the app that serves it is down (restarting, overloaded, its proxy failing), TikTok reports the
pull failed and the creator would be told to publish again. So before an init the worker asks
the media URL prefix itself a question only our media route answers in a known way (a 404 with
its own words for a path that is never a token), and holds its posts while the answer is
anything else.

The answer is kept for a few seconds (`up_for_s`, `down_for_s`), so a burst of starts asks once,
and a job waits at most one short question (`timeout_s`). Shared by a worker's threads, each
with its own event loop: the cache is guarded by a lock and each question uses its own client.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable

import httpx2

from directpost.media.urls import CHECK_PATH, MEDIA_PATH_PREFIX, NOT_SERVED_TEXT

log = logging.getLogger(__name__)


class MediaServiceCheck:
    """Whether the media service answers at `base_url` (the media URL prefix TikTok pulls
    from, or the operator's `media_check_url`)."""

    def __init__(
        self,
        base_url: str,
        *,
        up_for_s: float = 2.0,
        down_for_s: float = 1.0,
        timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}{MEDIA_PATH_PREFIX}{CHECK_PATH}"
        self._up_for_s = up_for_s
        self._down_for_s = down_for_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: bool | None = None
        self._until = 0.0
        # Made once: building a TLS context costs ~25 ms of CPU, and each question has its
        # own client (the worker's threads each run their own event loop).
        self._tls = ssl.create_default_context()

    async def answering(self) -> bool:
        """The kept answer while it is fresh, else a new question (at most `timeout_s`)."""
        with self._lock:
            if self._answer is not None and self._clock() < self._until:
                return self._answer
        up, why = await self._ask()
        with self._lock:
            if up != self._answer:
                if up:
                    log.info("the media service answers again at %s", self.url)
                elif self._answer is not False:
                    log.warning(
                        "the media service does not answer at %s (%s): pull publishes wait "
                        "until it does. If this machine cannot reach its own public address, "
                        "set DIRECTPOST_MEDIA_CHECK_URL to an internal address of the app, or "
                        "to 'off'",
                        self.url,
                        why,
                    )
            self._answer = up
            self._until = self._clock() + (self._up_for_s if up else self._down_for_s)
        return up

    async def _ask(self) -> tuple[bool, str]:
        try:
            async with httpx2.AsyncClient(
                timeout=self._timeout_s, trust_env=False, verify=self._tls
            ) as client:
                answer = await client.get(self.url)
        except httpx2.HTTPError as exc:
            return False, type(exc).__name__
        if answer.status_code == 404 and answer.text == NOT_SERVED_TEXT:
            return True, ""
        return False, f"HTTP {answer.status_code}"


def media_check_for(media_base_url: str, check_url: str) -> MediaServiceCheck | None:
    """The check a worker runs, from the settings: None when the operator turned it off."""
    setting = check_url.strip()
    if setting.lower() == "off":
        return None
    return MediaServiceCheck(setting or media_base_url)
