"""Is this process ready to work, and is this deployment set up right? `/readyz` and `doctor`.

`readiness(services)` asks each thing the app cannot work without whether it answers: the
database, the queue (the posts table, migrated), the media store, Redis when the budgets live
there, and whether traffic to TikTok is allowed (a lockdown, TOS-2, makes the process not
ready for it). The checks run side by side, each bounded by a timeout, so a database on a
filtered port makes the answer slow by seconds, never hang a load balancer's probe.

`settings_checks(settings)` is what `directpost doctor` adds: settings that start fine but
cannot work with TikTok (a public URL TikTok cannot reach, no verified media prefix, missing
or demo secrets outside demo mode). Every failed check says what to fix.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from sqlalchemy import text

from directpost.config import PLACEHOLDER_SECRETS, Settings
from directpost.media.storage import LocalMediaStore
from directpost.store import posts as post_store
from directpost.store.base import utcnow
from directpost.store.lockdown import active_lockdown

if TYPE_CHECKING:
    from directpost.publishing.wiring import Services

#: How long one readiness check may take before it counts as failed.
CHECK_TIMEOUT_S: Final = 5.0
_MESSAGE_MAX = 300


@dataclass(frozen=True, slots=True)
class Check:
    """One check's verdict: its name, ok or not, what was found, and what to do about it."""

    name: str
    ok: bool
    message: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        body = {"status": "ok" if self.ok else "fail", "message": self.message}
        if self.fix:
            body["fix"] = self.fix
        return body


def _failure(exc: BaseException) -> str:
    """An exception in one line (drivers' messages name host and port, never a password)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:_MESSAGE_MAX]


# --- readiness ---------------------------------------------------------------------------------


def check_database(services: Services) -> Check:
    """The database answers through the process's own pool (what every request uses)."""
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return Check("database", True, f"{services.engine.dialect.name} answers")


def check_queue(services: Services) -> Check:
    """The posts table answers the queue's own query: migrated, and how far behind it is."""
    now = utcnow()
    with services.factory() as session:
        figures = post_store.queue_figures(session, now=now)
    if figures.oldest_due_at is None:
        return Check("queue", True, "no post is due now")
    waited = max(0.0, (now - figures.oldest_due_at).total_seconds())
    return Check(
        "queue", True, f"{figures.due_now} post(s) due now; the oldest waited {waited:.0f} s"
    )


def check_media_store(services: Services) -> Check:
    """The media folder is writable, or the bucket answers (uploads and pulls need it)."""
    store = services.media_store
    if isinstance(store, LocalMediaStore):
        root = store.root
        if not root.is_dir():
            root.mkdir(parents=True, exist_ok=True)  # the store makes it on first write too
        if not os.access(root, os.W_OK | os.X_OK):
            return Check(
                "media_store",
                False,
                f"the media folder {root} is not writable",
                fix="give the app's user write access to it, or set DIRECTPOST_MEDIA_STORAGE_URL",
            )
        return Check("media_store", True, f"folder {root} is writable")
    client, bucket = getattr(store, "client", None), getattr(store, "bucket", None)
    if client is not None and bucket:
        client.head_bucket(Bucket=bucket)  # 404/403 raise: no bucket, or no right to it
        return Check("media_store", True, f"bucket {bucket} answers")
    store.stat("readiness-probe")
    return Check("media_store", True, f"{type(store).__name__} answers")


def check_redis(services: Services) -> Check:
    """Redis, where the rate budgets live, answers (without it no request may be spent)."""
    import redis

    client = redis.Redis.from_url(
        services.settings.budget_url, socket_connect_timeout=2.0, socket_timeout=2.0
    )
    try:
        client.ping()
    finally:
        client.close()
    return Check("redis", True, "the rate budgets' Redis answers")


def check_tiktok_traffic(services: Services) -> Check:
    """No lockdown is on (TOS-2): otherwise this process must not talk to TikTok."""
    with services.factory() as session:
        lockdown = active_lockdown(session)
    if lockdown is None:
        return Check("tiktok", True, "no lockdown: requests to TikTok are allowed")
    reason = f" ({lockdown.reason})" if lockdown.reason else ""
    return Check(
        "tiktok",
        False,
        f"a lockdown is on since {lockdown.started_at:%Y-%m-%d %H:%M} UTC, started by "
        f"{lockdown.started_by}{reason}: nothing is sent to TikTok (TOS-2)"[:_MESSAGE_MAX],
        fix="when it is safe, lift it: `directpost lockdown --lift` or the operator page",
    )


_FIXES: Final = {
    "database": "check DIRECTPOST_DATABASE_URL and that the database server runs and answers",
    "queue": "run `directpost migrate` (the posts table is missing or out of date)",
    "media_store": "check DIRECTPOST_MEDIA_STORAGE_URL, DIRECTPOST_S3_ENDPOINT_URL and the "
    "credentials (AWS_*)",
    "redis": "check DIRECTPOST_BUDGET_URL and that Redis runs and answers",
    "tiktok": "the lockdown switch could not be read: check the database, run `directpost migrate`",
}


