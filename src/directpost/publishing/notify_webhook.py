"""The person's webhook: its signature, which URLs it may point at, and one signed POST.

Signature (docs/operations.md "Notifications"): `X-Directpost-Signature: t=<unix time>,
v1=<hex HMAC-SHA256 of "<t>.<raw body>">` under the secret shown once when the webhook was set;
`verify` is what a receiver runs (constant-time compare, a tolerance on the time against
replays). Each POST also carries `Idempotency-Key` (the event's id, the same on every retry)
and `X-Directpost-Delivery` (the delivery's id).

Where it may point (SSRF): the URL must be http(s) with a host. In production against TikTok
itself it must be https, and every address its host resolves to must be a global one (no
loopback, private, link-local, shared or reserved ranges); the request then goes to the address
that was checked (the host name kept for `Host` and TLS), so a name that resolves elsewhere a
moment later (DNS rebinding) cannot redirect it, and redirects are never followed. Demo mode,
tests and development allow loopback and private addresses (a local receiver).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2

from directpost.config import Settings

SIGNATURE_HEADER = "X-Directpost-Signature"
#: How long a signature stays acceptable to `verify` by default (seconds either way).
TOLERANCE_S = 300
#: How long one POST may take, connection included.
TIMEOUT_S = 10.0
USER_AGENT = "directpost-webhooks/1"


class SignatureError(Exception):
    """A webhook's signature header is missing, malformed, too old, or does not match."""


def new_secret() -> str:
    """A fresh signing secret (shown once to the person, kept encrypted)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The signature header's value for `payload` at `timestamp` (now by default)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + payload, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def verify(
    payload: bytes,
    header: str,
    secret: str,
    *,
    tolerance: int = TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Check a received webhook: raises `SignatureError` unless `header` signs `payload` with
    `secret` within `tolerance` seconds of `now`. Works on the raw bytes as received."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise SignatureError("the signature header has no valid t=") from exc
    if abs((time.time() if now is None else now) - t) > tolerance:
        raise SignatureError("the signature is too old (or from the future)")
    expected = sign(payload, secret, timestamp=t).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise SignatureError("no v1= signature matches")


# --- where it may point ----------------------------------------------------------------------


def private_allowed(settings: Settings) -> bool:
    """Loopback and private receivers: in demo mode, tests and development only."""
    return settings.environment != "production" or settings.uses_emulator


class TargetRefused(Exception):
    """The webhook URL may not be used; the message says why in the person's words."""


def _shape_problem(url: str, *, allow_private: bool) -> str | None:
    if len(url) > 2000:
        return "The webhook address is too long (at most 2,000 characters)."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "The webhook address is not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The webhook address must start with https:// and name a host."
    if parts.scheme != "https" and not allow_private:
        return "The webhook address must use https:// (the events are sent encrypted)."
    if parts.username or parts.password:
        return "The webhook address must not contain a user name or password."
    return None


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return (
            "The webhook address points at a private or local network address; it must be "
            "reachable on the public internet."
        )
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """A checked webhook URL and the address the POST goes to ("": wherever the name leads,
    where private addresses are allowed)."""

    url: str
    address: str


async def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check `url` (see the module's docstring) and resolve its host; `TargetRefused`."""
    problem = _shape_problem(url, allow_private=allow_private)
    if problem:
        raise TargetRefused(problem)
    if allow_private:
        # Nothing to guard: no lookup (saving a URL asks no name server), the client resolves.
        return Target(url=url, address="")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"The webhook's host {host!r} cannot be found.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"The webhook's host {host!r} cannot be found.")
    for address in addresses:
        problem = _address_problem(address)
        if problem:
            raise TargetRefused(problem)
    return Target(url=url, address=addresses[0])


async def post_signed(
    target: Target,
    body: bytes,
    *,
    secret: str,
    event_id: str,
    delivery_id: int,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> int:
    """POST the signed body to the checked address; returns the HTTP status (any status:
    the caller decides what counts as delivered). Raises `httpx2.HTTPError` when there is
    no answer."""
    url = httpx2.URL(target.url)
    host = url.host
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(body, secret),
        "Idempotency-Key": event_id,
        "X-Directpost-Event-Id": event_id,
        "X-Directpost-Delivery": str(delivery_id),
    }
    pinned, extensions = url, {}
    if target.address:
        # The name the receiver knows itself by, though the connection goes to the address.
        headers["Host"] = url.netloc.decode("ascii")
        pinned = url.copy_with(host=target.address)
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    async with httpx2.AsyncClient(
        timeout=TIMEOUT_S, trust_env=False, follow_redirects=False, transport=transport
    ) as client:
        request = client.build_request(
            "POST", pinned, content=body, headers=headers, extensions=extensions
        )
        answer = await client.send(request)
        return answer.status_code
