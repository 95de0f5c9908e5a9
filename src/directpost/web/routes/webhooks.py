"""`POST /webhooks/tiktok`: TikTok's events, verified on the raw body and applied at once.

The signature is checked over the exact bytes received (spec §6.4), so the body is read raw,
never re-serialised. Forged, stale or replayed deliveries are refused; duplicates (TikTok
delivers at least once) are acknowledged and ignored. The answer is a fast 200 (CSRF does not
apply here: the signature is the proof of origin).
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from directpost.publishing import webhooks
from directpost.publishing.telemetry import record_webhook_delivery
from directpost.tiktok import SIGNATURE_HEADER
from directpost.web.api_contract import (
    DATABASE,
    WEBHOOK_BODY,
    Problem,
    WebhookAck,
    answers,
    json_only,
)
from directpost.web.deps import ServicesDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

#: A webhook body larger than this is not TikTok's (its events are a few hundred bytes).
MAX_BODY_BYTES = 64 * 1024


@router.post(
    "/webhooks/tiktok",
    response_model=WebhookAck,
    responses=answers(
        {
            400: json_only("The signature does not verify, or the body is not an event.", Problem),
            413: json_only("The body is too large to be a TikTok event.", Problem),
        },
        DATABASE,
    ),
    openapi_extra=WEBHOOK_BODY,
)
async def tiktok_webhook(request: Request, services: ServicesDep) -> Response:
    try:
        body = await request.body()
    except ClientDisconnect:  # the sender gave up; it will deliver again
        record_webhook_delivery("client_gone")
        return Response(status_code=400)
    if len(body) > MAX_BODY_BYTES:
        record_webhook_delivery("too_large")
        return JSONResponse({"detail": "The body is too large to be a TikTok event."}, 413)
    settings = services.settings
    try:
        event = webhooks.verify_delivery(
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            client_key=settings.tiktok_client_key,
            client_secret=settings.tiktok_client_secret.get_secret_value(),
            now=time.time(),
        )
    except webhooks.WebhookRejected as exc:
        log.warning("refused a webhook delivery: %s", exc)
        record_webhook_delivery("rejected")
        return JSONResponse({"detail": "The signature does not verify."}, status_code=400)

    def apply() -> webhooks.WebhookResult:
        with services.factory() as session, session.begin():
            return webhooks.apply_webhook(session, body=body, event=event)

    try:
        result = await run_in_threadpool(apply)
    except Exception:
        record_webhook_delivery("failed")  # TikTok delivers it again; the log has the why
        raise
    record_webhook_delivery("duplicate" if result.duplicate else "applied")
    return JSONResponse({"ok": True, "duplicate": result.duplicate})
