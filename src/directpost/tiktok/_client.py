"""`TikTokClient` (sync) and `AsyncTikTokClient`: thin drivers over the shared operations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Literal, Self

from ._actions import Acquire, Sleep
from ._base import FileArg, ProgressFn, T, _Base
from ._budget import RateBudget
from ._errors import TransportError
from ._hooks import RequestHooks
from ._http import AsyncHTTP, AsyncTransport, Response, SyncHTTP, Transport
from ._models import (
    CreatorInfo,
    PhotoPostInfo,
    PhotoSource,
    PublishInit,
    PublishStatus,
    Token,
    UserInfo,
    VideoPostInfo,
    VideoSource,
)
from ._ops import Backoff, Op, utc_now


class TikTokClient(_Base):
    """Synchronous client for Login Kit, User Info and the Content Posting API.

    Point it at the emulator with `auth_base_url`/`api_base_url`, or inject a `transport`.
    Idempotent calls are retried up to `max_retries` times; publish inits never are. With a
    `budget`, creator_info, inits and status fetches wait for the token's rate budget first.
    With `hooks`, every request passes `before_request` (which may refuse it) and reports to
    `after_request` (see `RequestHooks`). Proxy settings from the environment are ignored; inject a `transport` to use a proxy.
    """

    def __init__(
        self,
        *,
        client_key: str,
        client_secret: str,
        auth_base_url: str = "https://www.tiktok.com",
        api_base_url: str = "https://open.tiktokapis.com",
        transport: Transport | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
        budget: RateBudget | None = None,
        hooks: RequestHooks | None = None,
    ) -> None:
        super().__init__(
            client_key=client_key,
            client_secret=client_secret,
            auth_base_url=auth_base_url,
            api_base_url=api_base_url,
            max_retries=max_retries,
            backoff=backoff,
            clock=clock,
            budget=budget,
            hooks=hooks,
        )
        self._http = SyncHTTP(timeout=timeout, transport=transport)
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def _run(self, op: Op[T], sleep: Callable[[float], None] | None = None) -> T:
        do_sleep = sleep or self._sleep
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
                    do_sleep(step.seconds)
                    step = op.send(None)
                    continue
                if isinstance(step, Acquire):
                    assert self.budget is not None
                    self.budget.acquire(step.key, step.family)
                    step = op.send(None)
                    continue
                started = self._before(step)
                try:
                    resp: Response = self._http.send(step)
                except TransportError as exc:
                    self._after(step, None, started)
                    step = op.throw(exc)
                else:
                    self._after(step, resp, started)
                    step = op.send(resp)
        except StopIteration as done:
            result: T = done.value
            return result
        finally:
            op.close()  # an abandoned operation releases what it holds (an open file) now

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Token:
        """Trade the callback's `code` for a token (form-encoded; `code_verifier` for desktop)."""
        return self._run(
            self._ops.exchange_code(
                code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
            )
        )

    def refresh_token(self, *, refresh_token: str) -> Token:
        """A fresh access token; store the returned refresh token, it may have rotated."""
        return self._run(self._ops.refresh_token(refresh_token=refresh_token))

    def revoke(self, *, access_token: str) -> None:
        """Revoke this app's access for the user."""
        self._run(self._ops.revoke(access_token=access_token))

    def user_info(self, *, access_token: str, fields: Sequence[str]) -> UserInfo:
        """The user's profile `fields` (each needs its scope)."""
        return self._run(self._ops.user_info(access_token=access_token, fields=fields))

    def creator_info(self, *, access_token: str) -> CreatorInfo:
        """What the creator may post now; raises CreatorCannotPostError when they cannot."""
        return self._run(self._ops.creator_info(access_token=access_token))

    def init_video(
        self, *, access_token: str, post_info: VideoPostInfo, source: VideoSource
    ) -> PublishInit:
        """Start a direct video post. Never retried: store the publish id before anything else."""
        return self._run(
            self._ops.init_video(access_token=access_token, post_info=post_info, source=source)
        )

    def init_inbox_video(self, *, access_token: str, source: VideoSource) -> PublishInit:
        """Send a video to the creator's inbox. Never retried."""
        return self._run(self._ops.init_inbox_video(access_token=access_token, source=source))

    def init_photo(
        self,
        *,
        access_token: str,
        post_mode: Literal["DIRECT_POST", "MEDIA_UPLOAD"],
        post_info: PhotoPostInfo,
        source: PhotoSource,
        is_aigc: bool | None = None,
    ) -> PublishInit:
        """Start a photo post (1–35 images by URL), direct or to the inbox. Never retried."""
        return self._run(
            self._ops.init_photo(
                access_token=access_token,
                post_mode=post_mode,
                post_info=post_info,
                source=source,
                is_aigc=is_aigc,
            )
        )

    def fetch_status(self, *, access_token: str, publish_id: str) -> PublishStatus:
        """Where a publish stands (post ids as strings)."""
        return self._run(self._ops.fetch_status(access_token=access_token, publish_id=publish_id))

    def cancel(self, *, access_token: str, publish_id: str) -> None:
        """Cancel a PULL_FROM_URL download in progress (best effort)."""
        self._run(self._ops.cancel(access_token=access_token, publish_id=publish_id))

    def wait_for_status(
        self,
        *,
        access_token: str,
        publish_id: str,
        sleep: Callable[[float], None] | None = None,
        max_polls: int = 120,
        interval: float = 3.0,
        max_interval: float = 30.0,
    ) -> PublishStatus:
        """Poll until PUBLISH_COMPLETE, FAILED or SEND_TO_USER_INBOX (WaitTimeoutError if not)."""
        op = self._ops.wait_for_status(
            access_token=access_token,
            publish_id=publish_id,
            interval=interval,
            max_interval=max_interval,
            max_polls=max_polls,
        )
        return self._run(op, sleep)

    def upload_file(
        self,
        *,
        upload_url: str,
        file: FileArg,
        chunk_size: int | None = None,
        content_type: str | None = None,
        progress: ProgressFn | None = None,
        size: int | None = None,
        max_attempts: int = 6,
    ) -> None:
        """PUT a file to `upload_url` in planned chunks, streamed ≤ 1 MiB at a time, resuming.

        `chunk_size` must match the `source_info` sent at init (use the same value, or None on
        both sides). `progress(sent, total)` is called after each accepted chunk.
        """
        op = self._upload(
            upload_url=upload_url,
            file=file,
            chunk_size=chunk_size,
            content_type=content_type,
            progress=progress,
            size=size,
            max_attempts=max_attempts,
        )
        self._run(op)


