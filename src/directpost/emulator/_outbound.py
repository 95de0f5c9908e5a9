"""The emulator's only door to the network: pulling media and delivering webhooks (httpx2)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from functools import cache

import httpx2


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every outbound request. Building it (loading the CA bundle) took
    ~25 ms of CPU, more than the rest of a pull or a webhook delivery together, and each request
    made a new one. Each request still opens its own client and connection, as TikTok would."""
    return httpx2.create_ssl_context()


class PullFailed(Exception):
    """A PULL_FROM_URL download could not complete."""


async def download(
    url: str,
    sink: Callable[[bytes], None],
    *,
    max_bytes: int,
    timeout_s: float,
) -> int:
    """Stream ``url`` into ``sink``; redirects are never followed (spec §7). Returns bytes read."""
    total = 0
    timeout = httpx2.Timeout(timeout_s, connect=10.0)
    async with httpx2.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=timeout, verify=_tls()
    ) as c:
        try:
            async with c.stream("GET", url) as response:
                if response.status_code != 200:
                    raise PullFailed(f"GET {url} answered HTTP {response.status_code}")
                async for piece in response.aiter_bytes():  # as it arrives: live progress
                    total += len(piece)
                    if total > max_bytes:
                        raise PullFailed(f"{url} is larger than {max_bytes} bytes")
                    sink(piece)
        except httpx2.HTTPError as exc:
            raise PullFailed(f"GET {url} failed: {exc}") from exc
    return total


async def post_webhook(
    url: str, body: bytes, headers: dict[str, str], *, timeout_s: float
) -> tuple[int, str]:
    """POST one webhook attempt; returns (status, first 500 characters of the answer)."""
    async with httpx2.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=timeout_s, verify=_tls()
    ) as client:
        response = await client.post(url, content=body, headers=headers)
        return response.status_code, response.text[:500]


HTTPError = httpx2.HTTPError