def readiness(services: Services, *, timeout_s: float = CHECK_TIMEOUT_S) -> list[Check]:
    """Every readiness check, side by side, each failed when it raises or takes too long."""
    checks: list[tuple[str, Callable[[Services], Check]]] = [
        ("database", check_database),
        ("queue", check_queue),
        ("media_store", check_media_store),
    ]
    if services.settings.budget_url:
        checks.append(("redis", check_redis))
    checks.append(("tiktok", check_tiktok_traffic))
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readiness")
    try:
        futures = [(name, pool.submit(check, services)) for name, check in checks]
        results: list[Check] = []
        for name, future in futures:
            try:
                results.append(future.result(timeout=timeout_s))
            except FutureTimeout:
                results.append(
                    Check(name, False, f"no answer within {timeout_s:g} s", _FIXES[name])
                )
            except Exception as exc:  # a check that cannot run is a failed check
                results.append(Check(name, False, _failure(exc), _FIXES[name]))
        return results
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung check does not hold the answer


# --- settings sanity (`directpost doctor`) -------------------------------------------------------


def _host_is_public(url: str) -> tuple[bool, str]:
    """Whether TikTok could reach `url`'s host from the internet, and why not."""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return False, "has no host"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan")):
        return False, f"names {host}, a name only this network knows"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ("." in host), f"names {host}, not a public domain"
    if address.is_loopback:
        return False, f"names {host}, this machine's loopback address"
    if not address.is_global:
        return False, f"names {host}, a private address"
    return True, ""


def settings_checks(settings: Settings, *, demo_values: Collection[str] = ()) -> list[Check]:
    """Settings that let the app start but cannot work with TikTok, each with its fix.

    On the emulator (demo mode) loopback URLs and demo credentials are right; with TikTok they
    are not. `demo_values`: the emulator's public demo key and secret (the caller knows them;
    this part may not import the emulator)."""
    demo = settings.uses_emulator
    checks: list[Check] = []
    public = settings.public_base_url
    reachable, why = _host_is_public(public)
    if demo:
        checks.append(Check("public_url", True, f"{public} (demo mode: the emulator is local)"))
    elif not reachable:
        checks.append(
            Check(
                "public_url",
                False,
                f"DIRECTPOST_PUBLIC_BASE_URL={public} {why}: TikTok cannot reach the sign-in "
                "callback, the webhooks or the media there",
                fix="set DIRECTPOST_PUBLIC_BASE_URL to the https address the app has on the "
                "internet (TLS in front, see docs/deploy.md)",
            )
        )
    elif urlsplit(public).scheme != "https":
        checks.append(
            Check(
                "public_url",
                False,
                f"DIRECTPOST_PUBLIC_BASE_URL={public} is not https: TikTok refuses http URLs",
                fix="put TLS in front of the app and use its https:// address",
            )
        )
    else:
        checks.append(Check("public_url", True, f"{public} is a public https address"))

    prefix = settings.media_public_base_url.strip()
    if demo or settings.transfer_mode == "file_upload":
        checks.append(
            Check(
                "verified_prefix",
                True,
                "not needed (demo mode)" if demo else "not needed (transfer mode file_upload)",
            )
        )
    elif not prefix:
        checks.append(
            Check(
                "verified_prefix",
                False,
                "DIRECTPOST_MEDIA_PUBLIC_BASE_URL is not set: TikTok pulls media only from a "
                "URL prefix verified for the app",
                fix=f"verify {public.rstrip('/')}/m/ (or your media domain) in TikTok's developer "
                "portal and set DIRECTPOST_MEDIA_PUBLIC_BASE_URL to it",
            )
        )
    else:
        ok, why = _host_is_public(prefix)
        ok = ok and urlsplit(prefix).scheme == "https"
        checks.append(
            Check(
                "verified_prefix",
                ok,
                f"media URLs are under {prefix.rstrip('/')}/m/"
                + ("" if ok else f" ({why or 'not https'})"),
                fix="" if ok else "use the public https prefix you verified at TikTok",
            )
        )

    checks.append(_secrets_check(settings, demo=demo, demo_values=demo_values))
    if not demo and settings.environment != "production":
        checks.append(
            Check(
                "environment",
                False,
                f"DIRECTPOST_ENVIRONMENT={settings.environment} with TikTok itself: generated "
                "development secrets would be accepted",
                fix="set DIRECTPOST_ENVIRONMENT=production",
            )
        )
    return checks


def _secrets_check(settings: Settings, *, demo: bool, demo_values: Collection[str]) -> Check:
    names = ["token_encryption_key", "session_secret"]
    if settings.tiktok_client_key:  # without one, `run` makes its own on the local emulator
        names.append("tiktok_client_secret")
    bad: list[str] = []
    for name in names:
        value = getattr(settings, name).get_secret_value().strip()
        if value.lower() in PLACEHOLDER_SECRETS and not (
            demo and settings.environment == "development"
        ):
            bad.append(f"DIRECTPOST_{name.upper()} is missing or a placeholder")
        elif not demo and value in demo_values:
            bad.append(f"DIRECTPOST_{name.upper()} is the emulator's public demo value")
    if not demo and settings.tiktok_client_key in demo_values:
        bad.append("DIRECTPOST_TIKTOK_CLIENT_KEY is the emulator's demo app")
    if bad:
        return Check(
            "secrets",
            False,
            "; ".join(bad),
            fix="set each as DIRECTPOST_<NAME> or, better, DIRECTPOST_<NAME>_FILE (a secrets "
            "file); the TikTok ones come from your app in TikTok's developer portal",
        )
    return Check("secrets", True, "present" + (" (demo mode)" if demo else " and not demo values"))
