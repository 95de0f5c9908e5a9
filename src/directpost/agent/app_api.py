"""The app's prepared-posts API (`/api/v1`, docs/api.md) over HTTP: the agent package's only
module that imports httpx2.

Answers are plain JSON values; every refusal of the API becomes `ApiRefused` with the API's own
sentence (`{"error": {"code", "message", ...}}`), and a network failure becomes `AppUnreachable`,
so the tools above can hand either to the agent as one line, never as a traceback.

A 429 (the token's rate limit) is waited out when its Retry-After is short: the API refused
the request before doing anything, so sending it again is safe for every route.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import anyio
import httpx2

from directpost.agent.settings import AgentSettings

API_PREFIX: Final = "/api/v1"
#: Waits longer than this are the agent's to decide on (the message says how long).
LONGEST_RATE_WAIT_S: Final = 30.0
RATE_RETRIES: Final = 2


class ApiRefused(Exception):
    """The API answered with a refusal: its status, stable code and sentence."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        problems: list[str] | None = None,
        received: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems or []
        self.received = received
        self.retry_after = retry_after


class AppUnreachable(Exception):
    """No answer from the app (refused connection, timeout, broken connection)."""


@dataclass(frozen=True)
class Answer:
    """A successful answer: status, the few headers that matter, the JSON body."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _refusal(response: httpx2.Response) -> ApiRefused:
    """The API's error envelope as an exception; a sentence of our own for anything else (a
    proxy's error page, an app too old to have the API)."""
    retry_after = _retry_after(response.headers.get("retry-after"))
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        problems = error.get("problems")
        received = error.get("received")
        return ApiRefused(
            response.status_code,
            str(error.get("code") or "refused"),
            error["message"],
            problems=[str(p) for p in problems] if isinstance(problems, list) else None,
            received=received if isinstance(received, int) else None,
            retry_after=retry_after,
        )
    if response.status_code == 404:
        message = (
            "The app has no prepared-posts API at this address: check DIRECTPOST_URL (the "
            "app's base address, without /api/v1)."
        )
    else:
        message = f"The app answered HTTP {response.status_code} without an explanation."
    return ApiRefused(response.status_code, "unexpected_answer", message, retry_after=retry_after)


class AppApi:
    """An async client of `/api/v1` for one token. Use as `async with AppApi(settings) as api`.

    `transport` is the test seam (an httpx2 ASGI transport runs it against the app in-process);
    `sleep` is what waits out a short 429."""

    def __init__(
        self,
        settings: AgentSettings,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.base_url = settings.url
        self._sleep = sleep
        self._client = httpx2.AsyncClient(
            base_url=settings.url + API_PREFIX,
            headers={
                "Authorization": f"Bearer {settings.token}",
                "User-Agent": "directpost-mcp",
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AppApi:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        for attempt in range(RATE_RETRIES + 1):
            try:
                response = await self._client.request(
                    method,
                    path,
                    json=json_body,
                    params=dict(params) if params else None,
                    content=content,
                    headers=dict(headers) if headers else None,
                )
            except httpx2.TimeoutException:
                raise AppUnreachable(
                    f"The app at {self.base_url} did not answer in time. Try again shortly."
                ) from None
            except httpx2.TransportError as exc:
                raise AppUnreachable(
                    f"Cannot reach the app at {self.base_url} ({type(exc).__name__}). Check "
                    "DIRECTPOST_URL and that the app is running."
                ) from None
            if response.status_code < 400:
                return Answer(response.status_code, self._json(response), dict(response.headers))
            refused = _refusal(response)
            wait = refused.retry_after
            if (
                refused.status == 429
                and wait is not None
                and wait <= LONGEST_RATE_WAIT_S
                and attempt < RATE_RETRIES
            ):
                await self._sleep(wait)
                continue
            raise refused
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _json(self, response: httpx2.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiRefused(
                response.status_code,
                "unexpected_answer",
                f"{self.base_url} answered something other than the API's JSON: check "
                "DIRECTPOST_URL (the app's base address, without /api/v1).",
            ) from None

    # --- who and which accounts ---------------------------------------------------------------

    async def me(self) -> Any:
        return (await self._call("GET", "/me")).body

    async def accounts(self) -> Any:
        return (await self._call("GET", "/accounts")).body

    async def creator_info(self, account_id: int) -> Any:
        return (await self._call("GET", f"/accounts/{account_id}/creator-info")).body

    # --- media ----------------------------------------------------------------------------------

    async def announce_upload(self, *, account_id: int, kind: str, files: list[Any]) -> Any:
        body = {"account_id": account_id, "kind": kind, "files": files}
        return (await self._call("POST", "/uploads", json_body=body)).body

    async def upload_status(self, upload_id: str) -> Any:
        return (await self._call("GET", f"/uploads/{quote(upload_id, safe='')}")).body

    async def send_chunk(self, upload_id: str, file_id: str, *, offset: int, data: bytes) -> Any:
        path = f"/uploads/{quote(upload_id, safe='')}/files/{quote(file_id, safe='')}"
        answer = await self._call(
            "PUT",
            path,
            params={"offset": offset},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return answer.body

    async def finish_upload(self, upload_id: str) -> Any:
        return (await self._call("POST", f"/uploads/{quote(upload_id, safe='')}/finish")).body

    # --- prepared posts -------------------------------------------------------------------------

    async def prepare(self, body: Mapping[str, Any], *, idempotency_key: str) -> tuple[Any, bool]:
        """The prepared post, and whether the app replayed an earlier answer for this key."""
        answer = await self._call(
            "POST",
            "/prepared-posts",
            json_body=dict(body),
            headers={"Idempotency-Key": idempotency_key},
        )
        replayed = answer.headers.get("idempotent-replayed", "").lower() == "true"
        return answer.body, replayed

    async def prepared_posts(
        self, *, state: str | None = None, account_id: int | None = None, limit: int = 50
    ) -> Any:
        params: dict[str, str | int] = {"limit": limit}
        if state:
            params["state"] = state
        if account_id is not None:
            params["account_id"] = account_id
        return (await self._call("GET", "/prepared-posts", params=params)).body

    async def prepared_post(self, prepared_id: int) -> Any:
        return (await self._call("GET", f"/prepared-posts/{prepared_id}")).body

    async def withdraw(self, prepared_id: int) -> Any:
        return (await self._call("DELETE", f"/prepared-posts/{prepared_id}")).body

    # --- posts ----------------------------------------------------------------------------------

    async def post(self, post_id: int) -> Any:
        return (await self._call("GET", f"/posts/{post_id}")).body