class AsyncTikTokClient(_Base):
    """Asynchronous twin of `TikTokClient` (same methods, awaited; `aclose()`)."""

    def __init__(
        self,
        *,
        client_key: str,
        client_secret: str,
        auth_base_url: str = "https://www.tiktok.com",
        api_base_url: str = "https://open.tiktokapis.com",
        transport: AsyncTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = utc_now,
        budget: RateBudget | None = None,
        hooks: RequestHooks | None = None,
    ) -> None:
        super().__init__(
            client_key=client_key,
            client_secret=client_secret,
            auth_base_url=auth_base_url,
            api_base_url=api_base_url,
            max_retries=max_retries,
            backoff=backoff,
            clock=clock,
            budget=budget,
            hooks=hooks,
        )
        self._http = AsyncHTTP(timeout=timeout, transport=transport)
        self._sleep = sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def _run(self, op: Op[T], sleep: Callable[[float], Awaitable[None]] | None = None) -> T:
        do_sleep = sleep or self._sleep
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
                    await do_sleep(step.seconds)
                    step = op.send(None)
                    continue
                if isinstance(step, Acquire):
                    assert self.budget is not None
                    await self.budget.acquire_async(step.key, step.family)
                    step = op.send(None)
                    continue
                started = self._before(step)
                try:
                    resp: Response = await self._http.send(step)
                except TransportError as exc:
                    self._after(step, None, started)
                    step = op.throw(exc)
                else:
                    self._after(step, resp, started)
                    step = op.send(resp)
        except StopIteration as done:
            result: T = done.value
            return result
        finally:
            op.close()  # an abandoned operation releases what it holds (an open file) now

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Token:
        """Trade the callback's `code` for a token (form-encoded; `code_verifier` for desktop)."""
        return await self._run(
            self._ops.exchange_code(
                code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
            )
        )

    async def refresh_token(self, *, refresh_token: str) -> Token:
        """A fresh access token; store the returned refresh token, it may have rotated."""
        return await self._run(self._ops.refresh_token(refresh_token=refresh_token))

    async def revoke(self, *, access_token: str) -> None:
        """Revoke this app's access for the user."""
        await self._run(self._ops.revoke(access_token=access_token))

    async def user_info(self, *, access_token: str, fields: Sequence[str]) -> UserInfo:
        """The user's profile `fields` (each needs its scope)."""
        return await self._run(self._ops.user_info(access_token=access_token, fields=fields))

    async def creator_info(self, *, access_token: str) -> CreatorInfo:
        """What the creator may post now; raises CreatorCannotPostError when they cannot."""
        return await self._run(self._ops.creator_info(access_token=access_token))

    async def init_video(
        self, *, access_token: str, post_info: VideoPostInfo, source: VideoSource
    ) -> PublishInit:
        """Start a direct video post. Never retried: store the publish id before anything else."""
        return await self._run(
            self._ops.init_video(access_token=access_token, post_info=post_info, source=source)
        )

    async def init_inbox_video(self, *, access_token: str, source: VideoSource) -> PublishInit:
        """Send a video to the creator's inbox. Never retried."""
        return await self._run(self._ops.init_inbox_video(access_token=access_token, source=source))

    async def init_photo(
        self,
        *,
        access_token: str,
        post_mode: Literal["DIRECT_POST", "MEDIA_UPLOAD"],
        post_info: PhotoPostInfo,
        source: PhotoSource,
        is_aigc: bool | None = None,
    ) -> PublishInit:
        """Start a photo post (1–35 images by URL), direct or to the inbox. Never retried."""
        return await self._run(
            self._ops.init_photo(
                access_token=access_token,
                post_mode=post_mode,
                post_info=post_info,
                source=source,
                is_aigc=is_aigc,
            )
        )

    async def fetch_status(self, *, access_token: str, publish_id: str) -> PublishStatus:
        """Where a publish stands (post ids as strings)."""
        return await self._run(
            self._ops.fetch_status(access_token=access_token, publish_id=publish_id)
        )

    async def cancel(self, *, access_token: str, publish_id: str) -> None:
        """Cancel a PULL_FROM_URL download in progress (best effort)."""
        await self._run(self._ops.cancel(access_token=access_token, publish_id=publish_id))

    async def wait_for_status(
        self,
        *,
        access_token: str,
        publish_id: str,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_polls: int = 120,
        interval: float = 3.0,
        max_interval: float = 30.0,
    ) -> PublishStatus:
        """Poll until PUBLISH_COMPLETE, FAILED or SEND_TO_USER_INBOX (WaitTimeoutError if not)."""
        op = self._ops.wait_for_status(
            access_token=access_token,
            publish_id=publish_id,
            interval=interval,
            max_interval=max_interval,
            max_polls=max_polls,
        )
        return await self._run(op, sleep)

    async def upload_file(
        self,
        *,
        upload_url: str,
        file: FileArg,
        chunk_size: int | None = None,
        content_type: str | None = None,
        progress: ProgressFn | None = None,
        size: int | None = None,
        max_attempts: int = 6,
    ) -> None:
        """PUT a file to `upload_url` in planned chunks, streamed ≤ 1 MiB at a time, resuming."""
        op = self._upload(
            upload_url=upload_url,
            file=file,
            chunk_size=chunk_size,
            content_type=content_type,
            progress=progress,
            size=size,
            max_attempts=max_attempts,
        )
        await self._run(op)
