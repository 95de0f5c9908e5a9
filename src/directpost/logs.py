"""Log lines for operators, never secrets.

Left alone, two libraries would write credentials into the logs: uvicorn's access log (the
OAuth callback's `?code=` and the per-attempt media URL tokens in `/m/{token}/…` paths), and
httpx2, which logs one INFO line per request with its full URL (TikTok's upload URLs carry
their upload token in the query). Every process of ours configures logging here.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Loggers that would write one line per HTTP request with its full URL.
_PER_REQUEST_LOGGERS = ("httpx2", "httpcore2", "httpx", "httpcore")
_MEDIA_TOKEN = re.compile(r"(/m/)[^/?\s]+")


def redact_path(path: str) -> str:
    """A request path fit for a log: no query string, no media URL token."""
    bare, has_query, _ = path.partition("?")
    return _MEDIA_TOKEN.sub(r"\1…", bare) + ("?…" if has_query else "")


class RedactAccessLog(logging.Filter):
    """Rewrites the path in uvicorn's access log lines (their args are client, method, path,
    HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Plain log lines on stderr; request-by-request URL logging off; access log redacted."""
    logging.basicConfig(level=level, format=FORMAT)
    for name in _PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())
