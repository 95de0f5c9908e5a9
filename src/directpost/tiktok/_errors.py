"""The one exception tree of the TikTok client library.

```
TikTokError                       anything this library raises on purpose
├── RequestValidationError        (also ValueError) a request we refuse to send: it breaks a documented rule
├── TransportError                the request or its answer was lost (connect, timeout, read, write)
├── APIError                      TikTok answered with an error envelope (http_status, code, message, log_id, body)
│   ├── AccessTokenInvalidError   access_token_invalid: refresh the token, then try again
│   ├── ScopeError                scope_not_authorized / scope_permission_missed: the user must grant it
│   ├── RateLimitedError          rate_limit_exceeded (429): wait for the sliding minute      [retryable]
│   ├── InvalidParamsError        invalid_param / invalid_params (both spellings are in the docs)
│   ├── InvalidFileUploadError    invalid_file_upload
│   ├── AppVersionError           app_version_check_failed: the user's TikTok app is too old
│   ├── CreatorCannotPostError    spam_risk_too_many_posts / spam_risk_user_banned_from_posting /
│   │                             reached_active_user_cap (HTTP 200 at creator_info, 403 at init)
│   ├── PendingShareLimitError    spam_risk_too_many_pending_share: ≤ 5 pending inbox shares per 24 h
│   ├── UnauditedClientError      unaudited_client_can_only_post_to_private_accounts
│   ├── UrlOwnershipUnverifiedError  url_ownership_unverified
│   ├── PrivacyLevelMismatchError privacy_level_option_mismatch
│   ├── PublishIdError            invalid_publish_id / token_not_authorized_for_specified_publish_id
│   ├── NotCancellableError       publish_not_cancellable
│   └── ServerError               HTTP 5xx or internal_error                                  [retryable]
├── OAuthError                    the OAuth endpoints' own shape (error, error_description, log_id)
├── UploadError                   the upload host refused a chunk (400, 404, 416 without progress, …)
│   └── UploadUrlExpiredError     403 from the upload host: the one-hour upload_url has expired
├── WaitTimeoutError              wait_for_status gave up before a final state
└── WebhookSignatureError         a webhook whose TikTok-Signature does not verify (or is stale)
```

Each class says whether sending the *same* request again can help (`retryable`). The library
retries only idempotent calls by itself; publish inits are never retried (see `_retry.py`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class TikTokError(Exception):
    """Base class of every error this library raises on purpose."""

    retryable: ClassVar[bool] = False


class RequestValidationError(TikTokError, ValueError):
    """A request the library refuses to send because it breaks a documented TikTok rule."""


class TransportError(TikTokError):
    """The request could not be sent or its answer was lost (connect, timeout, read, write).

    For a publish init this is *ambiguous*: TikTok may have created the publish.
    """

    retryable = True


class APIError(TikTokError):
    """TikTok answered with an error: HTTP status, TikTok's `error.code`, message, `log_id`, body."""

    def __init__(
        self,
        *,
        http_status: int,
        code: str,
        message: str = "",
        log_id: str = "",
        body: Any = None,
    ) -> None:
        self.http_status = http_status
        self.code = code
        self.message = message
        self.log_id = log_id
        self.body = body
        detail = f": {message}" if message else ""
        ref = f" (log_id {log_id})" if log_id else ""
        super().__init__(f"TikTok answered HTTP {http_status} {code}{detail}{ref}")


class AccessTokenInvalidError(APIError):
    """The access token is invalid, expired or missing: refresh it, then try again."""


class ScopeError(APIError):
    """The user did not grant a scope this call needs; ask them to authorize it again."""


class RateLimitedError(APIError):
    """The per-token sliding-minute limit was hit; waiting for the window helps."""

    retryable = True


class InvalidParamsError(APIError):
    """A request field is invalid (`invalid_param` or `invalid_params`); the message says which."""


class InvalidFileUploadError(APIError):
    """The uploaded file does not meet TikTok's specification."""


class AppVersionError(APIError):
    """The creator's TikTok app is too old for this kind of post (MEDIA_UPLOAD needs ≥ 31.8)."""


