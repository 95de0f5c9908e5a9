"""The compliance log: every app request the emulator receives, with what an auditor would flag.

Each request that is not the emulator's own (``/_emulator/``) gets an entry — time (emulator
clock), method, path, the app and creator when known, the status answered — and a list of
verdicts (``compliance_checks``). An ASGI middleware opens the entry and notes the answer; the
API routes call the hooks below with what they parsed (the init's JSON, creator_info's answer,
the status answered), so nothing reads a request body twice and uploads are never touched here.

Under ``EmulatorConfig.strict`` each verdict becomes the error TikTok would give
(``privacy_level_option_mismatch``, ``invalid_params``) or, where TikTok gives none, a 400 in
the answer's own shape with the verdict as the message (code ``compliance_verdict``). Verdicts
on requests TikTok refuses anyway (over the rate limit, a refused chunk) are logged only.

Read through ``GET /_emulator/compliance`` and the page ``/_emulator/compliance.html``.
"""

from __future__ import annotations

import itertools
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import compliance_checks as checks
from .backend import Backend
from .errors import ApiError, OAuthError
from .faults import PATH_ENDPOINTS  # the endpoint names the rate limiter counts by
from .responses import api_error, oauth_error
from .state import FINAL_STATUSES, Publish, Token

#: How many of the latest requests the log keeps.
LOG_SIZE = 5_000
#: The error code of a strict answer where TikTok itself has none.
STRICT_CODE = "compliance_verdict"
#: After a final status, a repeat fetch closer than this to the previous one is "too fast".
FINAL_FETCH_SPACING_S = 60.0

_UPLOAD_PATH = "/upload/video/"
_AUTHORIZE_PATH = "/v2/auth/authorize/"


@dataclass(slots=True)
class Entry:
    """One request in the log."""

    id: int
    at: float
    method: str
    path: str
    client_key: str | None = None
    open_id: str | None = None
    publish_id: str | None = None
    status: int | None = None
    verdicts: list[checks.Verdict] = field(default_factory=list)
    #: A chunk's first byte (its Content-Range), to tell a resume from a chunk out of order.
    chunk_first: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "client_key": self.client_key,
            "open_id": self.open_id,
            "publish_id": self.publish_id,
            "status": self.status,
            "verdicts": [v.view() for v in self.verdicts],
        }


#: The entry of the request being handled, for the route hooks (set by the middleware).
_CURRENT: ContextVar[Entry | None] = ContextVar("directpost_emulator_compliance", default=None)


@dataclass
class _FinalFetches:
    answered: int = 0
    last_at: float = 0.0


