"""Webhook verification over raw bytes, and typed events."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from directpost.tiktok import (
    AuthorizationRemovedEvent,
    InboxDeliveredEvent,
    NoLongerPubliclyAvailableEvent,
    PubliclyAvailableEvent,
    PublishCompleteEvent,
    PublishFailedEvent,
    UnknownEvent,
    WebhookSignatureError,
    parse_event,
    sign,
    verify,
)

SECRET = "client-secret-xyz"
NOW = 1_700_000_000


def envelope(event: str, content: str) -> bytes:
    return json.dumps(
        {
            "client_key": "bwo2m45353a6k85",
            "event": event,
            "create_time": NOW - 5,
            "user_openid": "_000n3xads4rfwdUKrs9LV",
            "content": content,
        }
    ).encode()


def test_signature_is_hmac_sha256_of_timestamp_dot_raw_body() -> None:
    body = envelope("post.publish.complete", '{"publish_id":"p1","publish_type":"DIRECT_PUBLISH"}')
    header = sign(body, SECRET, timestamp=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},s={expected}"
    event = verify(body, header, SECRET, now=NOW + 10)
    assert isinstance(event, PublishCompleteEvent)
    assert (event.publish_id, event.publish_type, event.user_openid) == (
        "p1",
        "DIRECT_PUBLISH",
        "_000n3xads4rfwdUKrs9LV",
    )


def test_a_body_changed_by_one_byte_or_reformatted_is_rejected() -> None:
    body = envelope("post.publish.complete", '{"publish_id":"p1"}')
    header = sign(body, SECRET, timestamp=NOW)
    reformatted = json.dumps(json.loads(body), indent=1).encode()
    for bad in (body + b" ", reformatted, body.replace(b"p1", b"p2")):
        with pytest.raises(WebhookSignatureError, match="does not match"):
            verify(bad, header, SECRET, now=NOW)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(body, header, "another-secret", now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, 10_000])
def test_stale_or_future_signatures_are_rejected(skew: int) -> None:
    body = envelope("authorization.removed", '{"reason": 1}')
    header = sign(body, SECRET, timestamp=NOW)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify(body, header, SECRET, now=NOW + skew)
    assert verify(body, header, SECRET, now=NOW + 300, tolerance=300) is not None


@pytest.mark.parametrize(
    "header", ["", "garbage", "t=abc,s=00", f"t={NOW}", "s=00", f"t={NOW},s=zz\u00e9"]
)
def test_malformed_headers_are_rejected(header: str) -> None:
    with pytest.raises(WebhookSignatureError):
        verify(envelope("x", "{}"), header, SECRET, now=NOW)


def test_header_parts_may_come_in_any_order_with_spaces() -> None:
    body = envelope("authorization.removed", '{"reason": 5}')
    t_part, s_part = sign(body, SECRET, timestamp=NOW).split(",")
    event = verify(body, f"{s_part}, {t_part}", SECRET, now=NOW)
    assert isinstance(event, AuthorizationRemovedEvent) and event.reason == 5


def test_each_event_is_parsed_to_its_type_with_content_decoded_twice() -> None:
    failed = parse_event(
        envelope(
            "post.publish.failed",
            '{"publish_id":"p","reason":"video_pull_failed","publish_type":"DIRECT_PUBLISH"}',
        )
    )
    assert isinstance(failed, PublishFailedEvent) and failed.reason == "video_pull_failed"
    inbox = parse_event(
        envelope("post.publish.inbox_delivered", '{"publish_id":"p","publish_type":"INBOX_SHARE"}')
    )
    assert isinstance(inbox, InboxDeliveredEvent) and inbox.publish_type == "INBOX_SHARE"
    public = parse_event(
        envelope(
            "post.publish.publicly_available", '{"publish_id":"p","post_id":7261463769757501445}'
        )
    )
    assert isinstance(public, PubliclyAvailableEvent) and public.post_id == "7261463769757501445"
    gone = parse_event(
        envelope(
            "post.publish.no_longer_publicaly_available",
            '{"publish_id":"p","post_id":"7261463769757501445"}',
        )
    )
    assert isinstance(gone, NoLongerPubliclyAvailableEvent)
    assert gone.post_id == "7261463769757501445"
    legacy = parse_event(envelope("video.publish.completed", '{"share_id":"video.1"}'))
    assert isinstance(legacy, UnknownEvent) and legacy.content == {"share_id": "video.1"}


def test_the_official_authorization_removed_example_parses() -> None:
    body = (
        b'{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,'
        b'"user_openid":"act.example12345Example12345Example","content":"{\\"reason\\": 1 }"}'
    )
    event = parse_event(body)
    assert isinstance(event, AuthorizationRemovedEvent)
    assert (event.reason, event.create_time, event.client_key) == (1, 1615338610, "bwo2m45353a6k85")


def test_garbage_bodies_are_a_clear_value_error() -> None:
    for bad in (b"not json", b"[]", b'{"event":"x","content":"[1]"}', b'{"content":"{}"}'):
        with pytest.raises(ValueError, match="not a TikTok webhook event"):
            parse_event(bad)


def test_verify_needs_a_secret() -> None:
    with pytest.raises(WebhookSignatureError, match="secret"):
        verify(b"{}", "t=1,s=00", "", now=1)
