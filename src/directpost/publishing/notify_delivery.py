"""Sending the outbox: each pending e-mail or webhook delivery, tried until it is delivered,
with exponential backoff between tries, by the workers (never inside the transaction that
moved the post: `notify` only writes the rows).

A worker process runs one `DeliveryLoop` thread beside its publish threads: every
`POLL_S` it claims the due deliveries (`store.claim_due_deliveries`: a conditional UPDATE, so
several workers never take the same one; a killed worker's claim runs out after `LEASE`),
sends them at once, and records each try: delivered, tried again at `RetryPolicy.retry_at`,
or given up after `max_attempts`. Delivery is at least once: a worker killed between the send
and the record sends it again later, and the receiver drops the repeat by the event's id
(webhook `Idempotency-Key`, e-mail `Message-ID`).

E-mail goes through Python's smtplib in a thread (`DIRECTPOST_SMTP_URL`, `DIRECTPOST_SMTP_FROM`);
webhooks through `notify_webhook` (signed, checked against SSRF at every try).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx2
from sqlalchemy.orm import Session, sessionmaker

from directpost.config import Settings
from directpost.publishing import notify_webhook
from directpost.publishing.notify import TEST_EVENT
from directpost.store import notifications as store
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher

log = logging.getLogger(__name__)

#: How often a worker looks for due deliveries, and how many it takes at once.
POLL_S = 2.0
BATCH = 20
#: A claim outlives every try of a batch (they run together, each bounded by its timeout).
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter: after try n (1-based), wait base·2^(n-1), at
    most `cap_s`, ±`jitter`; after `max_attempts` tries, give up."""

    base_s: float = 30.0
    cap_s: float = 3600.0
    max_attempts: int = 8
    jitter: float = 0.1

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` tries (None: give up)."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.cap_s, self.base_s * 2 ** (attempts - 1))
        spread = delay * self.jitter
        return now + timedelta(seconds=delay + random.uniform(-spread, spread))  # noqa: S311


# --- what is sent -------------------------------------------------------------------------------

_HEADLINES = {
    "post.needs_confirmation": "Your post needs your confirmation",
    "post.failed": "Your post could not be published",
    "post.published": "Your post was published",
    "post.sent_to_inbox": "Your post is in your TikTok inbox: open TikTok to finish it",
    "prepared.confirmed": "A post you prepared was confirmed by the creator",
    "prepared.rejected": "A post you prepared was turned down by the creator",
    "prepared.expired": "A post you prepared expired: nobody reviewed it within 30 days",
    TEST_EVENT: "A test notification from directpost",
}


def headline(event: str) -> str:
    return _HEADLINES.get(event, "News about your post")


def post_url(base_url: str, post_id: int | None) -> str:
    return f"{base_url.rstrip('/')}/posts/{post_id}" if post_id is not None else ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def payload(notification: store.Notification, *, base_url: str) -> dict[str, Any]:
    """The webhook's JSON body: the event and the post as the person sees it (no secret)."""
    post = None
    if notification.post_id is not None:
        post = {
            "id": notification.post_id,
            "state": notification.state,
            "title": notification.title,
            "account": notification.account_name,
            "reason": notification.reason,
            "scheduled_at": _iso(notification.scheduled_at),
            "url": post_url(base_url, notification.post_id),
        }
    body: dict[str, Any] = {
        "id": notification.event_id,
        "event": notification.event,
        "created_at": notification.created_at.isoformat(),
        "message": headline(notification.event),
        "post": post,
    }
    if notification.prepared_id is not None:  # issue 18: about a post someone prepared
        body["prepared_post"] = {
            "id": notification.prepared_id,
            "state": notification.state,
            "title": notification.title,
            "account": notification.account_name,
            "reason": notification.reason,
            "url": f"{base_url.rstrip('/')}/api/v1/prepared-posts/{notification.prepared_id}",
        }
    return body


def email_message(
    notification: store.Notification, *, to: str, sender: str, base_url: str
) -> EmailMessage:
    """The e-mail for an event: plain text, a Message-ID from the event's id."""
    message = EmailMessage()
    title = " ".join(notification.title.split())  # no line breaks into a header
    subject = headline(notification.event) + (f": {title[:80]}" if title else "")
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{notification.event_id}@directpost>"
    message["X-Directpost-Event-Id"] = notification.event_id
    lines = [headline(notification.event) + "."]
    if notification.post_id is not None:
        lines += [
            "",
            f"Account: {notification.account_name or '-'}",
            f"Title: {notification.title or '(no title)'}",
        ]
        if notification.reason:
            lines += [f"Why: {notification.reason}"]
        lines += ["", f"Open the post: {post_url(base_url, notification.post_id)}"]
    lines += [
        "",
        "--",
        "You get this e-mail because you asked for notifications by e-mail. Change it at "
        f"{base_url.rstrip('/')}/settings/notifications",
    ]
    message.set_content("\n".join(lines))
    return message


# --- sending ------------------------------------------------------------------------------------


class Permanent(Exception):
    """A failure no retry can mend (e.g. the mail server refused the address)."""


def _send_mail(smtp_url: str, message: EmailMessage) -> None:
    """Blocking: send one message through the configured server (see `Settings.smtp_url`)."""
    parts = urlsplit(smtp_url)
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
    host = parts.hostname or "localhost"
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if parts.scheme == "smtps":
        server = smtplib.SMTP_SSL(host, parts.port or 465, timeout=SMTP_TIMEOUT_S, context=context)
    elif parts.scheme == "smtp":
        server = smtplib.SMTP(host, parts.port or (587 if starttls else 25), timeout=SMTP_TIMEOUT_S)
    else:
        raise Permanent("DIRECTPOST_SMTP_URL must start with smtp:// or smtps://")
    with server:
        if starttls:
            server.starttls(context=context)
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        try:
            server.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Permanent("the mail server refused the address") from exc


@dataclass
class Sender:
    """Sends one delivery by its channel; built once per worker process."""

    settings: Settings
    cipher: TokenCipher
    #: Tests point webhooks elsewhere; None: the network.
    transport: httpx2.AsyncBaseTransport | None = None

    async def send(
        self,
        delivery: store.NotificationDelivery,
        notification: store.Notification,
        secret: str | None,
    ) -> tuple[str, int | None, bool]:
        """Try once: (error or "" when delivered, HTTP status, whether a retry may help)."""
        base_url = self.settings.public_base_url
        try:
            if delivery.channel == store.EMAIL:
                smtp_url = self.settings.smtp_url.get_secret_value()
                if not smtp_url or not self.settings.smtp_from:
                    return "E-mail is not set up on this site.", None, False
                message = email_message(
                    notification,
                    to=delivery.target,
                    sender=self.settings.smtp_from,
                    base_url=base_url,
                )
                await asyncio.to_thread(_send_mail, smtp_url, message)
                return "", None, True
            if secret is None:
                return "The webhook has no signing secret; set it again.", None, False
            target = await notify_webhook.resolve_target(
                delivery.target,
                allow_private=notify_webhook.private_allowed(self.settings),
            )
            body = json.dumps(payload(notification, base_url=base_url)).encode("utf-8")
            status = await notify_webhook.post_signed(
                target,
                body,
                secret=secret,
                event_id=notification.event_id,
                delivery_id=delivery.id,
                transport=self.transport,
            )
        except Permanent as exc:
            return str(exc), None, False
        except notify_webhook.TargetRefused as exc:
            return str(exc), None, True
        except (smtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "smtp_code", None)
            # A 5xx answer from the mail server is final; a 4xx or no answer may pass later.
            return (
                f"mail: {type(exc).__name__} {code or ''}".strip(),
                None,
                not (isinstance(code, int) and code >= 500),
            )
        except httpx2.HTTPError as exc:
            return f"no answer: {type(exc).__name__}", None, True
        if 200 <= status < 300:
            return "", status, True
        return f"HTTP {status}", status, True


async def deliver_one(
    factory: sessionmaker[Session],
    sender: Sender,
    delivery_id: int,
    *,
    policy: RetryPolicy,
    retry: bool = True,
) -> store.NotificationDelivery | None:
    """Try one claimed delivery and record the try; returns it as recorded."""

    def load() -> tuple[store.NotificationDelivery, store.Notification, str | None, bool] | None:
        with factory() as session:
            delivery = store.get_delivery(session, delivery_id=delivery_id)
            if delivery is None or delivery.state != store.PENDING:
                return None
            notification = delivery.notification
            row = store.get_settings(session, person_id=delivery.person_id)
            channels = store.channels_of(row)
            now_target = (
                channels.email_address if delivery.channel == store.EMAIL else channels.webhook_url
            )
            secret = store.webhook_secret(row, cipher=sender.cipher) if row else None
            return delivery, notification, secret, now_target == delivery.target

    loaded = await asyncio.to_thread(load)
    if loaded is None:
        return None
    delivery, notification, secret, still_wanted = loaded
    if still_wanted:
        error, status, retryable = await sender.send(delivery, notification, secret)
    else:
        error, status, retryable = "The setting changed before it was sent.", None, False

    def record() -> store.NotificationDelivery | None:
        with factory() as session, session.begin():
            row = store.get_delivery(session, delivery_id=delivery_id)
            if row is None:
                return None
            now = utcnow()
            if not still_wanted:
                row.state, row.claimed_until, row.last_error = store.CANCELLED, None, error
                return row
            retry_at = (
                policy.retry_at(row.attempts + 1, now) if error and retryable and retry else None
            )
            store.record_attempt(row, now=now, error=error, status=status, retry_at=retry_at)
            if error:
                log.info(
                    "notification delivery %s (%s) failed, try %s: %s",
                    row.id,
                    row.channel,
                    row.attempts,
                    error,
                )
            return row

    return await asyncio.to_thread(record)


async def deliver_due(
    factory: sessionmaker[Session], sender: Sender, *, policy: RetryPolicy, limit: int = BATCH
) -> int:
    """Claim the due deliveries and try them together; returns how many were tried."""

    def claim() -> list[int]:
        with factory() as session, session.begin():
            return store.claim_due_deliveries(session, now=utcnow(), lease=LEASE, limit=limit)

    ids = await asyncio.to_thread(claim)
    if ids:
        await asyncio.gather(*(deliver_one(factory, sender, i, policy=policy) for i in ids))
    return len(ids)


async def send_test(
    factory: sessionmaker[Session], sender: Sender, *, person_id: int, channel: str
) -> store.NotificationDelivery | None:
    """The settings page's "send a test": one event by `channel`, tried once now (never
    retried); None when the person has not set that channel."""

    def add() -> int | None:
        with factory() as session, session.begin():
            channels = store.channels_of(store.get_settings(session, person_id=person_id))
            notification = store.add_notification(
                session,
                person_id=person_id,
                channels=channels,
                event=TEST_EVENT,
                now=utcnow(),
                only=channel,
            )
            session.flush()
            if not notification.deliveries:
                return None
            delivery = notification.deliveries[0]
            delivery.claimed_until = utcnow() + LEASE  # the worker leaves it to us
            return delivery.id

    delivery_id = await asyncio.to_thread(add)
    if delivery_id is None:
        return None
    return await deliver_one(factory, sender, delivery_id, policy=RetryPolicy(), retry=False)


class DeliveryLoop:
    """A worker's delivery thread (see the module's docstring); `start`, then `stop`."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        sender: Sender,
        *,
        policy: RetryPolicy | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.factory = factory
        self.sender = sender
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DeliveryLoop:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="notify-deliveries", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Take nothing more; a batch in flight ends within its timeouts (its claims run out
        otherwise, and another worker sends them)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        failing = 0.0
        try:
            while not self._stop.is_set():
                try:
                    tried = loop.run_until_complete(
                        deliver_due(self.factory, self.sender, policy=self.policy)
                    )
                    failing = 0.0
                except Exception:  # a database outage must not end the thread
                    failing = min(60.0, failing * 2 or self.poll_s)
                    log.exception("sending notifications failed; trying again in %.0f s", failing)
                    self._stop.wait(failing)
                    continue
                if not tried:
                    self._stop.wait(self.poll_s)
        finally:
            loop.close()
