"""Small request helpers shared by the route modules."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .backend import Backend
from .errors import ControlError


async def read_api_json(request: Request, backend: Backend) -> Any:
    """The JSON body of an API call; an empty body reads as ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise backend.invalid_param("The request body is not valid JSON.") from None


async def read_control_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def base_url(request: Request) -> str:
    """This server's own base URL, ending in '/', as the client reached it."""
    return str(request.base_url)
