"""Each API call as a sans-I/O operation shared by the sync and async clients.

An operation is a generator: it yields a `Request` (and gets the `Response` back), a `Sleep` or
an `Acquire` (and gets None back), and returns its result. The clients only drive these generators, so both
behave identically by construction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias, TypeVar

from ._actions import Acquire, Sleep
from ._budget import budget_key
from ._errors import OAuthError, TikTokError, TransportError, WaitTimeoutError, error_for
from ._http import Request, Response
from ._models import (
    CreatorInfo,
    PhotoPostInfo,
    PhotoSource,
    PublishInit,
    PublishStatus,
    Token,
    UserInfo,
    VideoPostInfo,
    VideoSource,
)

T = TypeVar("T")
Op: TypeAlias = Generator[Request | Sleep | Acquire, Response | None, T]
Backoff: TypeAlias = Callable[[TikTokError, int], float | None]

JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}
FORM_HEADERS = {"Cache-Control": "no-cache"}


def _loads(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal) if content.strip() else {}


def parse_envelope(resp: Response) -> dict[str, Any]:
    """The `data` of a `{data, error}` answer, or the matching `APIError` raised."""
    try:
        body = _loads(resp.content)
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = str(err.get("code", ""))
        if code == "ok" and resp.status < 400:
            data = body.get("data") if isinstance(body, dict) else None
            return data if isinstance(data, dict) else {}
        raise error_for(
            resp.status,
            code or f"http_{resp.status}",
            str(err.get("message", "")),
            str(err.get("log_id", err.get("logid", ""))),
            body,
        )
    text = resp.content[:300].decode("utf-8", "replace")
    raise error_for(resp.status, f"http_{resp.status}", f"unexpected answer: {text}", "", body)


def parse_oauth(resp: Response) -> dict[str, Any]:
    """The flat JSON of an OAuth answer, or `OAuthError` (whatever the HTTP status)."""
    try:
        body = _loads(resp.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = resp.content[:300].decode("utf-8", "replace")
        if resp.status >= 400:
            raise OAuthError(
                error="server_error" if resp.status >= 500 else "invalid_response",
                error_description=text,
                http_status=resp.status,
            )
        return {}
    err = body.get("error")
    if isinstance(err, str) and err:
        raise OAuthError(
            error=err,
            error_description=str(body.get("error_description", "")),
            log_id=str(body.get("log_id", "")),
            http_status=resp.status,
        )
    if isinstance(err, dict) and err.get("code", "ok") != "ok":
        raise error_for(
            resp.status,
            str(err.get("code")),
            str(err.get("message", "")),
            str(err.get("log_id", "")),
            body,
        )
    if resp.status >= 400:
        raise OAuthError(
            error="server_error" if resp.status >= 500 else "invalid_request",
            error_description=str(body)[:300],
            http_status=resp.status,
        )
    return body


def _with_retries(
    make: Callable[[], Request], backoff: Backoff | None, acquire: Acquire | None = None
) -> Op[Response]:
    """Send an *idempotent* request, resending after retryable failures (transport, 5xx, 429)."""
    attempt = 0
    while True:
        if acquire is not None:
            yield acquire
        try:
            resp = yield make()
            assert resp is not None
            if resp.status < 500 and resp.status != 429:
                return resp
            parse_envelope(resp)  # raises the matching error
            return resp
        except TikTokError as exc:
            attempt += 1
            delay = backoff(exc, attempt) if backoff is not None else None
            if delay is None:
                raise
            yield Sleep(delay)


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


class Ops:
    """Builds every operation for one app (client key/secret) and pair of base URLs."""

    def __init__(
        self,
        *,
        client_key: str,
        client_secret: str,
        api_base_url: str,
        backoff: Backoff | None,
        clock: Callable[[], datetime],
        budgeted: bool = False,
    ) -> None:
        self.client_key = client_key
        self.budgeted = budgeted
        self._client_secret = client_secret
        self.api = api_base_url.rstrip("/")
        self.backoff = backoff
        self.clock = clock

    def _acquire(self, family: str, access_token: str) -> Acquire | None:
        return Acquire(family, budget_key(access_token)) if self.budgeted else None

    # ---- OAuth (not retried: codes are single use and refresh tokens rotate)

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> Op[Token]:
        """Trade an authorization code for a token."""
        form = {
            "client_key": self.client_key,
            "client_secret": self._client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        }
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        # https://developers.tiktok.com/doc/oauth-user-access-token-management
        resp = yield Request("POST", f"{self.api}/v2/oauth/token/", FORM_HEADERS, form=form)
        assert resp is not None
        return Token.from_response(parse_oauth(resp), self.clock())

    def refresh_token(self, *, refresh_token: str) -> Op[Token]:
        """Get a new access token; the answer's refresh token may be new: store it."""
        form = {
            "client_key": self.client_key,
            "client_secret": self._client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        # https://developers.tiktok.com/doc/oauth-user-access-token-management
        resp = yield Request("POST", f"{self.api}/v2/oauth/token/", FORM_HEADERS, form=form)
        assert resp is not None
        data = parse_oauth(resp)
        data.setdefault("refresh_token", refresh_token)
        return Token.from_response(data, self.clock())

    def revoke(self, *, access_token: str) -> Op[None]:
        """Revoke the user's authorization of this app."""
        form = {
            "client_key": self.client_key,
            "client_secret": self._client_secret,
            "token": access_token,
        }

        def make() -> Request:
            # https://developers.tiktok.com/doc/oauth-user-access-token-management
            return Request("POST", f"{self.api}/v2/oauth/revoke/", FORM_HEADERS, form=form)

        resp = yield from _with_oauth_retries(make, self.backoff)
        parse_oauth(resp)

    # ---- reads (idempotent: retried)

    def user_info(self, *, access_token: str, fields: Sequence[str]) -> Op[UserInfo]:
        """The user's profile fields named in `fields`."""
        if isinstance(fields, str) or not fields:
            raise TypeError("fields is a non-empty sequence of field names")

        def make() -> Request:
            # https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
            return Request(
                "GET",
                f"{self.api}/v2/user/info/",
                _bearer(access_token),
                params={"fields": ",".join(fields)},
            )

        resp = yield from _with_retries(make, self.backoff)
        data = parse_envelope(resp)
        user = data.get("user", {})
        return UserInfo.from_json(user if isinstance(user, dict) else {})

    def creator_info(self, *, access_token: str) -> Op[CreatorInfo]:
        """What this creator may post right now; blocked creators raise CreatorCannotPostError."""

        def make() -> Request:
            # https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
            return Request(
                "POST",
                f"{self.api}/v2/post/publish/creator_info/query/",
                {**_bearer(access_token), **JSON_HEADERS},
                json={},
            )

        budget = self._acquire("creator_info", access_token)
        resp = yield from _with_retries(make, self.backoff, budget)
        return CreatorInfo.from_json(parse_envelope(resp))

    def fetch_status(self, *, access_token: str, publish_id: str) -> Op[PublishStatus]:
        """Where a publish stands."""

        def make() -> Request:
            # https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
            return Request(
                "POST",
                f"{self.api}/v2/post/publish/status/fetch/",
                {**_bearer(access_token), **JSON_HEADERS},
                json={"publish_id": publish_id},
            )

        budget = self._acquire("status", access_token)
        resp = yield from _with_retries(make, self.backoff, budget)
        return PublishStatus.from_json(parse_envelope(resp))

    def cancel(self, *, access_token: str, publish_id: str) -> Op[None]:
        """Cancel a PULL_FROM_URL download still in progress (best effort)."""

        def make() -> Request:
            # https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
            return Request(
                "POST",
                f"{self.api}/v2/post/publish/cancel/",
                {**_bearer(access_token), **JSON_HEADERS},
                json={"publish_id": publish_id},
            )

        resp = yield from _with_retries(make, self.backoff)
        parse_envelope(resp)

    # ---- inits (never retried: not idempotent)

    def _init(self, path: str, access_token: str, body: dict[str, Any]) -> Op[PublishInit]:
        budget = self._acquire("init", access_token)
        if budget is not None:
            yield budget
        resp = yield Request(
            "POST", f"{self.api}{path}", {**_bearer(access_token), **JSON_HEADERS}, json=body
        )
        assert resp is not None
        return PublishInit.from_json(parse_envelope(resp))

    def init_video(
        self, *, access_token: str, post_info: VideoPostInfo, source: VideoSource
    ) -> Op[PublishInit]:
        """Start a direct video post."""
        body = {"post_info": post_info.to_json(), "source_info": source.to_json()}
        # https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
        return (yield from self._init("/v2/post/publish/video/init/", access_token, body))

    def init_inbox_video(self, *, access_token: str, source: VideoSource) -> Op[PublishInit]:
        """Send a video to the creator's TikTok inbox to finish there."""
        body = {"source_info": source.to_json()}
        # https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
        return (yield from self._init("/v2/post/publish/inbox/video/init/", access_token, body))

    def init_photo(
        self,
        *,
        access_token: str,
        post_mode: Literal["DIRECT_POST", "MEDIA_UPLOAD"],
        post_info: PhotoPostInfo,
        source: PhotoSource,
        is_aigc: bool | None,
    ) -> Op[PublishInit]:
        """Start a photo post, direct or to the inbox."""
        body = photo_init_body(
            post_mode=post_mode, post_info=post_info, source=source, is_aigc=is_aigc
        )
        # https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
        return (yield from self._init("/v2/post/publish/content/init/", access_token, body))

    # ---- helpers over the raw calls

    def wait_for_status(
        self,
        *,
        access_token: str,
        publish_id: str,
        interval: float,
        max_interval: float,
        max_polls: int,
    ) -> Op[PublishStatus]:
        """Poll status/fetch with growing pauses until a final state."""
        pause = interval
        for poll in range(max_polls):
            status = yield from self.fetch_status(access_token=access_token, publish_id=publish_id)
            match status.status:
                case "PUBLISH_COMPLETE" | "FAILED" | "SEND_TO_USER_INBOX":
                    return status
                case "PROCESSING_UPLOAD" | "PROCESSING_DOWNLOAD":
                    pass
                case _:  # a state TikTok adds later: keep waiting, it is not known to be final
                    pass
            if poll + 1 < max_polls:
                yield Sleep(pause)
                pause = min(max_interval, pause * 1.5)
        raise WaitTimeoutError(
            f"publish {publish_id} was not final after {max_polls} polls; keep tracking it "
            "(do not start a new init)"
        )


def photo_init_body(
    *,
    post_mode: Literal["DIRECT_POST", "MEDIA_UPLOAD"],
    post_info: PhotoPostInfo,
    source: PhotoSource,
    is_aigc: bool | None,
) -> dict[str, Any]:
    """The body of `/v2/post/publish/content/init/` (also used by the golden tests)."""
    from ._errors import RequestValidationError
    from ._models import NOT_GIVEN

    if post_mode not in ("DIRECT_POST", "MEDIA_UPLOAD"):
        raise RequestValidationError("post_mode is DIRECT_POST or MEDIA_UPLOAD")
    if post_mode == "DIRECT_POST" and post_info.privacy_level is NOT_GIVEN:
        raise RequestValidationError(
            "a DIRECT_POST photo needs the privacy_level the user chose from privacy_level_options"
        )
    body: dict[str, Any] = {
        "post_info": post_info.to_json(),
        "source_info": source.to_json(),
        "post_mode": post_mode,
        "media_type": "PHOTO",
    }
    if is_aigc is not None:
        body["is_aigc"] = is_aigc
    return body


def _with_oauth_retries(make: Callable[[], Request], backoff: Backoff | None) -> Op[Response]:
    """Resend an idempotent OAuth request (revoke) after transport failures only."""
    attempt = 0
    while True:
        try:
            resp = yield make()
            assert resp is not None
            return resp
        except TransportError as exc:
            attempt += 1
            delay = backoff(exc, attempt) if backoff is not None else None
            if delay is None:
                raise
            yield Sleep(delay)


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)
