"""Operations endpoints: `/healthz` (alive), `/readyz` (ready to work), `/metrics` (Prometheus).

- `/healthz` answers at once without any I/O: the process is alive and serving (a liveness
  probe restarts it otherwise). It is also the Post page benchmark's bare endpoint.
- `/readyz` runs `publishing.health.readiness`: database, queue, media store, Redis when the
  budgets use it, and whether traffic to TikTok is allowed (a lockdown, TOS-2, is "not ready
  for TikTok traffic"). 200 when every check passed, else 503; the JSON body has each check's
  status and message, so whoever reads the probe sees what is wrong.
- `/metrics` exists only when the operator set `DIRECTPOST_OPERATOR_TOKEN` (404 otherwise, like
  `/operator`) and answers only `Authorization: Bearer <token>` (401 otherwise): the figures
  describe the deployment, not any one person, but they are the operator's.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from directpost.publishing.health import readiness
from directpost.web.api_contract import Alive, Problem, Readiness, either, json_only
from directpost.web.deps import ServicesDep
from directpost.web.metrics import exposition

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Alive)
def healthz() -> JSONResponse:
    """Liveness: answers without touching the database (also the bench's bare endpoint)."""
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: json_only("A dependency is not ready.", Readiness)},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness: each dependency's check, 200 when all pass, 503 when one fails."""
    checks = await run_in_threadpool(readiness, services)
    ready = all(check.ok for check in checks)
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": {check.name: check.as_json() for check in checks},
        },
        status_code=200 if ready else 503,
        headers={"cache-control": "no-store"},
    )


def _presents(request: Request, token: str) -> bool:
    scheme, _sep, presented = request.headers.get("authorization", "").partition(" ")
    return (
        scheme.lower() == "bearer"
        and bool(presented.strip())
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        401: json_only("Send the operator token.", Problem),
        404: either("No operator token is set: there is no such page."),
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus' text format, for the operator's token only (see the module)."""
    token = services.settings.operator_token.get_secret_value().strip()
    if not token:
        raise HTTPException(status_code=404)
    if not _presents(request, token):
        return JSONResponse(
            {"detail": "Send the operator token: Authorization: Bearer <token>."},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    body = await run_in_threadpool(exposition, services)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"})