class ComplianceLog:
    """The bounded log and what the checks remember of each app (reset with the world)."""

    def __init__(self, backend: Backend, size: int = LOG_SIZE) -> None:
        self.backend = backend
        self.entries: deque[Entry] = deque(maxlen=size)
        self._ids = itertools.count(1)
        #: (client_key, open_id) -> the last successful creator_info answer.
        self.creator_info_seen: dict[tuple[str, str], checks.CreatorInfoSeen] = {}
        #: publish_id -> how often its final status was answered, and the last fetch's time.
        self.final_fetches: dict[str, _FinalFetches] = {}

    def reset(self) -> None:
        """Forget the entries and everything remembered (``POST /_emulator/reset``)."""
        self.entries.clear()
        self.creator_info_seen.clear()
        self.final_fetches.clear()

    def clear(self) -> None:
        """Forget the entries only (``DELETE /_emulator/compliance``): what the apps were told
        stays remembered, so clearing never makes the next compliant request look wrong."""
        self.entries.clear()

    @property
    def strict(self) -> bool:
        return bool(self.backend.config.strict)

    # ------------------------------------------------------------------ entries

    def open(self, scope: Scope) -> Entry:
        """A new entry for the request in ``scope``, with the app and creator when known."""
        backend = self.backend
        entry = Entry(next(self._ids), backend.now(), scope["method"], scope["path"])
        bearer: str | None = None
        referer: str | None = None
        content_range: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                bearer = value.decode("latin-1")
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name == b"content-range":
                content_range = value
        if content_range is not None:
            entry.chunk_first = _first_byte(content_range)
        if bearer is not None and bearer.startswith("Bearer "):
            token = backend.tokens.get(bearer[7:])
            if token is not None:
                entry.client_key, entry.open_id = token.client_key, token.open_id
        query: bytes = scope.get("query_string", b"")
        if query and entry.client_key is None:
            self._identify_from_query(entry, query)
        if query or referer:
            secrets = [(a.client_key, a.client_secret) for a in backend.apps.values()]
            entry.verdicts.extend(checks.exposed_secret_verdicts(query, referer, secrets))
        self.entries.append(entry)
        return entry

    def _identify_from_query(self, entry: Entry, query: bytes) -> None:
        params = parse_qs(query.decode("latin-1"))
        if entry.path == _UPLOAD_PATH:
            publish_id = self.backend.uploads.get((params.get("upload_id") or [""])[0])
            publish = self.backend.publishes.get(publish_id or "")
            if publish is not None:
                entry.client_key, entry.open_id = publish.client_key, publish.open_id
                entry.publish_id = publish.publish_id
        elif entry.path == _AUTHORIZE_PATH:
            keys = params.get("client_key")
            entry.client_key = keys[0] if keys else None

    def close(self, entry: Entry, refused_from: int, body: bytes) -> None:
        """Judge what only the answer tells: a 429 of the rate limiter, a refused chunk."""
        endpoint = PATH_ENDPOINTS.get(entry.path)
        if entry.status == 429 and endpoint is not None:
            # Only the limiter's own refusals count (an injected 429 fault is not the app's).
            for refusal in self.backend.refused[refused_from:]:
                if (
                    refusal["code"] == "rate_limit_exceeded"
                    and refusal["endpoint"] == endpoint
                    and (refusal["client_key"], refusal["open_id"])
                    == (entry.client_key, entry.open_id)
                ):
                    limit = self.backend.config.rate_limits.get(endpoint)
                    entry.verdicts.append(checks.rate_limit_verdict(endpoint, limit))
                    break
        elif entry.path == _UPLOAD_PATH and entry.status in (400, 416) and body.strip():
            # The upload host always says why; an injected fault answers with an empty body.
            if entry.status == 416 and self._is_resume(entry):
                return
            reason = body.decode("utf-8", "replace")
            entry.verdicts.append(checks.upload_refusal_verdict(entry.status, reason))

    def _is_resume(self, entry: Entry) -> bool:
        """Whether a 416 answered a chunk the host already holds: TikTok has no call that says
        how far an upload got, so a client that lost an answer (or restarted) learns it by
        sending again from where it last knew, and the 416's progress header tells it. Only a
        chunk past the host's progress (a gap) or one sent beside another is out of order."""
        publish = self.backend.publishes.get(entry.publish_id or "")
        return (
            publish is not None
            and entry.chunk_first is not None
            and entry.chunk_first < publish.uploaded_bytes
        )

    def view(
        self,
        *,
        verdicts_only: bool = False,
        client_key: str | None = None,
        open_id: str | None = None,
    ) -> dict[str, Any]:
        chosen = [
            e
            for e in list(self.entries)
            if (e.verdicts or not verdicts_only)
            and (client_key is None or e.client_key == client_key)
            and (open_id is None or e.open_id == open_id)
        ]
        by_rule: dict[str, int] = {}
        for entry in chosen:
            for verdict in entry.verdicts:
                by_rule[verdict.rule.rule] = by_rule.get(verdict.rule.rule, 0) + 1
        return {
            "strict": self.strict,
            "capacity": self.entries.maxlen,
            "entries": [e.view() for e in chosen],
            "verdict_count": sum(by_rule.values()),
            "verdicts_by_rule": dict(sorted(by_rule.items())),
        }

    # ------------------------------------------------------------------ hooks for the routes

    def _note(self, token: Token, verdicts: list[checks.Verdict]) -> None:
        entry = _CURRENT.get()
        if entry is None:
            return
        entry.client_key, entry.open_id = token.client_key, token.open_id
        entry.verdicts.extend(verdicts)

    def creator_info_answered(self, token: Token, data: dict[str, Any]) -> None:
        """Remember what creator_info told this app about this creator."""
        key = (token.client_key, token.open_id)
        self.creator_info_seen[key] = checks.CreatorInfoSeen.from_answer(self.backend.now(), data)

    def check_init(self, token: Token, body: Any, endpoint: str) -> None:
        """Judge an init before the backend acts on it; under strict, refuse what is flagged."""
        if not isinstance(body, dict):
            return
        photo = endpoint == "content_init"
        direct = endpoint == "video_init" or (photo and body.get("post_mode") == "DIRECT_POST")
        found: list[checks.Verdict] = []
        if direct:
            found += checks.direct_post_verdicts(
                body.get("post_info"),
                photo=photo,
                seen=self.creator_info_seen.get((token.client_key, token.open_id)),
                now=self.backend.now(),
                window_s=self.backend.config.compliance_creator_info_window_s,
            )
        chunk_problem = self._chunk_plan_problem(body.get("source_info"), photo=photo)
        if chunk_problem is not None:
            found.append(checks.Verdict(checks.CHUNK_RULE_BREAK, chunk_problem.message))
        self._note(token, found)
        if found and self.strict:
            raise self._strict_api_error(found, chunk_problem)

    def _chunk_plan_problem(self, source_info: Any, *, photo: bool) -> ApiError | None:
        """The backend's own refusal of a FILE_UPLOAD chunk plan, if it would refuse it."""
        if photo or not isinstance(source_info, dict):
            return None
        if source_info.get("source") != "FILE_UPLOAD":
            return None
        values: list[int] = []
        for name in ("video_size", "chunk_size", "total_chunk_count"):
            value = source_info.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                return None  # malformed, not a chunk plan: the backend says invalid_params
            values.append(value)
        try:
            self.backend._check_chunk_plan(*values)
        except ApiError as exc:
            return exc
        return None

    def _strict_api_error(
        self, found: list[checks.Verdict], chunk_problem: ApiError | None
    ) -> ApiError:
        message = " ".join(v.message() for v in found)
        kinds = {v.rule.kind for v in found}
        if checks.PRIVACY_NOT_OFFERED.kind in kinds:
            return ApiError("privacy_level_option_mismatch", message)
        if chunk_problem is not None:
            return ApiError(chunk_problem.code, message, chunk_problem.status)
        return ApiError(STRICT_CODE, message, 400)

    def check_status_fetch(self, token: Token, body: Any) -> None:
        """Flag (under strict: refuse) a fetch of a publish already answered final, too soon."""
        if not isinstance(body, dict) or not isinstance(body.get("publish_id"), str):
            return
        entry = _CURRENT.get()
        if entry is not None:
            entry.publish_id = body["publish_id"]
        seen = self.final_fetches.get(body["publish_id"])
        if seen is None:
            return
        verdict = checks.polling_verdict(
            seen.answered,
            self.backend.now() - seen.last_at,
            allowance=self.backend.config.compliance_fetches_after_final,
            spacing_s=FINAL_FETCH_SPACING_S,
        )
        if verdict is None:
            return
        self._note(token, [verdict])
        seen.last_at = self.backend.now()
        if self.strict:
            raise ApiError(STRICT_CODE, verdict.message(), 400)

    def status_answered(self, body: Any, data: dict[str, Any]) -> None:
        """Count the final answers each publish_id was given."""
        if data.get("status") not in FINAL_STATUSES or not isinstance(body, dict):
            return
        seen = self.final_fetches.setdefault(str(body.get("publish_id")), _FinalFetches())
        seen.answered += 1
        seen.last_at = self.backend.now()

    def upload_finished(self, publish: Publish) -> Response | None:
        """After the last chunk: flag a FILE_UPLOAD of bytes this client served at a URL.

        "Served at a URL" is what the emulator can prove: the same bytes (SHA-256) were pulled
        earlier by a PULL_FROM_URL publish of the same app. The reverse (pulling what was once
        uploaded) is the recommended way, not a breach. Under strict the last chunk is answered
        400 with the verdict and the publish fails (``spam_risk``: "do not retry").
        """
        if publish.sha256 is None or publish.media_type != "VIDEO":
            return None
        twin = next(
            (
                p
                for p in self.backend.publishes.values()
                if p.source == "PULL_FROM_URL"
                and p.client_key == publish.client_key
                and p.sha256 == publish.sha256
                and p.publish_id != publish.publish_id
            ),
            None,
        )
        if twin is None:
            return None
        verdict = checks.Verdict(
            checks.FILE_UPLOAD_OF_SERVED_MEDIA,
            f"These bytes (SHA-256 {publish.sha256[:16]}…) were pulled from {twin.urls[0]} "
            f"for publish {twin.publish_id} of the same app.",
        )
        entry = _CURRENT.get()
        if entry is not None:
            entry.verdicts.append(verdict)
        if not self.strict:
            return None
        self.backend.fail_now(publish, "spam_risk")
        return Response(
            verdict.message(),
            status_code=400,
            media_type="text/plain",
            headers={"Content-Range": self.backend.progress_header(publish)},
        )

    # ------------------------------------------------------------------ strict answers

    def strict_refusal(self, entry: Entry) -> Response:
        """The 400 for a request flagged before any route ran, in the shape its path uses."""
        message = " ".join(v.message() for v in entry.verdicts)
        now = self.backend.now()
        if entry.path in ("/v2/oauth/token/", "/v2/oauth/revoke/"):
            return oauth_error(OAuthError("invalid_request", message), status=400, now=now)
        if entry.path == _UPLOAD_PATH:
            # The chunk's body stays unread: the connection cannot carry another request.
            headers = {"Connection": "close"}
            return Response(message, status_code=400, media_type="text/plain", headers=headers)
        if entry.path.startswith("/v2/auth/"):
            return HTMLResponse(_page(message), status_code=400)
        return api_error(ApiError(STRICT_CODE, message, 400), now=now)


