"""`TikTokClient` (sync) and `AsyncTikTokClient`: thin drivers over the shared operations."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Literal, Self, TypeVar

from ._actions import Acquire, Sleep
from ._budget import RateBudget
from ._errors import TikTokError, TransportError
from ._hooks import RequestHooks, exchange_of
from ._http import AsyncHTTP, AsyncTransport, Request, Response, SyncHTTP, Transport
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
from ._oauth import authorize_url, code_challenge
from ._ops import Backoff, Op, Ops, utc_now
from ._retry import retry_after
from ._upload import chunk_plan, content_type_for, upload_op

T = TypeVar("T")
FileArg = str | os.PathLike[str] | BinaryIO
ProgressFn = Callable[[int, int], None]


def _default_backoff(error: TikTokError, attempt: int) -> float | None:
    return retry_after(error, attempt)


class _Base:
    def __init__(
        self,
        *,
        client_key: str,
        client_secret: str,
        auth_base_url: str,
        api_base_url: str,
        max_retries: int,
        backoff: Backoff | None,
        clock: Callable[[], datetime],
        budget: RateBudget | None,
        hooks: RequestHooks | None,
    ) -> None:
        if not client_key:
            raise ValueError("client_key is required (TikTok developer portal → your app)")
        self.client_key = client_key
        self.auth_base_url = auth_base_url.rstrip("/")
        self.api_base_url = api_base_url.rstrip("/")
        self.max_retries = max_retries
        chosen = backoff or _default_backoff

        def limited(error: TikTokError, attempt: int) -> float | None:
            return chosen(error, attempt) if attempt <= max_retries else None

        self._ops = Ops(
            client_key=client_key,
            client_secret=client_secret,
            api_base_url=self.api_base_url,
            backoff=limited,
            clock=clock,
            budgeted=budget is not None,
        )
        self.budget = budget
        self.hooks = hooks
        if backoff is None:
            # upload_file's own max_attempts bounds chunk retries, not retry_after's default.
            def chosen_upload(error: TikTokError, attempt: int) -> float | None:
                return retry_after(error, attempt, max_attempts=1_000_000)

            self._upload_backoff: Backoff = chosen_upload
        else:
            self._upload_backoff = backoff

    def _before(self, step: Request) -> float:
        """The hooks' gate before a request leaves (it may raise); the time it left."""
        if self.hooks is not None:
            self.hooks.before_request(step.method, step.url)
        return time.perf_counter()

    def _after(self, step: Request, resp: Response | None, started: float) -> None:
        """Tell the hooks what came of a request (None: no answer)."""
        if self.hooks is not None:
            elapsed = time.perf_counter() - started
            self.hooks.after_request(exchange_of(step.method, step.url, resp, elapsed))

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"{type(self).__name__}(client_key={self.client_key!r}, api={self.api_base_url!r})"

    def _upload(
        self,
        *,
        upload_url: str,
        file: FileArg,
        chunk_size: int | None,
        content_type: str | None,
        progress: ProgressFn | None,
        size: int | None,
        max_attempts: int,
    ) -> Op[None]:
        """`upload_file` for both clients: open the file, plan the chunks, PUT them, close it."""
        with ExitStack() as stack:
            fh, name = _open(file, stack)
            plan = chunk_plan(size if size is not None else _size_of(fh), chunk_size)
            yield from upload_op(
                upload_url=upload_url,
                file=fh,
                plan=plan,
                content_type=content_type or content_type_for(name),
                progress=progress,
                max_attempts=max_attempts,
                backoff=self._upload_backoff,
            )

    def authorize_url(self, *, redirect_uri: str, scopes: Sequence[str], state: str) -> str:
        """The web Login Kit consent URL (no PKCE on web); keep `state` to check the callback."""
        # https://developers.tiktok.com/doc/login-kit-web
        return authorize_url(
            self.auth_base_url,
            client_key=self.client_key,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
        )

    def desktop_authorize_url(
        self, *, redirect_uri: str, scopes: Sequence[str], state: str, code_verifier: str
    ) -> str:
        """The desktop Login Kit consent URL with PKCE (hex SHA-256 challenge, S256)."""
        # https://developers.tiktok.com/doc/login-kit-desktop
        return authorize_url(
            self.auth_base_url,
            client_key=self.client_key,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            extra={
                "code_challenge": code_challenge(code_verifier),
                "code_challenge_method": "S256",
            },
        )


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


def _open(file: FileArg, stack: ExitStack) -> tuple[BinaryIO, str]:
    if isinstance(file, str | os.PathLike):
        path = os.fspath(file)
        fh: BinaryIO = stack.enter_context(open(path, "rb"))  # noqa: SIM115
        return fh, path
    return file, str(getattr(file, "name", ""))


def _size_of(fh: BinaryIO) -> int:
    here = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(here)
    return end