class CreatorCannotPostError(APIError):
    """The creator cannot post right now (daily cap, ban, or the app's active-user cap): try later."""


class PendingShareLimitError(APIError):
    """The creator has too many inbox shares not yet posted (≤ 5 per 24 h)."""


class UnauditedClientError(APIError):
    """An unaudited app may only post to private accounts; the creator must make theirs private."""


class UrlOwnershipUnverifiedError(APIError):
    """A media URL is not under a domain or URL prefix verified for this app."""


class PrivacyLevelMismatchError(APIError):
    """`privacy_level` is missing or not among this creator's `privacy_level_options`."""


class PublishIdError(APIError):
    """The `publish_id` does not exist or does not belong to this token."""


class NotCancellableError(APIError):
    """The publish is too far along (or already final) to be cancelled."""


class ServerError(APIError):
    """TikTok's side failed (HTTP 5xx or `internal_error`); the same request may succeed later."""

    retryable = True


class OAuthError(TikTokError):
    """An error from the OAuth token or revoke endpoint (`error`, `error_description`, `log_id`)."""

    def __init__(
        self, *, error: str, error_description: str = "", log_id: str = "", http_status: int
    ) -> None:
        self.error = error
        self.error_description = error_description
        self.log_id = log_id
        self.http_status = http_status
        detail = f": {error_description}" if error_description else ""
        ref = f" (log_id {log_id})" if log_id else ""
        super().__init__(f"TikTok OAuth error {error} (HTTP {http_status}){detail}{ref}")

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        """Only TikTok's own transient OAuth errors can pass on a second try."""
        return self.error in {"server_error", "temporarily_unavailable"}


class UploadError(TikTokError):
    """The upload host refused a chunk in a way that resuming cannot fix."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        self.http_status = http_status
        super().__init__(message)


class UploadUrlExpiredError(UploadError):
    """The upload host answered 403: the `upload_url` (valid one hour) has expired.

    Do not start a new init for the same post blindly: the old publish id never receives its
    bytes and fails on its own; record that, then make a new attempt on purpose.
    """


class WaitTimeoutError(TikTokError):
    """`wait_for_status` polled `max_polls` times without reaching a final state."""


class WebhookSignatureError(TikTokError):
    """A webhook's `TikTok-Signature` is missing, malformed, wrong, or outside the tolerance."""


_BY_CODE: dict[str, type[APIError]] = {
    "access_token_invalid": AccessTokenInvalidError,
    "scope_not_authorized": ScopeError,
    "scope_permission_missed": ScopeError,
    "rate_limit_exceeded": RateLimitedError,
    "invalid_param": InvalidParamsError,
    "invalid_params": InvalidParamsError,
    "invalid_file_upload": InvalidFileUploadError,
    "app_version_check_failed": AppVersionError,
    "spam_risk_too_many_posts": CreatorCannotPostError,
    "spam_risk_user_banned_from_posting": CreatorCannotPostError,
    "reached_active_user_cap": CreatorCannotPostError,
    "spam_risk_too_many_pending_share": PendingShareLimitError,
    "unaudited_client_can_only_post_to_private_accounts": UnauditedClientError,
    "url_ownership_unverified": UrlOwnershipUnverifiedError,
    "privacy_level_option_mismatch": PrivacyLevelMismatchError,
    "invalid_publish_id": PublishIdError,
    "token_not_authorized_for_specified_publish_id": PublishIdError,
    "publish_not_cancellable": NotCancellableError,
    "internal_error": ServerError,
}


def error_for(
    http_status: int, code: str, message: str = "", log_id: str = "", body: Any = None
) -> APIError:
    """Map an HTTP status and TikTok's `error.code` to the matching exception instance."""
    cls = _BY_CODE.get(code)
    if cls is None:
        if http_status == 429:
            cls = RateLimitedError
        elif http_status >= 500:
            cls = ServerError
        else:
            cls = APIError
    return cls(http_status=http_status, code=code, message=message, log_id=log_id, body=body)
