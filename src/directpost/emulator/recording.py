"""``--record FILE --upstream URL``: a proxy that writes each API exchange to a JSONL file.

For teams that want the real API's answers in their tests: point the client at this proxy, the
proxy at TikTok's sandbox (or anything that speaks the API), run the flow once, and serve the file
back later with ``--replay`` (``replay.py``). Every request but the ``/_emulator/`` ones goes
upstream as it came; the answer goes back to the client as it came, except that an init's
``data.upload_url`` is pointed at the proxy, so the upload is recorded too (the proxy remembers
where each upload really goes).

One line per exchange (format in docs/emulator.md, "Record and replay"): the request's method,
path, query and body (JSON, form fields, or for binary bodies their length and SHA-256), the
headers that matter, and the answer's status, headers and body. Secrets never reach the file:
``client_secret``, ``code``, ``code_verifier``, tokens and ``upload_token`` are replaced by
``<redacted>`` wherever they appear (bodies, queries, the ``Location`` of a redirect, the
``upload_url``), and the Authorization header is kept only as ``Bearer <redacted>``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _outbound

RECORDING_VERSION = 1
REDACTED = "<redacted>"
#: Request fields that are secrets (an authorization code included).
REQUEST_SECRETS = frozenset(
    {"client_secret", "access_token", "refresh_token", "code", "code_verifier", "upload_token"}
)
#: Answer fields that are secrets (not ``code``: in answers that is ``error.code``).
ANSWER_SECRETS = frozenset({"client_secret", "access_token", "refresh_token", "upload_token"})
REQUEST_HEADERS = ("content-type", "content-range")
ANSWER_HEADERS = ("content-type", "content-range", "location", "x-tt-logid")
#: Never passed on by a proxy (RFC 9110 §7.6.1), or recomputed for the new message.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)
UPSTREAM_TIMEOUT_S = 120.0
#: A catch-all route's methods (Starlette's default for a function endpoint is GET only).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RecordingError(ValueError):
    """A recording that cannot be used; one line naming the file and line."""


# ---------------------------------------------------------------------- the record format


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with the values of secret keys replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: REDACTED if k in secrets and v is not None else redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def redact_url(url: str, secrets: frozenset[str] = REQUEST_SECRETS) -> str:
    """``url`` with secret query parameters replaced (``?code=…`` of a redirect)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [(k, REDACTED if k in secrets else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="<>")))


def describe_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The body as the recording keeps it: ``json``, ``form``, ``text`` or ``bytes`` (length and
    SHA-256: upload chunks are not copied into the file)."""
    if not body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            return {"form": dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))}
        except UnicodeDecodeError:
            pass
    if "json" in kind or body[:1] in (b"{", b"["):
        try:
            return {"json": json.loads(body)}
        except (ValueError, UnicodeDecodeError):
            pass
    if kind.startswith(("text/", "application/json")) or not kind:
        try:
            return {"text": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"bytes": {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}}


def describe_request(request: Request, body: bytes) -> dict[str, Any]:
    """A request as written to (and matched against) the recording: secrets redacted."""
    headers = {name: request.headers[name] for name in REQUEST_HEADERS if name in request.headers}
    if "authorization" in request.headers:
        scheme = request.headers["authorization"].split(" ", 1)[0]
        headers["authorization"] = f"{scheme} {REDACTED}"
    described: dict[str, Any] = {
        "method": request.method,
        "path": request.url.path,
        "query": redact(dict(request.query_params), REQUEST_SECRETS),
        "headers": headers,
    }
    kept = describe_body(request.headers.get("content-type", ""), body)
    for kind in ("json", "form"):
        if kind in kept:
            kept[kind] = redact(kept[kind], REQUEST_SECRETS)
    return {**described, **kept}


def describe_answer(status: int, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """An answer as written to the recording: secrets redacted, JSON kept as JSON."""
    kept_headers: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in ANSWER_HEADERS:
            kept_headers[name.lower()] = value
    if "location" in kept_headers:
        kept_headers["location"] = redact_url(kept_headers["location"])
    content_type = kept_headers.get("content-type", "")
    kept = describe_body(content_type, body)
    if "bytes" in kept:  # an answer is served back: keep it whole
        kept = {"base64": base64.b64encode(body).decode()}
    if "json" in kept:
        answer = redact(kept["json"], ANSWER_SECRETS)
        upload_url = _upload_url(answer)
        if upload_url is not None:
            answer["data"]["upload_url"] = redact_url(upload_url, ANSWER_SECRETS)
        kept["json"] = answer
    return {"status": status, "headers": kept_headers, **kept}


def answer_body(answer: dict[str, Any]) -> bytes:
    """The bytes to send for a recorded answer."""
    if "json" in answer:
        return json.dumps(answer["json"], ensure_ascii=False, separators=(",", ":")).encode()
    if "text" in answer:
        return str(answer["text"]).encode()
    if "base64" in answer:
        return base64.b64decode(answer["base64"])
    return b""


def _upload_url(answer: Any) -> str | None:
    data = answer.get("data") if isinstance(answer, dict) else None
    url = data.get("upload_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and urlsplit(url).scheme in ("http", "https") else None


def with_origin(url: str, base_url: str) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s (path and query kept)."""
    base = urlsplit(base_url)
    return urlunsplit(urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc))