def _first_byte(content_range: bytes) -> int | None:
    """FIRST of ``bytes FIRST-LAST/TOTAL``, or None when the header is not shaped so."""
    unit, _, span = content_range.partition(b" ")
    first = span.partition(b"-")[0]
    return int(first) if unit == b"bytes" and first.isdigit() else None


def _page(message: str) -> str:
    from html import escape

    return (
        '<!doctype html><meta charset="utf-8"><title>Refused by the emulator</title>'
        f"<h1>Refused (strict mode)</h1><p>{escape(message)}</p>"
    )


class ComplianceMiddleware:
    """Opens a log entry per app request and notes the answer's status.

    Cheap on purpose (the upload host and status/fetch are benchmarked): it reads headers only,
    never a request body, and keeps the first bytes of an answer only for refused chunks.
    """

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        log: ComplianceLog = self.runtime.compliance
        entry = log.open(scope)
        if entry.verdicts and log.strict:
            response = log.strict_refusal(entry)
            entry.status = response.status_code
            await response(scope, receive, send)
            return
        keep_body = entry.path == _UPLOAD_PATH
        body = bytearray()
        refused_from = len(log.backend.refused)

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            elif keep_body and len(body) < 1024 and entry.status in (400, 416):
                body.extend(message.get("body", b"")[:1024])
            await send(message)

        context = _CURRENT.set(entry)
        try:
            await self.app(scope, receive, noting_send)
        finally:
            _CURRENT.reset(context)
            log.close(entry, refused_from, bytes(body))
