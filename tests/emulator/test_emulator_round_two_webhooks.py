"""Issue 19: the developer portal's webhook test event, webhooks duplicated, delayed and
reordered on demand, and retries on TikTok's schedule on the emulator clock.

TikTok (webhooks-overview): deliveries are retried "for up to 72 hours using exponential
backoff", "at least once" (duplicates happen), and no order is promised. The schedule itself and
the test event's shape are not documented (spec §11.6): the emulator's choices are in
docs/emulator.md.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

import pytest

from directpost.emulator import EmulatorConfig
from tests.fixtures.emulator import EmulatorHandle, WebhookSink


def revoke(h: EmulatorHandle, open_id: str) -> None:
    """The developer revokes a creator's token: one `authorization.removed` event."""
    answer = h.client.post(
        "/v2/oauth/revoke/",
        data={
            "client_key": h.client_key,
            "client_secret": h.client_secret,
            "token": h.token(open_id),
        },
    )
    assert answer.status_code == 200, answer.text


def openids(sink: WebhookSink) -> list[str]:
    return [json.loads(item["body"])["user_openid"] for item in sink.received]


def delivery(h: EmulatorHandle, number: int = 1) -> dict[str, Any]:
    return next(d for d in h.state()["webhooks"] if d["delivery_id"] == number)


def test_portal_test_event_is_signed_sent_once_and_its_answer_returned(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    shown = h.control("webhooks/test", {})
    assert shown["delivered"] is True
    assert [a["status"] for a in shown["attempts"]] == [200]
    (item,) = webhook_sink.wait(1)
    parts = dict(p.split("=", 1) for p in item["headers"]["TikTok-Signature"].split(","))
    expected = hmac.new(
        h.client_secret.encode(), parts["t"].encode() + b"." + item["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["s"], expected)
    body = json.loads(item["body"])
    assert set(body) == {"client_key", "event", "create_time", "user_openid", "content"}
    assert (body["client_key"], body["event"], body["content"]) == (
        h.client_key,
        "webhook.test",
        "{}",
    )
    # "Test URL" before saving it: another address, answered 500 — shown, never retried.
    webhook_sink.statuses = [500]
    failed = h.control("webhooks/test", {"url": webhook_sink.url + "?draft", "event": "ping"})
    assert failed["gave_up"] is True and [a["status"] for a in failed["attempts"]] == [500]
    assert len(webhook_sink.wait(2)) == 2
    h.register_app(webhook_url=None)
    answer = h.client.post("/_emulator/webhooks/test", json={})
    assert answer.status_code == 400 and "webhook_url" in answer.json()["error"]


def test_retries_follow_tiktoks_backoff_on_the_emulator_clock_for_up_to_72_hours(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    defaults = EmulatorConfig()
    delays = list(defaults.webhook_retry_delays_s)
    assert delays[0] == 60 and all(b == 2 * a for a, b in itertools.pairwise(delays))
    assert sum(delays) <= defaults.webhook_retry_window_s == 72 * 3600
    h.control("config", {"webhook_retry_delays_s": delays})
    h.register_app(webhook_url=webhook_sink.url)
    webhook_sink.statuses = [500] * (len(delays) + 5)
    revoke(h, "demo-public")
    webhook_sink.wait(1)
    for made, wait in enumerate(delays, start=1):
        waiting = h.wait_for(lambda s, n=made: len(s["webhooks"][0]["attempts"]) == n)
        first = waiting["webhooks"][0]
        # The next attempt waits for the emulator clock, not for the wall clock.
        assert first["next_attempt_at"] == pytest.approx(
            first["attempts"][-1]["at"] + wait, abs=0.5
        )
        h.control("clock", {"advance_s": wait})
        webhook_sink.wait(made + 1)
    final = h.wait_for(lambda s: s["webhooks"][0]["gave_up"])["webhooks"][0]
    times = [a["at"] for a in final["attempts"]]
    assert len(times) == len(delays) + 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx(delays, abs=1.0)
    assert final["next_attempt_at"] is None and final["delivered"] is False


def test_retries_stop_when_the_72_hour_window_is_over(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    delays = [60, 120, 240, 480, 960, 1920]
    h.control("config", {"webhook_retry_delays_s": delays, "webhook_retry_window_s": 3600})
    h.register_app(webhook_url=webhook_sink.url)
    webhook_sink.statuses = [500] * 10
    revoke(h, "demo-public")
    # Attempts at 0, 60, 180, 420, 900 and 1860 s; the next would come at 3780 s, past the
    # window: the delivery gives up with one delay of its schedule unused.
    for made, wait in enumerate(delays[:5], start=1):
        h.wait_for(lambda s, n=made: len(s["webhooks"][0]["attempts"]) == n)
        h.control("clock", {"advance_s": wait})
    final = h.wait_for(lambda s: s["webhooks"][0]["gave_up"])["webhooks"][0]
    assert len(final["attempts"]) == 6


def test_duplicate_fault_sends_the_same_signed_event_twice(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    h.control("faults", {"endpoint": "webhook", "duplicate": True})
    revoke(h, "demo-public")
    first, second = webhook_sink.wait(2)
    assert first["body"] == second["body"]
    copies = h.state()["webhooks"]
    assert [d["duplicate_of"] for d in copies] == [None, 1]
    revoke(h, "demo-private")  # the fault is spent: one event, one delivery
    webhook_sink.wait(3)
    assert len(h.state()["webhooks"]) == 3


def test_delay_fault_holds_the_event_for_emulator_seconds(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    h.control("faults", {"endpoint": "webhook", "delay_s": 3600})
    revoke(h, "demo-public")
    held = delivery(h)
    assert held["attempts"] == [] and held["next_attempt_at"] >= h.state()["now"] + 3500
    h.control("clock", {"advance_s": 3600})
    webhook_sink.wait(1)
    assert openids(webhook_sink) == ["demo-public"]
    assert h.wait_for(lambda s: s["webhooks"][0]["delivered"])


def test_reorder_fault_sends_the_held_events_newest_first(
    emulator_server: EmulatorHandle, webhook_sink: WebhookSink
) -> None:
    h = emulator_server
    h.register_app(webhook_url=webhook_sink.url)
    h.control("faults", {"endpoint": "webhook", "reorder": True, "count": 3})
    for open_id in ("demo-public", "demo-private", "demo-no-comments"):
        revoke(h, open_id)
    webhook_sink.wait(3)
    assert openids(webhook_sink) == ["demo-no-comments", "demo-private", "demo-public"]

    # Clearing the faults sends what a reorder still holds, newest first.
    h.control("faults", {"endpoint": "webhook", "reorder": True, "count": 5})
    for open_id in ("demo-no-duet-stitch", "demo-60s"):
        revoke(h, open_id)
    assert all(not d["attempts"] for d in h.state()["webhooks"][3:])
    h.control("faults", method="DELETE")
    webhook_sink.wait(5)
    assert openids(webhook_sink)[3:] == ["demo-60s", "demo-no-duet-stitch"]


def test_webhook_faults_explain_what_they_take(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    bad = [
        ({"endpoint": "webhook", "status": 500}, "webhook faults take"),
        ({"endpoint": "video_init", "duplicate": True}, "endpoint 'webhook'"),
        ({"endpoint": "webhook", "reorder": True}, "count >= 2"),
    ]
    for body, words in bad:
        answer = h.client.post("/_emulator/faults", json=body)
        assert answer.status_code == 400 and words in answer.json()["error"], answer.text