def point_upload_url_at(answer: dict[str, Any], base_url: str) -> tuple[str, str] | None:
    """Make ``data.upload_url`` (if any) go to ``base_url``; returns (old, new)."""
    url = _upload_url(answer)
    if url is None:
        return None
    answer["data"]["upload_url"] = with_origin(url, base_url)
    return url, answer["data"]["upload_url"]


# ---------------------------------------------------------------------- the recording proxy


class Recorder:
    """The proxy of ``--record``: forwards, answers, writes one line per exchange."""

    def __init__(self, path: Path, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RecordingError(f"--upstream {upstream!r} must be an http(s) URL")
        self.path = path
        self.upstream = upstream.rstrip("/")
        try:
            self._file: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise RecordingError(f"{path}: cannot be written ({exc.strerror})") from None
        self.count = 0
        # Where each rewritten upload URL really goes: (path, upload_id) -> upstream origin.
        self._upload_origins: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self._file.close()

    def _origin_for(self, request: Request) -> str:
        upload_id = request.query_params.get("upload_id", "")
        return self._upload_origins.get((request.url.path, upload_id), self.upstream)

    async def exchange(self, request: Request) -> Response:
        body = await request.body()
        target = self._origin_for(request) + request.url.path
        if request.url.query:
            target += "?" + request.url.query
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        try:
            status, answer_headers, answer = await _outbound.forward(
                request.method, target, headers, body, timeout_s=UPSTREAM_TIMEOUT_S
            )
        except _outbound.HTTPError as exc:
            return JSONResponse(
                {"error": f"directpost record: the upstream {self.upstream} failed: {exc!r}"}, 502
            )
        content_type = next((v for k, v in answer_headers if k.lower() == "content-type"), "")
        self._write(request, body, status, answer_headers, answer)
        if "json" in content_type:
            answer = self._upload_through_proxy(answer, str(request.base_url))
        kept = [(k, v) for k, v in answer_headers if k.lower() not in _HOP_BY_HOP]
        response = Response(answer, status_code=status)
        for name, value in kept:
            response.headers.append(name, value)
        return response

    def _upload_through_proxy(self, answer: bytes, base_url: str) -> bytes:
        try:
            parsed = json.loads(answer)
        except ValueError:
            return answer
        moved = point_upload_url_at(parsed, base_url) if isinstance(parsed, dict) else None
        if moved is None:
            return answer
        old, new = moved
        old_parts = urlsplit(old)
        upload_id = dict(parse_qsl(old_parts.query)).get("upload_id", "")
        origin = urlunsplit((old_parts.scheme, old_parts.netloc, "", "", ""))
        self._upload_origins[(urlsplit(new).path, upload_id)] = origin
        return json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode()

    def _write(
        self,
        request: Request,
        body: bytes,
        status: int,
        headers: list[tuple[str, str]],
        answer: bytes,
    ) -> None:
        self.count += 1
        line = {
            "v": RECORDING_VERSION,
            "seq": self.count,
            "at": time.time(),
            "request": describe_request(request, body),
            "answer": describe_answer(status, headers, answer),
        }
        self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()


def recording_app(path: Path, upstream: str) -> Starlette:
    """The ASGI app of ``directpost emulator --record FILE --upstream URL``."""
    recorder = Recorder(path, upstream)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "mode": "record"})

    async def status(request: Request) -> Response:
        return JSONResponse(
            {"mode": "record", "file": str(path), "upstream": upstream, "exchanges": recorder.count}
        )

    async def no_control(request: Request) -> Response:
        return JSONResponse(
            {"error": "the recording proxy has no control plane: use the upstream's"}, 404
        )

    async def proxy(request: Request) -> Response:
        return await recorder.exchange(request)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        recorder.close()

    app = Starlette(
        routes=[
            Route("/_emulator/health", health, methods=["GET"]),
            Route("/_emulator/recording", status, methods=["GET"]),
            Route("/_emulator/{rest:path}", no_control, methods=ANY_METHOD),
            Route("/{rest:path}", proxy, methods=ANY_METHOD),
        ],
        lifespan=lifespan,
    )
    app.state.recorder = recorder
    return app
