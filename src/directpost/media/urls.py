"""Per-attempt public media URLs for PULL_FROM_URL (TECH-2): unguessable tokens and their URLs.

Each publish attempt gets its own token, so revoking one attempt's URL (after an ambiguous init,
architecture.md) cannot touch another's. The mapping token -> stored object, its expiry and its
revocation live with the publishing part; this module only makes tokens and URLs.

URL shape: `{media_public_base_url}/m/{token}/{filename}`; the operator verifies
`{media_public_base_url}/m/` (or the whole domain) as a URL prefix at TikTok.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from pathlib import PurePosixPath

__all__ = [
    "MEDIA_PATH_PREFIX",
    "attempt_media_filename",
    "is_well_formed_token",
    "media_url",
    "new_media_token",
    "safe_media_filename",
]

#: Path under the public base URL where media is served.
MEDIA_PATH_PREFIX = "/m/"
#: What the media route answers (404) for a link it does not serve: unknown, expired or
#: withdrawn, without saying which. The worker's media check knows our service by it.
NOT_SERVED_TEXT = "No media here: the link is unknown, expired or withdrawn.\n"
#: A path under the prefix that is never a token: the media check's question costs no lookup.
CHECK_PATH = "_check/alive"

#: Bytes of randomness in a token (256 bits); `token_urlsafe(32)` makes 43 URL-safe characters.
TOKEN_BYTES = 32
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def new_media_token() -> str:
    """A fresh unguessable, URL-safe token (256 random bits) for one attempt's media URL."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed_token(token: str) -> bool:
    """Whether `token` has the shape `new_media_token` makes (a cheap check before any lookup)."""
    return bool(_TOKEN_PATTERN.fullmatch(token))


def safe_media_filename(name: str, *, default_stem: str = "media") -> str:
    """A filename that is safe in a URL path, keeping the original extension in lower case.

    `"My Holiday (1).MP4"` -> `"My-Holiday-1.mp4"`; names left empty become `default_stem`.
    """
    # Accents dropped rather than lost whole: "été" -> "ete".
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    pure = PurePosixPath(folded.replace("\\", "/")).name
    stem, dot, suffix = pure.rpartition(".")
    if not dot:
        stem, suffix = pure, ""
    clean_stem = _UNSAFE.sub("-", stem).strip("-._")[:80] or default_stem
    clean_suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return f"{clean_stem}.{clean_suffix}" if clean_suffix else clean_stem


def attempt_media_filename(index: int, original_name: str) -> str:
    """The name a post's `index`-th media item is served under: its position plus its own
    extension ("0.mp4"), so the URL says nothing of what the creator called the file."""
    suffix = PurePosixPath(original_name).suffix.lower()
    return f"{index}{suffix if suffix.isascii() and len(suffix) <= 6 else ''}"


def media_url(base_url: str, token: str, filename: str) -> str:
    """The public URL TikTok pulls one attempt's media from: `{base}/m/{token}/{filename}`."""
    if not is_well_formed_token(token):
        raise ValueError("token must come from new_media_token()")
    base = base_url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError(
            f"media_public_base_url {base_url!r} must start with https:// "
            "(TikTok pulls media over https only)"
        )
    return f"{base}{MEDIA_PATH_PREFIX}{token}/{safe_media_filename(filename)}"
