"""Being told: the in-app list (`/notifications`) and the person's channels
(`/settings/notifications`): in the app (on by default), e-mail, and a signed webhook, each
optional; a test by e-mail or webhook, and the latest deliveries with their status.

Pages see view models only (`NotificationView`, `DeliveryView`, `ChannelsView`): the webhook's
secret is shown once, on the answer to the request that made it, and never again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from directpost.publishing import notify_delivery, notify_webhook
from directpost.store import notifications as store
from directpost.store.base import utcnow
from directpost.web.api_contract import (
    CHANGE,
    DATABASE,
    INVALID,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    answers,
    html_route,
    page,
    redirect,
)
from directpost.web.deps import CurrentPerson, DbSession, ServicesDep
from directpost.web.i18n import _
from directpost.web.templating import render
from directpost.web.views import PersonView

router = APIRouter()

SETTINGS_PATH = "/settings/notifications"
#: Something@host.tld: no spaces, commas, quotes or angle brackets (one address, nothing that
#: could reach another header).
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def email_problem(address: str) -> str | None:
    """Why an e-mail address cannot be used (None: it can)."""
    if len(address) > 254 or not _EMAIL.match(address) or ".." in address:
        return _("“%(address)s” is not an e-mail address.") % {"address": address[:80]}
    return None


# --- view models -----------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


@dataclass(frozen=True, slots=True)
class NotificationView:
    id: int
    headline: str
    title: str
    account: str
    reason: str
    state: str
    url: str
    created: str
    unread: bool


@dataclass(frozen=True, slots=True)
class DeliveryView:
    channel: str
    target: str
    event: str
    state: str
    attempts: int
    status: str
    error: str
    created: str
    delivered: str
    next_try: str


@dataclass(frozen=True, slots=True)
class ChannelsView:
    in_app: bool
    email_address: str
    webhook_url: str
    has_secret: bool
    #: The operator set up a mail server (DIRECTPOST_SMTP_URL and DIRECTPOST_SMTP_FROM).
    email_available: bool


def _delivery_view(delivery: store.NotificationDelivery, event: str) -> DeliveryView:
    return DeliveryView(
        channel=delivery.channel,
        target=delivery.target,
        event=event,
        state=delivery.state,
        attempts=delivery.attempts,
        status=str(delivery.last_status) if delivery.last_status is not None else "",
        error=delivery.last_error,
        created=_when(delivery.created_at),
        delivered=_when(delivery.delivered_at),
        next_try=_when(delivery.next_try_at) if delivery.state == store.PENDING else "",
    )


# --- the list ----------------------------------------------------------------------------------


@router.get(
    "/notifications", response_class=HTMLResponse, responses=html_route(SIGNED_IN, DATABASE)
)
def notifications_page(request: Request, person: CurrentPerson, db: DbSession) -> HTMLResponse:
    """The person's notifications, newest first; showing them marks them read."""
    rows = store.list_notifications(db, person_id=person.id)
    items = [
        NotificationView(
            id=n.id,
            headline=_(notify_delivery.headline(n.event)),
            title=n.title,
            account=n.account_name,
            reason=n.reason,
            state=n.state,
            url=f"/posts/{n.post_id}" if n.post_id is not None else "",
            created=_when(n.created_at),
            unread=n.read_at is None,
        )
        for n in rows
    ]
    store.mark_read(db, person_id=person.id, now=utcnow())
    view: PersonView | None = getattr(request.state, "person_view", None)
    if view is not None:  # read now: the header's badge says so on this very page
        request.state.person_view = replace(view, unread_notifications=0)
    return render(request, "notifications/list.html", {"items": items})


# --- the settings ------------------------------------------------------------------------------


def _settings_context(db: Session, *, person_id: int, services_email: bool) -> dict[str, object]:
    row = store.get_settings(db, person_id=person_id)
    channels = store.channels_of(row)
    deliveries = [
        _delivery_view(delivery, _(notify_delivery.headline(notification.event)))
        for delivery, notification in store.recent_deliveries(db, person_id=person_id)
    ]
    return {
        "channels": ChannelsView(
            in_app=channels.in_app,
            email_address=channels.email_address,
            webhook_url=row.webhook_url if row is not None else "",
            has_secret=bool(row is not None and row.webhook_secret_enc),
            email_available=services_email,
        ),
        "deliveries": deliveries,
    }


def _settings_page(
    request: Request,
    db: Session,
    *,
    person_id: int,
    services: ServicesDep,
    message: str = "",
    problem: str = "",
    secret: str = "",
    status: int = 200,
) -> HTMLResponse:
    settings = services.settings
    context = _settings_context(
        db,
        person_id=person_id,
        services_email=bool(settings.smtp_url.get_secret_value() and settings.smtp_from),
    )
    context.update({"message": message, "problem": problem, "secret": secret})
    return render(request, "notifications/settings.html", context, status_code=status)


