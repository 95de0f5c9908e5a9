"""Webhook events: building them, the `webhook` faults, and when each attempt is due.

``emit`` builds an event in TikTok's envelope (spec §6.2) for the app's callback URL and hands it
to ``_queue``, which applies the next ``webhook`` fault, if any: ``duplicate`` (the event is sent
twice, the copy right after the original), ``delay_s`` (the first attempt waits that many seconds
of emulator time) and ``reorder`` (the next ``count`` events are held, then sent newest first,
one after the other). Retries wait on the emulator clock (``schedule_retry``): TikTok documents
"exponential backoff for up to 72 hours" (webhooks-overview), so advancing the clock brings the
next attempt. The HTTP side is in ``emulator/webhooks.py``.
"""

from __future__ import annotations

import json
from typing import Any

from ..state import App, WebhookDelivery
from .core import Core

#: The event the developer portal's "Test URL → Send" posts. TikTok does not document its name
#: or content (spec §11.6); a test can choose others through the control plane.
TEST_EVENT = "webhook.test"


class WebhookEventsMixin(Core):
    """Webhook events from the moment they happen to the moment an attempt is due."""

    def emit(self, app: App, open_id: str, event: str, content: dict[str, Any]) -> None:
        """Queue a webhook event for the app (sent by the dispatcher in ``webhooks.py``)."""
        if not app.webhook_url:
            return
        self._queue(self.new_delivery(app, app.webhook_url, event, open_id, content))

    def new_delivery(
        self, app: App, url: str, event: str, open_id: str, content: dict[str, Any]
    ) -> WebhookDelivery:
        """A recorded delivery of one event to ``url`` (not queued)."""
        payload = {
            "client_key": app.client_key,
            "event": event,
            "create_time": int(self.now()),
            "user_openid": open_id,
            "content": json.dumps(content, separators=(",", ":")),
        }
        delivery = WebhookDelivery(
            delivery_id=len(self.deliveries) + 1,
            client_key=app.client_key,
            url=url,
            event=event,
            body=json.dumps(payload, separators=(",", ":")).encode(),
        )
        self.deliveries.append(delivery)
        return delivery

    def test_delivery(self, body: dict[str, Any]) -> WebhookDelivery:
        """The portal's test event for an app, to its callback URL or to the ``url`` being
        tried before it is saved (control plane: ``POST /_emulator/webhooks/test``)."""
        from ..errors import ControlError

        app = self._app_or_404(body.get("client_key", next(iter(self.apps), None)))
        url = body.get("url", app.webhook_url)
        if not isinstance(url, str) or not url:
            raise ControlError("the app has no webhook_url: register one or give url")
        event = body.get("event", TEST_EVENT)
        content = body.get("content", {})
        if not isinstance(event, str) or not event or not isinstance(content, dict):
            raise ControlError("event must be a non-empty string and content an object")
        return self.new_delivery(app, url, event, "", content)

    def _queue(self, delivery: WebhookDelivery) -> None:
        fault = self.take_fault("webhook")
        if fault is None:
            self.outbox.append(delivery)
            return
        batch = [delivery]
        if fault.duplicate:
            copy = WebhookDelivery(
                delivery_id=len(self.deliveries) + 1,
                client_key=delivery.client_key,
                url=delivery.url,
                event=delivery.event,
                body=delivery.body,  # the same bytes, as a redelivery would carry
                duplicate_of=delivery.delivery_id,
                send_after=delivery.delivery_id,
            )
            self.deliveries.append(copy)
            batch.append(copy)
        if fault.reorder:
            self.webhook_held.extend(batch)
            if fault.count <= 0:  # the last of the events this fault holds
                self.release_held_webhooks()
        elif fault.delay_s > 0:
            for item in batch:
                item.next_attempt_at = self.now() + fault.delay_s
            self.webhook_waiting.extend(batch)
        else:
            self.outbox.extend(batch)

    def release_held_webhooks(self) -> None:
        """Send the events a ``reorder`` fault holds, newest first, each after the one before."""
        held, self.webhook_held = self.webhook_held, []
        previous: WebhookDelivery | None = None
        for delivery in reversed(held):
            delivery.send_after = previous.delivery_id if previous is not None else None
            self.outbox.append(delivery)
            previous = delivery

    def schedule_retry(self, delivery: WebhookDelivery) -> bool:
        """After a failed attempt: wait for the next one on the emulator clock, or give up when
        the schedule or the retry window is over. Returns whether another attempt will come."""
        made = len(delivery.attempts)
        delays = self.config.webhook_retry_delays_s
        first = float(delivery.attempts[0]["at"]) if delivery.attempts else self.now()
        if made > len(delays):
            return False
        due = self.now() + delays[made - 1]
        if due - first > self.config.webhook_retry_window_s:
            return False
        delivery.next_attempt_at = due
        self.webhook_waiting.append(delivery)
        return True

    def release_due_webhooks(self) -> None:
        """Queue the attempts whose time came on the emulator clock."""
        if not self.webhook_waiting:
            return
        now = self.now()
        due = [
            d
            for d in self.webhook_waiting
            if d.next_attempt_at is not None and d.next_attempt_at <= now
        ]
        for delivery in due:
            self.webhook_waiting.remove(delivery)
            delivery.next_attempt_at = None
            self.outbox.append(delivery)
