"""Log lines for operators, never secrets: plain text or JSON lines, with the request's and the
job's context attached.

Left alone, two libraries would write credentials into the logs: uvicorn's access log (the
OAuth callback's `?code=` and the per-attempt media URL tokens in `/m/{token}/…` paths), and
httpx2, which logs one INFO line per request with its full URL (TikTok's upload URLs carry
their upload token in the query). Every process of ours configures logging here.

Redaction happens where a line is written (`redact_text`, applied by both formatters to the
message and any traceback), so a secret logged by any library, in any format, is cut before it
leaves the process: URL query strings, media URL tokens, bearer tokens and `name=value` pairs
for the OAuth secrets.

`DIRECTPOST_LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message and,
when known, request_id, post_id, open_id_hash, log_id) for a log shipper. The context comes from
`log_context` (a contextvar: a request's middleware, a publish job) and from `extra=` on a call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal, TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
#: Loggers that would write one line per HTTP request with its full URL.
_PER_REQUEST_LOGGERS = ("httpx2", "httpcore2", "httpx", "httpcore")
_MEDIA_TOKEN = re.compile(r"(/m/)[^/?\s]+")
#: Context fields a line may carry, in the order they are written.
CONTEXT_FIELDS = ("request_id", "post_id", "open_id_hash", "log_id")
#: Anything after `?` in a URL or path (upload URLs carry their token there; `?code=`).
_QUERY = re.compile(r"(?P<keep>(?:https?://|/)[^\s?\"'<>]*)\?[^\s\"'<>]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SECRET_PAIR = re.compile(
    r"(?i)\b(?P<name>access_token|refresh_token|client_secret|upload_token|token|secret"
    r"|password)(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s\"'&,;}]+)"
)
_EMPTY: Mapping[str, str] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar("directpost_log_context", default=_EMPTY)

LogFormat = Literal["text", "json"]


def redact_path(path: str) -> str:
    """A request path fit for a log: no query string, no media URL token."""
    bare, has_query, _ = path.partition("?")
    return _MEDIA_TOKEN.sub(r"\1…", bare) + ("?…" if has_query else "")


def redact_text(text: str) -> str:
    """A log line without the secrets it might carry (query strings, media URL tokens, bearer
    tokens, OAuth secrets written as `name=value`)."""
    text = _QUERY.sub(lambda m: m.group("keep") + "?…", text)
    text = _MEDIA_TOKEN.sub(r"\1…", text)
    text = _BEARER.sub(r"\1…", text)
    return _SECRET_PAIR.sub(lambda m: m.group("name") + m.group("sep") + "…", text)


def hash_open_id(open_id: str) -> str:
    """A short stable stand-in for a creator's open_id: lines of one creator can be followed
    without the identifier itself being written anywhere (DG-5: a purge leaves none in logs)."""
    return hashlib.sha256(open_id.encode("utf-8")).hexdigest()[:16]


def current_context() -> Mapping[str, str]:
    """The fields the current request or job has set."""
    return _CONTEXT.get()


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Attach fields to every line logged inside the block (this task or thread only); the
    previous fields come back afterwards. `open_id=` is stored as its hash only."""
    token = _CONTEXT.set(_merged(fields))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**fields: object) -> None:
    """Add fields to the current context until the enclosing `log_context` ends (a job learns
    the creator's open_id after it has started)."""
    _CONTEXT.set(_merged(fields))


def _merged(fields: Mapping[str, object]) -> Mapping[str, str]:
    merged = dict(_CONTEXT.get())
    for name, value in fields.items():
        if value is None or value == "":
            continue
        if name == "open_id":
            merged["open_id_hash"] = hash_open_id(str(value))
        elif name in CONTEXT_FIELDS:
            merged[name] = str(value)
        else:
            raise ValueError(f"unknown log context field {name!r}; known: {CONTEXT_FIELDS}")
    return MappingProxyType(merged)


class ContextFields(logging.Filter):
    """Copies the current context onto each record (fields given with `extra=` win), and
    turns an `open_id` given with `extra=` into its hash."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get()
        raw_open_id = record.__dict__.pop("open_id", None)
        if raw_open_id and not getattr(record, "open_id_hash", None):
            record.open_id_hash = hash_open_id(str(raw_open_id))
        for name in CONTEXT_FIELDS:
            if not getattr(record, name, None) and name in context:
                setattr(record, name, context[name])
        return True


def _fields_of(record: logging.LogRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value not in (None, ""):
            found[name] = redact_text(str(value))
    return found


class TextFormatter(logging.Formatter):
    """The plain line (`FORMAT`), context as ` [name=value …]` at the end, secrets cut."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields_of(record)
        record.context = (
            " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" if fields else ""
        )
        return redact_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context
    fields that are known, and `exc` for a traceback; secrets cut from every text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        line.update(_fields_of(record))
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = redact_text(record.exc_text)
        if record.stack_info:
            line["stack"] = redact_text(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


class RedactAccessLog(logging.Filter):
    """Rewrites the path in uvicorn's access log lines (their args are client, method, path,
    HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def formatter_for(fmt: LogFormat) -> logging.Formatter:
    """The formatter of the chosen format."""
    return JsonFormatter() if fmt == "json" else TextFormatter()


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time of each line (a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


def build_handler(fmt: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing `fmt` lines to `stream` (default: stderr), with context and redaction."""
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler._directpost = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFields())
    handler.setFormatter(formatter_for(fmt))
    return handler


def _configured_format() -> LogFormat:
    """`DIRECTPOST_LOG_FORMAT` from the settings; plain text when the settings cannot be read
    (the command that reads them next says why, in plain words)."""
    from directpost.config import SettingsError, get_settings

    try:
        return get_settings().log_format
    except (SettingsError, ValueError):
        return "text"


def configure_logging(level: int = logging.INFO, *, fmt: LogFormat | None = None) -> None:
    """Log lines on stderr in the configured format, with context and redaction; request-by-
    request URL logging off; access log redacted. Idempotent: called again, it only changes the
    format of the handler it installed."""
    root = logging.getLogger()
    chosen = fmt or _configured_format()
    handler = next((h for h in root.handlers if getattr(h, "_directpost", False)), None)
    if handler is None:
        root.addHandler(build_handler(chosen))
        root.setLevel(level)
    else:
        handler.setFormatter(formatter_for(chosen))
    for name in _PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())
