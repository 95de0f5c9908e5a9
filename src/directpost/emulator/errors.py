"""Errors the emulator answers with, each carrying TikTok's code, message and HTTP status.

Two shapes exist (spec §1 and §2.2): the v2 envelope ``{"data": {}, "error": {...}}`` used by
every open API endpoint, and the flat OAuth shape ``{"error", "error_description", "log_id"}``
used by the token and revoke endpoints. One handler in ``app.py`` renders both.
"""

from __future__ import annotations

import secrets
import time

# HTTP status of every documented v2 error code (spec §1, §3.x). Codes that the docs list with
# two statuses (creator_info's intentional 200s) are overridden where they are raised.
API_ERROR_STATUS: dict[str, int] = {
    "access_token_invalid": 401,
    "scope_not_authorized": 401,
    "scope_permission_missed": 400,
    "invalid_params": 400,
    "invalid_param": 400,
    "invalid_file_upload": 400,
    "invalid_publish_id": 400,
    "token_not_authorized_for_specified_publish_id": 400,
    "publish_not_cancellable": 400,
    "app_version_check_failed": 400,
    "spam_risk_too_many_posts": 403,
    "spam_risk_user_banned_from_posting": 403,
    "spam_risk_too_many_pending_share": 403,
    "reached_active_user_cap": 403,
    "unaudited_client_can_only_post_to_private_accounts": 403,
    "url_ownership_unverified": 403,
    "privacy_level_option_mismatch": 403,
    "rate_limit_exceeded": 429,
    "internal_error": 500,
}

OAUTH_ERROR_CODES = frozenset(
    {
        "access_denied",
        "invalid_client",
        "invalid_grant",
        "invalid_request",
        "invalid_scope",
        "unauthorized_client",
        "unsupported_grant_type",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
    }
)


def new_log_id(now: float | None = None) -> str:
    """A log id shaped like TikTok's: UTC ``YYYYMMDDhhmmss`` followed by 20 upper-case hex digits."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() if now is None else now))
    return stamp + secrets.token_hex(10).upper()


class EmulatorError(Exception):
    """Base of every error the emulator renders as an HTTP answer."""


class ApiError(EmulatorError):
    """A v2 open API error: rendered as ``{"data": {}, "error": {code, message, log_id}}``."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else API_ERROR_STATUS.get(code, 400)


class OAuthError(EmulatorError):
    """An OAuth token/revoke error: rendered flat as ``{error, error_description, log_id}``.

    The HTTP status is not documented (spec §11.1); the app's config chooses it.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class ControlError(EmulatorError):
    """A bad control-plane request: ``{"error": message}`` with HTTP 400 or 404."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
