"""Login Kit helpers: PKCE verifier and challenge, and the authorize URL.

https://developers.tiktok.com/doc/login-kit-web and .../login-kit-desktop
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from ._errors import RequestValidationError

_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"


def new_code_verifier(length: int = 64) -> str:
    """A fresh random PKCE `code_verifier` of 43–128 characters from TikTok's alphabet."""
    if not 43 <= length <= 128:
        raise ValueError("a code_verifier is 43 to 128 characters long")
    return "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(length))


def code_challenge(verifier: str) -> str:
    """TikTok's desktop PKCE challenge: the *hex* SHA-256 of the verifier (not base64url)."""
    if not 43 <= len(verifier) <= 128 or any(c not in _VERIFIER_ALPHABET for c in verifier):
        raise RequestValidationError(
            "code_verifier must be 43–128 characters of A-Z a-z 0-9 - . _ ~"
        )
    return hashlib.sha256(verifier.encode("ascii")).hexdigest()


def authorize_url(
    auth_base_url: str,
    *,
    client_key: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The browser URL of TikTok's consent page (`/v2/auth/authorize/`)."""
    if isinstance(scopes, str):
        raise TypeError("scopes is a sequence of scope names, not one string")
    if not scopes:
        raise RequestValidationError("ask for at least one scope")
    if not state:
        raise RequestValidationError("state is required: it protects the callback against CSRF")
    params = {
        "client_key": client_key,
        "scope": ",".join(scopes),
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
    }
    params.update(extra or {})
    return f"{auth_base_url.rstrip('/')}/v2/auth/authorize/?{urlencode(params)}"