_CHANGED = answers(
    {
        200: page("Done: the settings page, with what happened."),
        303: redirect("Saved: back to the settings page."),
        400: page("A value cannot be used (the page says which); nothing was changed."),
    },
    SIGNED_IN_CHANGE,
    CHANGE,
    DATABASE,
    INVALID,
)


@router.get(SETTINGS_PATH, response_class=HTMLResponse, responses=html_route(SIGNED_IN, DATABASE))
def settings_page(
    request: Request, person: CurrentPerson, db: DbSession, services: ServicesDep, saved: str = ""
) -> HTMLResponse:
    message = _("Saved.") if saved else ""
    return _settings_page(request, db, person_id=person.id, services=services, message=message)


@router.post(SETTINGS_PATH, status_code=303, response_class=RedirectResponse, responses=_CHANGED)
def save_channels(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    in_app: str = Form(""),
    email_address: str = Form("", max_length=1000),
) -> Response:
    """In the app on or off; the e-mail address (empty: no e-mail)."""
    address = email_address.strip()
    problem = email_problem(address) if address else None
    if problem:
        return _settings_page(
            request, db, person_id=person.id, services=services, problem=problem, status=400
        )
    row = store.settings_for_update(db, person_id=person.id)
    now = utcnow()
    if row.email_address != address:
        store.cancel_pending(db, person_id=person.id, channel=store.EMAIL, now=now)
    row.in_app = bool(in_app)
    row.email_address = address
    row.updated_at = now
    return RedirectResponse(SETTINGS_PATH + "?saved=1", status_code=303)


@router.post(f"{SETTINGS_PATH}/webhook", response_class=HTMLResponse, responses=_CHANGED)
async def save_webhook(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    webhook_url: str = Form("", max_length=4000),
    new_secret: str = Form(""),
) -> Response:
    """Set, change or remove (empty) the webhook; a new URL, or `new_secret`, makes a new
    signing secret, shown once on the answer."""
    url = webhook_url.strip()
    if url:
        try:
            await notify_webhook.resolve_target(
                url, allow_private=notify_webhook.private_allowed(services.settings)
            )
        except notify_webhook.TargetRefused as refused:
            return await run_in_threadpool(
                _settings_page,
                request,
                db,
                person_id=person.id,
                services=services,
                problem=str(refused),
                status=400,
            )

    def save() -> str:
        row = store.settings_for_update(db, person_id=person.id)
        now = utcnow()
        secret = ""
        if row.webhook_url != url:
            store.cancel_pending(db, person_id=person.id, channel=store.WEBHOOK, now=now)
        if not url:
            row.webhook_secret_enc = None
        elif row.webhook_url != url or new_secret or not row.webhook_secret_enc:
            secret = notify_webhook.new_secret()
            row.webhook_secret_enc = services.cipher.encrypt(secret)
        row.webhook_url = url
        row.updated_at = now
        db.flush()
        return secret

    secret = await run_in_threadpool(save)
    if not secret:
        return RedirectResponse(SETTINGS_PATH + "?saved=1", status_code=303)
    return await run_in_threadpool(
        _settings_page,
        request,
        db,
        person_id=person.id,
        services=services,
        message=_("Webhook saved. Copy its signing secret now: it is not shown again."),
        secret=secret,
    )


@router.post(f"{SETTINGS_PATH}/test", response_class=HTMLResponse, responses=_CHANGED)
async def send_test(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    services: ServicesDep,
    channel: str = Form(..., max_length=16),
) -> Response:
    """Send a test event by e-mail or webhook now, and say how it went."""
    if channel not in (store.EMAIL, store.WEBHOOK):
        return await run_in_threadpool(
            _settings_page,
            request,
            db,
            person_id=person.id,
            services=services,
            problem=_("There is no such channel."),
            status=400,
        )
    sender = notify_delivery.Sender(services.settings, services.cipher)
    delivery = await notify_delivery.send_test(
        services.factory, sender, person_id=person.id, channel=channel
    )
    if delivery is None:
        problem, message, status = _("Set this channel up first."), "", 400
    elif delivery.state == store.DELIVERED:
        problem, message, status = "", _("The test was delivered."), 200
    else:
        problem = _("The test was not delivered: %(error)s") % {"error": delivery.last_error}
        message, status = "", 200
    return await run_in_threadpool(
        _settings_page,
        request,
        db,
        person_id=person.id,
        services=services,
        message=message,
        problem=problem,
        status=status,
    )
