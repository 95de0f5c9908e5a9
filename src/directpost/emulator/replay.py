"""``--replay FILE``: serve the answers of a ``--record`` file back, with no upstream at all.

A request is matched to a recorded one by method, path, query and body after normalising both:
secrets (``client_secret``, ``code``, tokens…), nonces (``state``, ``code_challenge``) and ids
(any key ending in ``_id``: ``publish_id``, ``upload_id``…) are ignored, since they differ from
run to run; an upload chunk is matched by its ``Content-Range``, not its bytes. When several
recorded requests match (status polls), their answers are served in recorded order, each once.
A request with no answer left gets a 501 in TikTok's error envelope whose message names the
request and says why (nothing recorded for the path, a different query or body, or every
recorded answer already used). ``POST /_emulator/reset`` rewinds the recording.
"""

from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import new_log_id
from .recording import (
    ANY_METHOD,
    RECORDING_VERSION,
    REQUEST_SECRETS,
    RecordingError,
    answer_body,
    describe_request,
    point_upload_url_at,
)

#: Values that change from run to run and so never decide a match (besides secrets and ids).
NONCES = frozenset({"state", "code_challenge"})
IGNORED = "<ignored>"


def normalise(value: Any) -> Any:
    """``value`` with secrets, nonces and ids replaced by one placeholder, at any depth."""
    if isinstance(value, dict):
        return {
            k: IGNORED
            if (k in REQUEST_SECRETS or k in NONCES or k.endswith("_id")) and v is not None
            else normalise(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def match_key(request: dict[str, Any]) -> str:
    """What decides whether a request is the recorded one (see the module docstring)."""
    body = request.get("json", request.get("form", request.get("text")))
    content_range = (request.get("headers") or {}).get("content-range")
    key = [request["method"], request["path"], normalise(request.get("query") or {})]
    return json.dumps([*key, content_range, normalise(body)], sort_keys=True)


@dataclass(frozen=True)
class Recorded:
    line: int
    request: dict[str, Any]
    answer: dict[str, Any]


def read_recording(path: Path) -> list[Recorded]:
    """The exchanges of a recording; RecordingError names the file and line of a bad one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot be read ({exc})") from None
    exchanges: list[Recorded] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise RecordingError(f"{path}:{number}: not valid JSON ({exc})") from None
        if not isinstance(item, dict) or item.get("v") != RECORDING_VERSION:
            raise RecordingError(
                f"{path}:{number}: not a recorded exchange of format version {RECORDING_VERSION}"
            )
        request, answer = item.get("request"), item.get("answer")
        ok = (
            isinstance(request, dict)
            and isinstance(request.get("method"), str)
            and isinstance(request.get("path"), str)
            and isinstance(answer, dict)
            and isinstance(answer.get("status"), int)
        )
        if not ok:
            raise RecordingError(
                f"{path}:{number}: an exchange needs request.method, request.path and answer.status"
            )
        assert isinstance(request, dict) and isinstance(answer, dict)
        exchanges.append(Recorded(number, request, answer))
    return exchanges


class Replayer:
    """Answers requests from a recording, each recorded answer once, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.exchanges = read_recording(path)
        self.served = 0
        self.rewind()

    def rewind(self) -> None:
        self.queues: dict[str, deque[Recorded]] = {}
        for exchange in self.exchanges:
            self.queues.setdefault(match_key(exchange.request), deque()).append(exchange)
        self.served = 0

    def left(self) -> int:
        return sum(len(q) for q in self.queues.values())

    async def answer(self, request: Request) -> Response:
        described = describe_request(request, await request.body())
        key = match_key(described)
        queue = self.queues.get(key)
        if not queue:
            return self._unmatched(described, key)
        exchange = queue.popleft()
        self.served += 1
        recorded = copy.deepcopy(exchange.answer)
        if isinstance(recorded.get("json"), dict):
            point_upload_url_at(recorded["json"], str(request.base_url))
        response = Response(answer_body(recorded), status_code=recorded["status"])
        for name, value in (recorded.get("headers") or {}).items():
            response.headers[name] = str(value)
        return response

    def _unmatched(self, described: dict[str, Any], key: str) -> Response:
        method, path = described["method"], described["path"]
        same_path = [
            e for e in self.exchanges if e.request["method"] == method and e.request["path"] == path
        ]
        if key in self.queues:
            count = sum(match_key(e.request) == key for e in same_path)
            why = f"its {count} recorded answer(s) were served already (POST /_emulator/reset rewinds)"
        elif same_path:
            lines = ", ".join(str(e.line) for e in same_path[:10])
            why = (
                f"{len(same_path)} recorded request(s) to {path} (lines {lines}) have a different "
                "query or body"
            )
        else:
            why = f"nothing was recorded for {method} {path}"
        message = (
            f"directpost replay ({self.path.name}): no recorded answer for {method} {path}: {why}"
        )
        return JSONResponse(
            {
                "data": {},
                "error": {
                    "code": "replay_not_recorded",
                    "message": message,
                    "log_id": new_log_id(),
                },
                "request": normalise(described),
            },
            501,
        )


def replay_app(path: Path) -> Starlette:
    """The ASGI app of ``directpost emulator --replay FILE``."""
    replayer = Replayer(path)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "mode": "replay"})

    async def status(request: Request) -> Response:
        return JSONResponse(
            {
                "mode": "replay",
                "file": str(path),
                "exchanges": len(replayer.exchanges),
                "served": replayer.served,
                "left": replayer.left(),
            }
        )

    async def reset(request: Request) -> Response:
        replayer.rewind()
        return JSONResponse({"reset": True, "left": replayer.left()})

    async def no_control(request: Request) -> Response:
        return JSONResponse(
            {"error": "replay mode has only /_emulator/health, /recording and /reset"}, 404
        )

    async def serve(request: Request) -> Response:
        return await replayer.answer(request)

    app = Starlette(
        routes=[
            Route("/_emulator/health", health, methods=["GET"]),
            Route("/_emulator/recording", status, methods=["GET"]),
            Route("/_emulator/reset", reset, methods=["POST"]),
            Route("/_emulator/{rest:path}", no_control, methods=ANY_METHOD),
            Route("/{rest:path}", serve, methods=ANY_METHOD),
        ]
    )
    app.state.replayer = replayer
    return app
