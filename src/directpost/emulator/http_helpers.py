"""Small request helpers shared by the route modules."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from .backend import Backend
from .errors import ControlError

#: The ASGI scope extension a route finds when the server can take a request's body to a file
#: (``server.BodyToFileProtocol``); in-process (ASGI transport) there is none. Its ``"write"``:
#: ``await write(fd, offset, progress)`` writes the rest of the request's body to ``fd`` from
#: ``offset`` and returns how many bytes of the body are in the file (fewer when the client went
#: away); ``progress``, if not None, is called with that count about every ``PROGRESS_STEP``.
BODY_TO_FILE = "directpost.body_to_file"
BodyToFile = Callable[[int, int, "Progress | None"], Awaitable[int]]
Progress = Callable[[int], None]
PROGRESS_STEP = 8 * 1024 * 1024


def pwrite_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> int:
    """Write all of ``data`` to ``fd`` at ``offset`` (a file may take less per call)."""
    view = memoryview(data)
    while view:
        wrote = os.pwrite(fd, view, offset)
        offset += wrote
        view = view[wrote:]
    return len(data)


async def body_to_file(
    request: Request, fd: int, offset: int, limit: int, progress: Progress | None = None
) -> int:
    """Write the request's body to ``fd`` from ``offset``; how many bytes it had.

    Through the server's extension when there is one (the body is read into one reused buffer
    and written from it), else from the ASGI stream. At most ``limit`` bytes are written; a
    longer body answers more than ``limit``. The server's extension only serves a body with a
    Content-Length, which the caller has checked is ``limit``. ``progress(written)`` lets the
    caller work on what is in the file while the rest arrives (the upload host hashes it).
    """
    offered = request.scope.get("extensions", {}).get(BODY_TO_FILE, {})
    fast: BodyToFile | None = offered.get("write")
    if fast is not None:
        return await fast(fd, offset, progress)
    received = reported = 0
    async for piece in request.stream():
        if received + len(piece) > limit:
            return received + len(piece)
        received += pwrite_all(fd, piece, offset + received)
        if progress is not None and received - reported >= PROGRESS_STEP:
            reported = received
            progress(received)
    return received


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
