"""How the emulator writes its answers: TikTok's envelope, the OAuth shape, plain upload replies.

JSON is written here with ``json.dumps`` of Python ints, so 19-digit post ids leave as bare
numbers, never through a float (spec §1).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .errors import ApiError, OAuthError, new_log_id


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def ok(data: dict[str, Any] | None, *, now: float, include_data: bool = True) -> Response:
    """The v2 success envelope; ``include_data=False`` for cancel, whose example has no data."""
    log_id = new_log_id(now)
    payload: dict[str, Any] = {}
    if include_data:
        payload["data"] = data if data is not None else {}
    payload["error"] = {"code": "ok", "message": "", "log_id": log_id}
    return json_response(payload, headers={"x-tt-logid": log_id})


def api_error(exc: ApiError, *, now: float) -> Response:
    log_id = new_log_id(now)
    payload = {"data": {}, "error": {"code": exc.code, "message": exc.message, "log_id": log_id}}
    return json_response(payload, exc.status, headers={"x-tt-logid": log_id})


def oauth_error(exc: OAuthError, *, status: int, now: float) -> Response:
    log_id = new_log_id(now)
    payload = {"error": exc.error, "error_description": exc.description, "log_id": log_id}
    return json_response(payload, status, headers={"x-tt-logid": log_id})
