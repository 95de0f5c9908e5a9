"""What both clients share: construction, the request hooks, the upload operation and the
Login Kit URLs (`_Base`); `_client.py` drives it synchronously or with asyncio."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import BinaryIO, TypeVar

from ._budget import RateBudget
from ._errors import TikTokError
from ._hooks import RequestHooks, exchange_of
from ._http import Request, Response
from ._oauth import authorize_url, code_challenge
from ._ops import Backoff, Op, Ops
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
