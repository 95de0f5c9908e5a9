"""Issue 17, notifications: the settings page (each channel optional, bad input refused in
plain words, the webhook's secret shown once, a test that reaches a signed receiver), the
in-app list with the header's badge (read in the page's one statement), isolation between
people, and the person's export and deletion (DG-5)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from directpost.publishing import notify_webhook
from directpost.store import accounts
from directpost.store import notifications as nstore
from directpost.store.base import utcnow
from tests.fixtures.live import AppClient, Personas, api_sign_in, fetch_csrf
from tests.fixtures.notify_receivers import webhook_receiver
from tests.web.test_compose_page_cost import MAX_STATEMENTS, statements_of

pytestmark = pytest.mark.anyio

PAGE = "/settings/notifications"
HTML = {"accept": "text/html"}


def _person_id(app_client: AppClient, open_id: str) -> int:
    with app_client.app.state.services.factory() as session:
        account = accounts.find_account_by_open_id(session, open_id=open_id)
        assert account is not None
        return account.person_id


def _notify(app_client: AppClient, person_id: int, *, title: str) -> None:
    with app_client.app.state.services.factory() as session, session.begin():
        nstore.add_notification(
            session,
            person_id=person_id,
            channels=nstore.Channels(),
            event="post.failed",
            now=utcnow(),
            state="failed",
            title=title,
            account_name="demo",
            reason="TikTok could not process the video.",
        )


async def test_a_bad_email_address_is_refused_in_plain_words(personas: Personas) -> None:
    csrf = await fetch_csrf(personas.creator, PAGE)
    answer = await personas.creator.post(
        PAGE, data={"csrf_token": csrf, "email_address": "not an address"}, headers=HTML
    )
    assert answer.status_code == 400
    assert "is not an e-mail address" in answer.text
    answer = await personas.creator.post(
        PAGE, data={"csrf_token": csrf, "in_app": "1", "email_address": "me@example.org"}
    )
    assert answer.status_code == 303
    page = await personas.creator.get(PAGE)
    assert 'value="me@example.org"' in page.text


async def test_webhook_secret_is_shown_once_and_the_test_event_verifies_with_it(
    personas: Personas,
) -> None:
    csrf = await fetch_csrf(personas.creator, PAGE)
    with webhook_receiver() as receiver:
        saved = await personas.creator.post(
            f"{PAGE}/webhook", data={"csrf_token": csrf, "webhook_url": receiver.url}
        )
        assert saved.status_code == 200, saved.text
        secret = re.search(r'id="webhook-secret"[^>]*value="(whsec_[^"]+)"', saved.text)
        assert secret is not None, saved.text
        again = await personas.creator.get(PAGE)
        assert secret.group(1) not in again.text, "the secret is shown only once"

        tested = await personas.creator.post(
            f"{PAGE}/test", data={"csrf_token": csrf, "channel": "webhook"}
        )
        assert tested.status_code == 200 and "The test was delivered." in tested.text
    [hook] = receiver.received
    notify_webhook.verify(hook.body, hook.headers["x-directpost-signature"], secret.group(1))
    assert json.loads(hook.body)["event"] == "test"
    assert 'data-state="delivered"' in tested.text  # the deliveries list shows it


async def test_bad_webhook_addresses_and_channels_are_refused_without_a_500(
    personas: Personas,
) -> None:
    csrf = await fetch_csrf(personas.creator, PAGE)
    for url in ("ftp://example.org/x", "https://", "https://user:pw@example.org/", "x" * 3000):
        answer = await personas.creator.post(
            f"{PAGE}/webhook", data={"csrf_token": csrf, "webhook_url": url}, headers=HTML
        )
        assert answer.status_code in (400, 422), (url, answer.status_code)
    answer = await personas.creator.post(
        f"{PAGE}/test", data={"csrf_token": csrf, "channel": "pigeon"}, headers=HTML
    )
    assert answer.status_code == 400
    answer = await personas.creator.post(
        f"{PAGE}/test", data={"csrf_token": csrf, "channel": "email"}, headers=HTML
    )
    assert answer.status_code == 400 and "Set this channel up first" in answer.text


async def test_badge_counts_unread_then_the_list_marks_them_read_and_others_see_nothing(
    personas: Personas,
) -> None:
    app = personas.app
    creator_id = _person_id(app, "demo-private")
    _notify(app, creator_id, title="Beach day")
    _notify(app, creator_id, title="Second try")

    posts = await personas.creator.get("/posts")
    assert re.search(r'data-testid="unread-count"[^>]*>2<', posts.text), posts.text
    other = await personas.other.get("/notifications")
    assert "Beach day" not in other.text and 'data-testid="unread-count"' not in other.text

    listed = await personas.creator.get("/notifications")
    assert "Beach day" in listed.text and "Second try" in listed.text
    assert listed.text.count("notification-unread") == 2
    assert 'data-testid="unread-count"' not in listed.text  # read now
    after = await personas.creator.get("/posts")
    assert 'data-testid="unread-count"' not in after.text


async def test_the_badge_costs_the_post_page_no_statement(app_client: AppClient) -> None:
    await api_sign_in(app_client.client, open_id="demo-private")
    _notify(app_client, _person_id(app_client, "demo-private"), title="x")
    await app_client.client.get("/compose")
    with statements_of(app_client) as statements:
        page = await app_client.client.get("/compose")
    assert 'data-testid="unread-count"' in page.text
    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)


async def test_notifications_are_exported_without_the_secret_and_deleted_with_the_person_dg_5(
    personas: Personas,
) -> None:
    app = personas.app
    person_id = _person_id(app, "demo-private")
    csrf = await fetch_csrf(personas.creator, PAGE)
    saved = await personas.creator.post(
        f"{PAGE}/webhook", data={"csrf_token": csrf, "webhook_url": "http://127.0.0.1:9/h"}
    )
    secret = re.search(r'value="(whsec_[^"]+)"', saved.text)
    assert secret is not None
    _notify(app, person_id, title="Exported")

    export = await personas.creator.get("/me/data/export")
    data = export.json()["data"]
    assert data["notifications"][0]["title"] == "Exported"
    assert data["notification_settings"][0]["webhook_url"] == "http://127.0.0.1:9/h"
    assert "webhook_secret_enc" not in data["notification_settings"][0]
    assert secret.group(1) not in export.text

    with app.app.state.services.factory() as session, session.begin():
        accounts.delete_person(session, person_id=person_id)
    with app.app.state.services.factory() as session:
        for table in (nstore.Notification, nstore.NotificationSettings):
            assert session.scalars(select(table).where(table.person_id == person_id)).all() == []
