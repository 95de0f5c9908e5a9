"""The emulator's behaviour: one object holding the world, with the rules TikTok applies to it.

Routes stay thin: they parse HTTP, call one method here and render the answer. ``reset()``
rebuilds everything from the start-up config (moto's ``BaseBackend`` habit).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import EmulatorConfig, Progression
from .demo import demo_app, demo_creators
from .errors import ApiError, ControlError, OAuthError
from .state import (
    ALL_SCOPES,
    PRIVACY_LEVELS,
    PUBLIC,
    SELF_ONLY,
    App,
    AuthCode,
    Clock,
    Creator,
    Fault,
    Post,
    Publish,
    RateWindow,
    Token,
    WebhookDelivery,
)

DAY = 86400.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
VIDEO_UPLOAD_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit TikTok's title limits count in."""
    return len(text.encode("utf-16-le")) // 2


def _random_digits(n: int) -> str:
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(n - 1))


@dataclass
class ChunkPlan:
    """What the upload host expects next for one publish."""

    offset: int
    length: int
    final: bool


class Backend:
    """The whole emulated TikTok for every app and creator."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.initial_config = config or EmulatorConfig()
        self._own_tmp: Path | None = None
        if self.initial_config.data_dir is None:
            self._own_tmp = Path(tempfile.mkdtemp(prefix="directpost-emulator-"))
            self.data_dir = self._own_tmp
        else:
            self.data_dir = Path(self.initial_config.data_dir)
        self.clock = Clock()
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Forget everything and seed the demo world again (config back to the start-up one)."""
        self.config = self.initial_config
        self.clock.offset = 0.0
        self.apps: dict[str, App] = {}
        self.creators: dict[str, Creator] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, Token] = {}  # by access token
        self.refresh_index: dict[str, Token] = {}  # by refresh token
        self.publishes: dict[str, Publish] = {}
        self.uploads: dict[str, str] = {}  # upload_id -> publish_id
        self.posts: list[Post] = []
        self.deliveries: list[WebhookDelivery] = []
        self.outbox: list[WebhookDelivery] = []
        self.pending_pulls: list[str] = []
        self.faults: dict[str, list[Fault]] = {}
        self.rate: dict[tuple[str, str], RateWindow] = {}
        self.refused: list[dict[str, Any]] = []
        self.direct_inits: list[tuple[float, str, str]] = []  # (time, open_id, client_key)
        self.generation = getattr(self, "generation", 0) + 1
        media_root = self.data_dir / "media"
        if media_root.exists():
            shutil.rmtree(media_root, ignore_errors=True)
        media_root.mkdir(parents=True, exist_ok=True)
        if self.config.seed_demo:
            app = demo_app()
            self.apps[app.client_key] = app
            for creator in demo_creators():
                self.creators[creator.open_id] = creator

    def close(self) -> None:
        if self._own_tmp is not None:
            shutil.rmtree(self._own_tmp, ignore_errors=True)

    def now(self) -> float:
        return self.clock.now()

    def invalid_param(self, message: str) -> ApiError:
        return ApiError(self.config.invalid_param_code, message, 400)

    # ------------------------------------------------------------------ control plane

    def register_app(self, body: dict[str, Any]) -> App:
        key = body.get("client_key")
        secret = body.get("client_secret")
        if not isinstance(key, str) or not key or not isinstance(secret, str) or not secret:
            raise ControlError("client_key and client_secret are required non-empty strings")
        redirect_uris = _str_list(body, "redirect_uris")
        for uri in redirect_uris:
            self._check_registered_url(uri, what="redirect URI", must_end_slash=False)
        prefixes = _str_list(body, "verified_url_prefixes")
        for prefix in prefixes:
            self._check_registered_url(prefix, what="verified URL prefix", must_end_slash=True)
        webhook_url = body.get("webhook_url")
        if webhook_url is not None:
            if not isinstance(webhook_url, str):
                raise ControlError("webhook_url must be a string or null")
            self._check_registered_url(webhook_url, what="webhook URL", must_end_slash=False)
        scopes = _str_list(body, "scopes") if "scopes" in body else list(ALL_SCOPES)
        unknown = sorted(set(scopes) - set(ALL_SCOPES))
        if unknown:
            raise ControlError(f"unknown scopes {unknown}; known: {list(ALL_SCOPES)}")
        creator_cap = body.get("creator_cap")
        if creator_cap is not None and (not isinstance(creator_cap, int) or creator_cap < 0):
            raise ControlError("creator_cap must be a non-negative integer or null")
        target_users = _str_list(body, "target_users") if body.get("target_users") else None
        progression = Progression.parse(body["progression"]) if body.get("progression") else None
        app = App(
            client_key=key,
            client_secret=secret,
            name=str(body.get("name", key)),
            audited=bool(body.get("audited", False)),
            redirect_uris=redirect_uris,
            verified_url_prefixes=prefixes,
            verified_domains=_str_list(body, "verified_domains"),
            webhook_url=webhook_url,
            scopes=scopes,
            creator_cap=creator_cap,
            target_users=target_users,
            progression=progression,
        )
        self.apps[key] = app
        return app

    def _check_registered_url(self, url: str, *, what: str, must_end_slash: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ControlError(f"{what} {url!r} must be an absolute http(s) URL")
        if parts.fragment:
            raise ControlError(f"{what} {url!r} must not have a #fragment")
        if parts.scheme == "http" and not self._loopback_ok(parts.hostname):
            raise ControlError(
                f"{what} {url!r} must use https (http is accepted only for loopback hosts "
                "when allow_http_loopback is on)"
            )
        if must_end_slash and not parts.path.endswith("/"):
            raise ControlError(f"{what} {url!r} must end with '/'")

    def _loopback_ok(self, host: str | None) -> bool:
        return self.config.allow_http_loopback and (host or "") in LOOPBACK_HOSTS

    def upsert_creator(self, body: dict[str, Any]) -> Creator:
        open_id = body.get("open_id")
        if not isinstance(open_id, str) or not open_id:
            raise ControlError("open_id is a required non-empty string")
        existing = self.creators.get(open_id)
        creator = existing or Creator(open_id, nickname=open_id, username=open_id)
        fields: dict[str, type] = {
            "nickname": str,
            "username": str,
            "avatar_color": str,
            "private_account": bool,
            "comment_disabled": bool,
            "duet_disabled": bool,
            "stitch_disabled": bool,
            "max_video_post_duration_sec": int,
            "posting_state": str,
            "app_version": str,
            "bio_description": str,
            "is_verified": bool,
            "follower_count": int,
            "following_count": int,
            "likes_count": int,
        }
        if "avatar" in body:  # documented alias
            body = {**body, "avatar_color": body["avatar"]}
        for name, kind in fields.items():
            if name not in body:
                continue
            value = body[name]
            if value is None and name == "app_version":
                creator.app_version = None
                continue
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ControlError(f"{name} must be of type {kind.__name__}")
            setattr(creator, name, value)
        if creator.posting_state not in ("ok", "capped", "banned"):
            raise ControlError("posting_state must be one of ok, capped, banned")
        self.creators[open_id] = creator
        return creator

    def add_fault(self, body: dict[str, Any]) -> Fault:
        from .faults import FAULT_ENDPOINTS

        endpoint = body.get("endpoint")
        if endpoint not in FAULT_ENDPOINTS:
            raise ControlError(f"endpoint must be one of {sorted(FAULT_ENDPOINTS)}")
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ControlError("count must be a positive integer")
        fault = Fault(
            endpoint=endpoint,
            count=count,
            error=body.get("error"),
            status=body.get("status"),
            message=body.get("message"),
            delay_s=float(body.get("delay_s", 0)),
            drop=bool(body.get("drop", False)),
            drop_after_bytes=int(body.get("drop_after_bytes", 0)),
            fail_reason=body.get("fail_reason"),
        )
        kinds = [fault.error or fault.status, fault.delay_s > 0, fault.drop, fault.fail_reason]
        if not any(kinds):
            raise ControlError("a fault needs one of: error, status, delay_s, drop, fail_reason")
        if fault.fail_reason and endpoint != "processing":
            raise ControlError("fail_reason faults use endpoint 'processing'")
        self.faults.setdefault(endpoint, []).append(fault)
        return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        queue = self.faults.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    def set_progression(self, body: dict[str, Any]) -> Progression:
        try:
            progression = Progression.parse(body)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        key = body.get("client_key")
        if key is None:
            self.config = self.config.patched({"progression": progression.as_dict()})
        else:
            self._app_or_404(key).progression = progression
        return progression

    def patch_config(self, body: dict[str, Any]) -> EmulatorConfig:
        try:
            self.config = self.config.patched(body)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return self.config

    def _app_or_404(self, key: Any) -> App:
        app = self.apps.get(key) if isinstance(key, str) else None
        if app is None:
            raise ControlError(f"no app with client_key {key!r}", 404)
        return app

    def _creator_or_404(self, open_id: Any) -> Creator:
        creator = self.creators.get(open_id) if isinstance(open_id, str) else None
        if creator is None:
            raise ControlError(f"no creator with open_id {open_id!r}", 404)
        return creator

    def control_issue_tokens(self, body: dict[str, Any]) -> Token:
        app = self._app_or_404(body.get("client_key", next(iter(self.apps), None)))
        creator = self._creator_or_404(body.get("open_id"))
        scopes = _str_list(body, "scopes") if "scopes" in body else list(app.scopes)
        unknown = sorted(set(scopes) - set(app.scopes))
        if unknown:
            raise ControlError(f"the app does not hold scopes {unknown}")
        return self._issue_token(app, creator.open_id, scopes)

    # ------------------------------------------------------------------ OAuth

    def check_authorize(self, params: dict[str, str]) -> tuple[App, str, list[str]]:
        """Validate an authorize request; returns app, redirect URI and requested scopes.

        Raises ControlError (rendered as a page, no redirect) when redirecting would be unsafe,
        or OAuthError (sent back to the redirect URI) otherwise.
        """
        app = self.apps.get(params.get("client_key", ""))
        if app is None:
            raise ControlError(
                "Unknown client_key: this app is not registered with the emulator. "
                "Register it with POST /_emulator/apps or use the demo app.",
            )
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_registered(app, redirect_uri):
            raise ControlError(
                f"redirect_uri {redirect_uri!r} does not exactly match a redirect URI registered "
                f"for {app.client_key}: {app.redirect_uris}",
            )
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be 'code'.")
        scopes = [s for s in params.get("scope", "").split(",") if s]
        if not scopes:
            raise OAuthError("invalid_scope", "The scope parameter is required.")
        missing = [s for s in scopes if s not in app.scopes]
        if missing:
            raise OAuthError("invalid_scope", f"The app is not approved for {','.join(missing)}.")
        if "code_challenge" in params and params.get("code_challenge_method", "S256") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        return app, redirect_uri, scopes

    def _redirect_registered(self, app: App, uri: str) -> bool:
        if uri in app.redirect_uris:
            return True
        # Desktop rule: a registered http://127.0.0.1:*/path matches any port.
        parts = urlsplit(uri)
        for registered in app.redirect_uris:
            reg = urlsplit(registered)
            if (
                reg.netloc.endswith(":*")
                and parts.scheme == reg.scheme
                and parts.hostname == reg.netloc[:-2]
                and parts.path == reg.path
                and not parts.query
            ):
                return True
        return False

    def issue_code(
        self, app: App, open_id: str, scopes: list[str], redirect_uri: str, challenge: str | None
    ) -> str:
        creator = self._creator_or_404(open_id)
        if app.target_users is not None and creator.open_id not in app.target_users:
            raise OAuthError(
                "unauthorized_client", "This account is not a target user of this app."
            )
        code = secrets.token_urlsafe(24) + "*0!" + _random_digits(4)
        self.codes[code] = AuthCode(
            code=code,
            client_key=app.client_key,
            open_id=creator.open_id,
            scopes=scopes,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            expires_at=self.now() + self.config.auth_code_ttl_s,
        )
        return code

    def _authenticate_client(self, form: dict[str, str]) -> App:
        key = form.get("client_key")
        if not key:
            raise OAuthError("invalid_request", "Client key is missed in request.")
        if "client_secret" not in form or not form["client_secret"]:
            raise OAuthError("invalid_request", "Client secret is missed in request.")
        app = self.apps.get(key)
        if app is None:
            raise OAuthError("invalid_client", "Client key is invalid.")
        if not secrets.compare_digest(app.client_secret, form["client_secret"]):
            raise OAuthError("invalid_client", "Client secret is invalid.")
        return app

    def token_endpoint(self, form: dict[str, str]) -> Token:
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "The request parameters are malformed.")
        app = self._authenticate_client(form)
        if grant == "authorization_code":
            return self._exchange_code(app, form)
        if grant == "refresh_token":
            return self._refresh(app, form)
        raise OAuthError("unsupported_grant_type", f"Grant type {grant!r} is not supported.")

    def _exchange_code(self, app: App, form: dict[str, str]) -> Token:
        code = self.codes.get(form.get("code", ""))
        if code is None or code.client_key != app.client_key:
            raise OAuthError("invalid_grant", "Authorization code is invalid.")
        if code.used:
            raise OAuthError("invalid_grant", "Authorization code has been used.")
        if self.now() > code.expires_at:
            raise OAuthError("invalid_grant", "Authorization code is expired.")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(
                "invalid_request", "Redirect_uri is not matched with the uri when requesting code."
            )
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).hexdigest()
            if not verifier or not secrets.compare_digest(digest, code.code_challenge.lower()):
                raise OAuthError("invalid_request", "Code verifier or code challenge is invalid.")
        code.used = True
        return self._issue_token(app, code.open_id, code.scopes)

    def _refresh(self, app: App, form: dict[str, str]) -> Token:
        old = self.refresh_index.get(form.get("refresh_token", ""))
        if old is None or old.client_key != app.client_key:
            raise OAuthError("invalid_grant", "Refresh token is invalid.")
        if old.revoked:
            raise OAuthError("invalid_grant", "Refresh token has been revoked.")
        if old.superseded:
            raise OAuthError("invalid_grant", "Refresh token has already been used.")
        if self.now() > old.refresh_expires_at:
            raise OAuthError("invalid_grant", "Refresh token is expired.")
        old.superseded = True
        del self.refresh_index[old.refresh_token]
        # Rotation: a new refresh token, same absolute refresh expiry (365 days from issuance).
        return self._issue_token(
            app, old.open_id, old.scopes, refresh_expires_at=old.refresh_expires_at
        )

    def _issue_token(
        self,
        app: App,
        open_id: str,
        scopes: list[str],
        *,
        refresh_expires_at: float | None = None,
    ) -> Token:
        now = self.now()
        token = Token(
            access_token="act." + secrets.token_urlsafe(45) + "!" + _random_digits(4) + ".e1",
            refresh_token="rft." + secrets.token_urlsafe(45) + "!" + _random_digits(4) + ".e1",
            client_key=app.client_key,
            open_id=open_id,
            scopes=list(scopes),
            access_expires_at=now + self.config.access_token_ttl_s,
            refresh_expires_at=refresh_expires_at or now + self.config.refresh_token_ttl_s,
        )
        self.tokens[token.access_token] = token
        self.refresh_index[token.refresh_token] = token
        return token

    def token_payload(self, token: Token) -> dict[str, Any]:
        now = self.now()
        return {
            "access_token": token.access_token,
            "expires_in": max(0, round(token.access_expires_at - now)),
            "open_id": token.open_id,
            "refresh_expires_in": max(0, round(token.refresh_expires_at - now)),
            "refresh_token": token.refresh_token,
            "scope": ",".join(token.scopes),
            "token_type": "Bearer",
        }

    def revoke(self, form: dict[str, str]) -> None:
        app = self._authenticate_client(form)
        token = self.tokens.get(form.get("token", ""))
        if token is None or token.client_key != app.client_key:
            raise OAuthError("invalid_request", "The token is invalid or was not issued to you.")
        self.remove_authorization(app, token.open_id, reason=5)

    def remove_authorization(self, app: App, open_id: str, *, reason: int) -> int:
        """Revoke every token of (app, creator), fail its running publishes, send the webhook."""
        revoked = 0
        for token in self.tokens.values():
            if (
                token.client_key == app.client_key
                and token.open_id == open_id
                and not token.revoked
            ):
                token.revoked = True
                revoked += 1
        for publish in self.publishes.values():
            if (
                publish.client_key == app.client_key
                and publish.open_id == open_id
                and publish.status not in ("PUBLISH_COMPLETE", "FAILED", "SEND_TO_USER_INBOX")
            ):
                self._apply(publish, "FAILED", "auth_removed")
        self.emit(app, open_id, "authorization.removed", {"reason": reason})
        return revoked

    def authenticate(
        self, header: str | None, scopes_any: tuple[str, ...], *, endpoint: str
    ) -> Token:
        """Check the Bearer token and that it holds one of ``scopes_any``; count the rate limit."""
        if header is None or not header.strip():
            raise ApiError(
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            )
        parts = header.split(" ")
        if len(parts) != 2 or parts[0] != "Bearer" or not parts[1]:
            raise self.invalid_param("Invalid authorization header. Please check the format.")
        token = self.tokens.get(parts[1])
        if token is None or token.revoked:
            raise ApiError(
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            )
        if self.now() > token.access_expires_at:
            raise ApiError("access_token_invalid", "The access token has expired.")
        if scopes_any and not any(s in token.scopes for s in scopes_any):
            raise ApiError(
                "scope_not_authorized",
                f"The user did not authorize the scope required for this endpoint: "
                f"{' or '.join(scopes_any)}.",
            )
        self._count_rate(token, endpoint)
        return token

    def _count_rate(self, token: Token, endpoint: str) -> None:
        limit = self.config.rate_limits.get(endpoint)
        if limit is None:
            return
        window = self.rate.setdefault((token.access_token, endpoint), RateWindow())
        now = self.now()
        while window.hits and now - window.hits[0] >= 60.0:
            window.hits.popleft()
        if len(window.hits) >= limit:
            self._refuse(token.client_key, token.open_id, endpoint, "rate_limit_exceeded")
            raise ApiError(
                "rate_limit_exceeded",
                f"Too many requests: {limit} per minute per access token for this endpoint.",
            )
        window.hits.append(now)

    def _refuse(self, client_key: str, open_id: str, endpoint: str, code: str) -> None:
        self.refused.append(
            {
                "at": self.now(),
                "client_key": client_key,
                "open_id": open_id,
                "endpoint": endpoint,
                "code": code,
            }
        )

    # ------------------------------------------------------------------ user info

    FIELD_SCOPES: dict[str, str] = {  # noqa: RUF012 - constant table
        "open_id": "user.info.basic",
        "union_id": "user.info.basic",
        "avatar_url": "user.info.basic",
        "avatar_url_100": "user.info.basic",
        "avatar_large_url": "user.info.basic",
        "display_name": "user.info.basic",
        "bio_description": "user.info.profile",
        "profile_deep_link": "user.info.profile",
        "is_verified": "user.info.profile",
        "username": "user.info.profile",
        "follower_count": "user.info.stats",
        "following_count": "user.info.stats",
        "likes_count": "user.info.stats",
        "video_count": "user.info.stats",
    }

    def user_info(self, token: Token, fields_param: str | None, base_url: str) -> dict[str, Any]:
        if not fields_param:
            raise self.invalid_param("The fields parameter is required, e.g. fields=open_id.")
        fields = [f.strip() for f in fields_param.split(",") if f.strip()]
        unknown = [f for f in fields if f not in self.FIELD_SCOPES]
        if unknown:
            raise self.invalid_param(f"Unknown fields: {','.join(unknown)}.")
        missing = sorted({self.FIELD_SCOPES[f] for f in fields} - set(token.scopes))
        if missing:
            raise ApiError(
                self.config.missing_field_scope_code,
                f"Some requested fields need scopes that were not granted: {','.join(missing)}.",
            )
        creator = self._creator_or_404(token.open_id)
        avatar = f"{base_url}_emulator/avatars/{creator.open_id}.png"
        values: dict[str, Any] = {
            "open_id": creator.open_id,
            "union_id": creator.union_id,
            "avatar_url": avatar,
            "avatar_url_100": avatar + "?size=100",
            "avatar_large_url": avatar + "?size=720",
            "display_name": creator.nickname,
            "bio_description": creator.bio_description,
            "profile_deep_link": f"{base_url}_emulator/creators/{creator.open_id}",
            "is_verified": creator.is_verified,
            "username": creator.username,
            "follower_count": creator.follower_count,
            "following_count": creator.following_count,
            "likes_count": creator.likes_count,
            "video_count": sum(
                1 for p in self.posts if p.open_id == creator.open_id and p.media_type == "VIDEO"
            ),
        }
        return {"user": {f: values[f] for f in fields}}

    # ------------------------------------------------------------------ creator info and caps

    def _posting_block(self, app: App, creator: Creator, *, direct: bool) -> str | None:
        """The posting-blocked code for this creator right now, or None."""
        if creator.posting_state == "banned":
            return "spam_risk_user_banned_from_posting"
        if not direct:
            return None
        now = self.now()
        recent = [t for t in self.direct_inits if now - t[0] < DAY]
        if creator.posting_state == "capped" or (
            sum(1 for t in recent if t[1] == creator.open_id) >= self.config.posting_cap_per_day
        ):
            return "spam_risk_too_many_posts"
        cap = app.creator_cap
        if not app.audited:
            cap = self.config.unaudited_creator_cap if cap is None else min(cap, 5)
        if cap is not None:
            active = {t[1] for t in recent if t[2] == app.client_key}
            if creator.open_id not in active and len(active) >= cap:
                return "reached_active_user_cap"
        return None

    BLOCK_MESSAGES: dict[str, str] = {  # noqa: RUF012 - constant table
        "spam_risk_user_banned_from_posting": "This user is banned from posting.",
        "spam_risk_too_many_posts": "This user has reached the daily limit of posts.",
        "reached_active_user_cap": "The app has reached its daily quota of active publishing users.",
        "spam_risk_too_many_pending_share": (
            "This user has too many pending shares in the inbox in the last 24 hours."
        ),
    }

    def creator_info(self, token: Token, base_url: str) -> dict[str, Any]:
        app = self.apps[token.client_key]
        creator = self._creator_or_404(token.open_id)
        block = self._posting_block(app, creator, direct=True)
        if block:
            self._refuse(app.client_key, creator.open_id, "creator_info", block)
            # Intentionally HTTP 200 (spec §3.1).
            raise ApiError(block, self.BLOCK_MESSAGES[block], 200)
        return {
            "creator_avatar_url": f"{base_url}_emulator/avatars/{creator.open_id}.png",
            "creator_username": creator.username,
            "creator_nickname": creator.nickname,
            "privacy_level_options": creator.privacy_level_options(),
            "comment_disabled": creator.comment_disabled,
            "duet_disabled": creator.duet_disabled or creator.private_account,
            "stitch_disabled": creator.stitch_disabled or creator.private_account,
            "max_video_post_duration_sec": creator.max_video_post_duration_sec,
        }

    # ------------------------------------------------------------------ inits

    def _url_verified(self, app: App, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "https" and not (parts.scheme == "http" and self._loopback_ok(host)):
            return False
        if any(url.startswith(prefix) for prefix in app.verified_url_prefixes):
            return True
        return any(host == d or host.endswith("." + d) for d in app.verified_domains)

    def _check_urls(self, app: App, creator: Creator, urls: list[str], endpoint: str) -> None:
        for url in urls:
            if not self._url_verified(app, url):
                self._refuse(app.client_key, creator.open_id, endpoint, "url_ownership_unverified")
                raise ApiError(
                    "url_ownership_unverified",
                    f"The URL {url} is not under a domain or URL prefix verified for this app.",
                )

    def _block_or_raise(self, app: App, creator: Creator, endpoint: str, *, direct: bool) -> None:
        block = self._posting_block(app, creator, direct=direct)
        if block:
            self._refuse(app.client_key, creator.open_id, endpoint, block)
            raise ApiError(block, self.BLOCK_MESSAGES[block])

    def _check_pending(self, creator: Creator, endpoint: str, client_key: str) -> None:
        now = self.now()
        pending = sum(
            1
            for p in self.publishes.values()
            if p.open_id == creator.open_id
            and p.post_mode == "MEDIA_UPLOAD"
            and now - p.created_at < DAY
            and p.status not in ("PUBLISH_COMPLETE", "FAILED")
        )
        if pending >= self.config.pending_share_cap:
            code = "spam_risk_too_many_pending_share"
            self._refuse(client_key, creator.open_id, endpoint, code)
            raise ApiError(code, self.BLOCK_MESSAGES[code])

    def _check_privacy(self, app: App, creator: Creator, post_info: dict[str, Any]) -> str:
        """Return the privacy level the post will have, or raise the documented 403s."""
        if not app.audited and not creator.private_account:
            raise ApiError(
                "unaudited_client_can_only_post_to_private_accounts",
                "Unaudited clients can only post to private accounts; make the account private.",
            )
        level = post_info.get("privacy_level")
        if not isinstance(level, str) or level not in creator.privacy_level_options():
            raise ApiError(
                "privacy_level_option_mismatch",
                f"privacy_level must be one of {creator.privacy_level_options()} for this creator.",
            )
        if not app.audited and level != SELF_ONLY:
            if self.config.unaudited_privacy == "reject":
                raise ApiError(
                    "privacy_level_option_mismatch",
                    "Unaudited clients can only post with privacy_level SELF_ONLY.",
                )
            level = SELF_ONLY
        return level

    def _parse_source(self, body: dict[str, Any], *, photo: bool) -> dict[str, Any]:
        source_info = body.get("source_info")
        if not isinstance(source_info, dict):
            raise self.invalid_param("source_info is required and must be an object.")
        source = source_info.get("source")
        if photo:
            if source != "PULL_FROM_URL":
                raise self.invalid_param("source_info.source must be PULL_FROM_URL for photos.")
            images = source_info.get("photo_images")
            if (
                not isinstance(images, list)
                or not 1 <= len(images) <= 35
                or not all(isinstance(u, str) and u for u in images)
            ):
                raise self.invalid_param("source_info.photo_images must list 1 to 35 image URLs.")
            cover = source_info.get("photo_cover_index")
            if (
                not isinstance(cover, int)
                or isinstance(cover, bool)
                or not 0 <= cover < len(images)
            ):
                raise self.invalid_param(
                    "source_info.photo_cover_index is required: a 0-based index into photo_images."
                )
            return {"source": source, "urls": images, "cover": cover}
        if source == "PULL_FROM_URL":
            url = source_info.get("video_url")
            if not isinstance(url, str) or not url:
                raise self.invalid_param("source_info.video_url is required for PULL_FROM_URL.")
            return {"source": source, "urls": [url]}
        if source != "FILE_UPLOAD":
            raise self.invalid_param("source_info.source must be FILE_UPLOAD or PULL_FROM_URL.")
        values = {}
        for name in ("video_size", "chunk_size", "total_chunk_count"):
            value = source_info.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise self.invalid_param(f"source_info.{name} must be a positive integer.")
            values[name] = value
        self._check_chunk_plan(
            values["video_size"], values["chunk_size"], values["total_chunk_count"]
        )
        return {"source": source, "urls": [], **values}

    def _check_chunk_plan(self, size: int, chunk: int, count: int) -> None:
        cfg = self.config
        if size > cfg.max_video_bytes:
            raise ApiError(
                "invalid_file_upload",
                f"video_size {size} is over the {cfg.max_video_bytes}-byte limit.",
                400,
            )
        if size < cfg.min_chunk_bytes:
            if chunk != size or count != 1:
                raise self.invalid_param(
                    "Files under 5 MB must be uploaded whole: chunk_size = video_size and "
                    "total_chunk_count = 1."
                )
            return
        if not cfg.min_chunk_bytes <= chunk <= cfg.max_chunk_bytes and not (
            count == 1 and chunk == size and size <= cfg.max_chunk_bytes
        ):
            raise self.invalid_param("chunk_size must be between 5 MB and 64 MB.")
        if count != size // chunk:
            raise self.invalid_param(
                f"total_chunk_count must be floor(video_size / chunk_size) = {size // chunk}."
            )
        if not 1 <= count <= cfg.max_chunks:
            raise self.invalid_param("total_chunk_count must be between 1 and 1000.")
        if size - (count - 1) * chunk > cfg.max_final_chunk_bytes:
            raise self.invalid_param("The final chunk would be over 128 MB; use bigger chunks.")

    def _parse_post_info(
        self, body: dict[str, Any], *, photo: bool, direct: bool
    ) -> dict[str, Any]:
        post_info = body.get("post_info", {} if not direct else None)
        if not isinstance(post_info, dict):
            raise self.invalid_param("post_info is required and must be an object.")
        title = post_info.get("title", "")
        if not isinstance(title, str):
            raise self.invalid_param("post_info.title must be a string.")
        limit = 90 if photo else 2200
        if utf16_len(title) > limit:
            raise self.invalid_param(f"post_info.title is longer than {limit} characters.")
        description = post_info.get("description", "")
        if not isinstance(description, str) or utf16_len(description) > 4000:
            raise self.invalid_param("post_info.description must be a string of ≤ 4000 characters.")
        bools = ["disable_comment", "brand_content_toggle", "brand_organic_toggle", "is_aigc"]
        bools += ["auto_add_music"] if photo else ["disable_duet", "disable_stitch"]
        if photo and ("disable_duet" in post_info or "disable_stitch" in post_info):
            raise self.invalid_param("Photo posts do not take disable_duet or disable_stitch.")
        for name in bools:
            if name in post_info and not isinstance(post_info[name], bool):
                raise self.invalid_param(f"post_info.{name} must be true or false.")
        cover = post_info.get("video_cover_timestamp_ms")
        if cover is not None and (not isinstance(cover, int) or isinstance(cover, bool)):
            raise self.invalid_param("post_info.video_cover_timestamp_ms must be an integer.")
        if "privacy_level" in post_info and not isinstance(post_info["privacy_level"], str):
            raise self.invalid_param("post_info.privacy_level must be a string.")
        if photo and "is_aigc" in body and not isinstance(body["is_aigc"], bool):
            raise self.invalid_param("is_aigc must be true or false.")
        return post_info

    def init_publish(
        self, token: Token, body: Any, *, endpoint: str, base_url: str
    ) -> dict[str, Any]:
        """Video direct (video_init), video inbox (inbox_video_init) or photo (content_init)."""
        if not isinstance(body, dict):
            raise self.invalid_param("The request body must be a JSON object.")
        app = self.apps[token.client_key]
        creator = self._creator_or_404(token.open_id)
        photo = endpoint == "content_init"
        if photo:
            if body.get("media_type") != "PHOTO":
                raise self.invalid_param("media_type must be PHOTO.")
            post_mode = body.get("post_mode")
            if post_mode not in ("DIRECT_POST", "MEDIA_UPLOAD"):
                raise self.invalid_param("post_mode must be DIRECT_POST or MEDIA_UPLOAD.")
            needed = "video.publish" if post_mode == "DIRECT_POST" else "video.upload"
            if needed not in token.scopes:
                raise ApiError("scope_not_authorized", f"{post_mode} needs the {needed} scope.")
        else:
            post_mode = "DIRECT_POST" if endpoint == "video_init" else "MEDIA_UPLOAD"
        direct = post_mode == "DIRECT_POST"
        post_info = self._parse_post_info(body, photo=photo, direct=direct)
        source = self._parse_source(body, photo=photo)
        if photo and not direct:
            version = creator.app_version or self.config.default_app_version
            if _version_tuple(version) < (31, 8):
                raise ApiError(
                    "app_version_check_failed",
                    "The creator's TikTok app must be version 31.8 or later to receive photo drafts.",
                )
        self._block_or_raise(app, creator, endpoint, direct=direct)
        privacy: str | None = None
        if direct:
            try:
                privacy = self._check_privacy(app, creator, post_info)
            except ApiError as exc:
                self._refuse(app.client_key, creator.open_id, endpoint, exc.code)
                raise
        else:
            self._check_pending(creator, endpoint, app.client_key)
        self._check_urls(app, creator, source["urls"], endpoint)

        now = self.now()
        kind = "p" if photo else "v"
        mode = "pub" if direct else "inbox"
        how = "file" if source["source"] == "FILE_UPLOAD" else "url"
        publish_id = f"{kind}_{mode}_{how}~v2-1.{_random_digits(19)}"
        publish = Publish(
            publish_id=publish_id,
            client_key=app.client_key,
            open_id=creator.open_id,
            media_type="PHOTO" if photo else "VIDEO",
            post_mode=post_mode,
            source=source["source"],
            created_at=now,
            request=body,
            status="PROCESSING_UPLOAD" if how == "file" else "PROCESSING_DOWNLOAD",
            privacy_level=privacy,
            urls=list(source["urls"]),
            entered_at=now,
        )
        publish.history.append({"at": now, "status": publish.status})
        self.publishes[publish_id] = publish
        if direct:
            self.direct_inits.append((now, creator.open_id, app.client_key))
        data: dict[str, Any] = {"publish_id": publish_id}
        if how == "file":
            publish.video_size = source["video_size"]
            publish.chunk_size = source["chunk_size"]
            publish.total_chunk_count = source["total_chunk_count"]
            publish.upload_id = _random_digits(19)
            publish.upload_token = secrets.token_urlsafe(24)
            publish.upload_expires_at = now + self.config.upload_url_ttl_s
            self.uploads[publish.upload_id] = publish_id
            data["upload_url"] = (
                f"{base_url}upload/video/?upload_id={publish.upload_id}"
                f"&upload_token={publish.upload_token}"
            )
        else:
            publish.download_started_at = now
            self.pending_pulls.append(publish_id)
        return data

    # ------------------------------------------------------------------ status and cancel

    def _own_publish(self, token: Token, body: Any) -> Publish:
        if not isinstance(body, dict) or not isinstance(body.get("publish_id"), str):
            raise self.invalid_param("publish_id is required and must be a string.")
        publish = self.publishes.get(body["publish_id"])
        if publish is None:
            raise ApiError("invalid_publish_id", "No publish task with this publish_id exists.")
        if publish.client_key != token.client_key or publish.open_id != token.open_id:
            raise ApiError(
                "token_not_authorized_for_specified_publish_id",
                "This access token is not authorized to read this publish_id.",
            )
        return publish

    def status_fetch(self, token: Token, body: Any) -> dict[str, Any]:
        publish = self._own_publish(token, body)
        self.advance(publish, poll=True)
        data: dict[str, Any] = {"status": publish.status}
        if publish.status == "FAILED":
            data["fail_reason"] = publish.fail_reason
        data["publicaly_available_post_id"] = list(publish.post_ids)
        if publish.source == "FILE_UPLOAD":
            if self.config.status_always_has_progress or publish.uploaded_bytes:
                data["uploaded_bytes"] = publish.uploaded_bytes
        elif self.config.status_always_has_progress or publish.downloaded_bytes:
            data["downloaded_bytes"] = publish.downloaded_bytes
        return data

    def cancel(self, token: Token, body: Any) -> None:
        publish = self._own_publish(token, body)
        self.advance(publish, poll=False)
        if publish.source != "PULL_FROM_URL" or publish.status != "PROCESSING_DOWNLOAD":
            raise ApiError(
                "publish_not_cancellable",
                "Only a pull-from-URL task that is still downloading can be cancelled.",
            )
        app = self.apps[publish.client_key]
        creator = self._creator_or_404(publish.open_id)
        self._check_urls(app, creator, publish.urls, "cancel")
        self._apply(publish, "FAILED", "publish_cancelled")

    # ------------------------------------------------------------------ upload host

    def upload_target(self, upload_id: str | None, upload_token: str | None) -> Publish:
        """The publish an upload URL belongs to; raises UploadRefused with 404/403."""
        publish_id = self.uploads.get(upload_id or "")
        publish = self.publishes.get(publish_id or "")
        if publish is None or publish.upload_token is None:
            raise UploadRefused(404, "No upload task for this upload_url.")
        if not secrets.compare_digest(publish.upload_token, upload_token or ""):
            raise UploadRefused(404, "No upload task for this upload_url.")
        if self.now() > publish.upload_expires_at:
            raise UploadRefused(403, "This upload_url has expired (valid for one hour).")
        return publish

    def expect_chunk(
        self,
        publish: Publish,
        content_type: str | None,
        content_range: str | None,
        content_length: str | None,
    ) -> ChunkPlan:
        """Check a PUT's headers against the chunk rules and the upload's progress."""
        if publish.status != "PROCESSING_UPLOAD" or publish.media_ready:
            raise UploadRefused(416, "This upload is already complete.")
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime not in VIDEO_UPLOAD_TYPES:
            raise UploadRefused(
                400, "Content-Type must be video/mp4, video/quicktime or video/webm."
            )
        try:
            unit, _, spec = (content_range or "").partition(" ")
            span, _, total_s = spec.partition("/")
            first_s, _, last_s = span.partition("-")
            first, last, total = int(first_s), int(last_s), int(total_s)
        except ValueError:
            raise UploadRefused(
                400, "Content-Range must look like 'bytes FIRST-LAST/TOTAL'."
            ) from None
        if unit != "bytes" or first < 0 or last < first:
            raise UploadRefused(400, "Content-Range must look like 'bytes FIRST-LAST/TOTAL'.")
        if total != publish.video_size:
            raise UploadRefused(
                400, f"TOTAL must be the video_size given at init ({publish.video_size})."
            )
        length = last - first + 1
        if content_length is None or not content_length.isdigit() or int(content_length) != length:
            raise UploadRefused(400, "Content-Length must equal the size of the Content-Range.")
        if first != publish.uploaded_bytes:
            raise UploadRefused(
                416, f"Expected the chunk starting at byte {publish.uploaded_bytes}."
            )
        index = publish.chunks_received
        final = index == publish.total_chunk_count - 1
        expected_len = publish.video_size - first if final else publish.chunk_size
        if length != expected_len:
            raise UploadRefused(
                400,
                f"Chunk {index + 1} of {publish.total_chunk_count} must be {expected_len} bytes.",
            )
        return ChunkPlan(offset=first, length=length, final=final)

    def chunk_received(self, publish: Publish, plan: ChunkPlan) -> None:
        publish.uploaded_bytes = plan.offset + plan.length
        publish.chunks_received += 1

    def progress_header(self, publish: Publish) -> str:
        if publish.uploaded_bytes == 0:
            return f"bytes */{publish.video_size}"
        return f"bytes 0-{publish.uploaded_bytes - 1}/{publish.video_size}"

    def media_path(self, publish: Publish, index: int = 0) -> Path:
        folder = (
            self.data_dir / "media" / hashlib.sha256(publish.publish_id.encode()).hexdigest()[:32]
        )
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{index}.bin"

    # ------------------------------------------------------------------ processing and progression

    def media_processed(
        self, publish: Publish, fail_reason: str | None, probe: dict[str, Any] | None
    ) -> None:
        """The media is in and was checked: plan the statuses that follow."""
        if publish.is_final:
            return
        publish.media_ready = True
        publish.probe = probe
        fault = self.take_fault("processing")
        if fault is not None and fault.fail_reason:
            fail_reason = fault.fail_reason
        if fail_reason:
            publish.plan = [("FAILED", fail_reason)]
        elif publish.post_mode == "DIRECT_POST":
            publish.plan = [("PUBLISH_COMPLETE", None)]
        else:
            publish.plan = [("SEND_TO_USER_INBOX", None)]
        publish.entered_at = self.now()
        publish.polls_in_state = 0
        self.advance(publish, poll=False)

    def fail_now(self, publish: Publish, reason: str) -> None:
        if not publish.is_final:
            self._apply(publish, "FAILED", reason)

    def _progression(self, publish: Publish) -> Progression:
        app = self.apps.get(publish.client_key)
        if app is not None and app.progression is not None:
            prog: Progression = app.progression
            return prog
        return self.config.progression

    def advance(self, publish: Publish, *, poll: bool) -> None:
        if publish.is_final or not publish.plan:
            return
        if poll:
            publish.polls_in_state += 1
        prog = self._progression(publish)
        ready = (
            prog.mode == "immediate"
            or (prog.mode == "polls" and publish.polls_in_state >= prog.value)
            or (prog.mode == "seconds" and self.now() - publish.entered_at >= prog.value)
        )
        if ready:
            status, reason = publish.plan.pop(0)
            self._apply(publish, status, reason)

    def tick(self) -> None:
        """Apply time-based transitions and time out slow downloads."""
        now = self.now()
        for publish in list(self.publishes.values()):
            if publish.is_final:
                continue
            if (
                publish.status == "PROCESSING_DOWNLOAD"
                and not publish.media_ready
                and publish.download_started_at is not None
                and now - publish.download_started_at > self.config.pull_timeout_s
            ):
                reason = (
                    "photo_pull_failed" if publish.media_type == "PHOTO" else "video_pull_failed"
                )
                self._apply(publish, "FAILED", reason)
                continue
            if publish.plan and self._progression(publish).mode != "polls":
                self.advance(publish, poll=False)

    def _apply(self, publish: Publish, status: str, reason: str | None) -> None:
        now = self.now()
        publish.status = status
        publish.fail_reason = reason if status == "FAILED" else None
        publish.plan = [] if status == "FAILED" else publish.plan
        publish.entered_at = now
        publish.polls_in_state = 0
        publish.history.append({"at": now, "status": status, "fail_reason": publish.fail_reason})
        app = self.apps.get(publish.client_key)
        if app is None:
            return
        base = {"publish_id": publish.publish_id, "publish_type": self._publish_type(publish)}
        if status == "FAILED":
            self.emit(app, publish.open_id, "post.publish.failed", {**base, "reason": reason})
        elif status == "SEND_TO_USER_INBOX":
            self.emit(app, publish.open_id, "post.publish.inbox_delivered", base)
        elif status == "PUBLISH_COMPLETE":
            info = publish.request.get("post_info") or {}
            post = self._create_post(publish, info, privacy=publish.privacy_level or SELF_ONLY)
            self.emit(app, publish.open_id, "post.publish.complete", base)
            self._maybe_public(app, publish, post)

    def _create_post(
        self, publish: Publish, info: dict[str, Any], *, privacy: str, via_inbox: bool = False
    ) -> Post:
        creator = self.creators.get(publish.open_id)
        cover = publish.request.get("source_info", {}).get("photo_cover_index", 0)
        is_aigc = bool(info.get("is_aigc", False)) or bool(publish.request.get("is_aigc", False))
        post = Post(
            post_id=int("7" + _random_digits(18)),
            publish_id=publish.publish_id,
            open_id=publish.open_id,
            client_key=publish.client_key,
            media_type=publish.media_type,
            title=str(info.get("title", "")),
            description=str(info.get("description", "")),
            privacy_level=privacy,
            # The server forces what the creator's settings forbid (spec §3.2).
            disable_comment=bool(info.get("disable_comment", False))
            or bool(creator and creator.comment_disabled),
            disable_duet=publish.media_type == "VIDEO"
            and (
                bool(info.get("disable_duet", False))
                or bool(creator and (creator.duet_disabled or creator.private_account))
            ),
            disable_stitch=publish.media_type == "VIDEO"
            and (
                bool(info.get("disable_stitch", False))
                or bool(creator and (creator.stitch_disabled or creator.private_account))
            ),
            brand_content_toggle=bool(info.get("brand_content_toggle", False)),
            brand_organic_toggle=bool(info.get("brand_organic_toggle", False)),
            is_aigc=is_aigc,
            auto_add_music=bool(info.get("auto_add_music", False)),
            media_count=len(publish.media_paths),
            cover_index=cover if isinstance(cover, int) else 0,
            created_at=self.now(),
            via_inbox=via_inbox,
        )
        self.posts.append(post)
        return post

    def _maybe_public(self, app: App, publish: Publish, post: Post) -> None:
        if post.privacy_level == PUBLIC and (app.audited or post.via_inbox):
            publish.post_ids.append(post.post_id)
            self.emit(
                app,
                publish.open_id,
                "post.publish.publicly_available",
                {
                    "publish_id": publish.publish_id,
                    "post_id": self._webhook_post_id(post.post_id),
                    "publish_type": self._publish_type(publish),
                },
            )

    def _publish_type(self, publish: Publish) -> str:
        """Webhook ``publish_type``: INBOX_SHARE for inbox uploads, the configured one otherwise."""
        if publish.post_mode == "MEDIA_UPLOAD":
            return "INBOX_SHARE"
        return self.config.direct_publish_type

    def _webhook_post_id(self, post_id: int) -> int | str:
        return post_id if self.config.webhook_post_id_as == "number" else str(post_id)

    def creator_posts_draft(self, publish_id: str, body: dict[str, Any]) -> Post:
        """The creator opens the inbox notification and posts the draft in the TikTok app."""
        publish = self.publishes.get(publish_id)
        if publish is None:
            raise ControlError(f"no publish {publish_id!r}", 404)
        if publish.status != "SEND_TO_USER_INBOX":
            raise ControlError(
                f"publish {publish_id} is {publish.status}; only SEND_TO_USER_INBOX drafts can be posted"
            )
        creator = self._creator_or_404(publish.open_id)
        privacy = body.get("privacy_level", SELF_ONLY)
        if privacy not in creator.privacy_level_options():
            raise ControlError(f"privacy_level must be one of {creator.privacy_level_options()}")
        info = {**(publish.request.get("post_info") or {}), **body}
        publish.status = "PUBLISH_COMPLETE"
        publish.history.append({"at": self.now(), "status": "PUBLISH_COMPLETE"})
        post = self._create_post(publish, info, privacy=privacy, via_inbox=True)
        app = self.apps[publish.client_key]
        self.emit(
            app,
            publish.open_id,
            "post.publish.complete",
            {"publish_id": publish.publish_id, "publish_type": self._publish_type(publish)},
        )
        self._maybe_public(app, publish, post)
        return post

    def set_post_privacy(self, post_id: str, privacy: str) -> Post:
        post = next((p for p in self.posts if str(p.post_id) == post_id), None)
        if post is None:
            raise ControlError(f"no post {post_id!r}", 404)
        if privacy not in PRIVACY_LEVELS:
            raise ControlError(f"privacy_level must be one of {list(PRIVACY_LEVELS)}")
        was_public = post.privacy_level == PUBLIC
        post.privacy_level = privacy
        publish = self.publishes[post.publish_id]
        app = self.apps[post.client_key]
        content = {
            "publish_id": publish.publish_id,
            "post_id": self._webhook_post_id(post.post_id),
            "publish_type": self._publish_type(publish),
        }
        if was_public and privacy != PUBLIC:
            if post.post_id in publish.post_ids:
                publish.post_ids.remove(post.post_id)
            self.emit(app, post.open_id, "post.publish.no_longer_publicaly_available", content)
        elif not was_public and privacy == PUBLIC:
            publish.post_ids.append(post.post_id)
            self.emit(app, post.open_id, "post.publish.publicly_available", content)
        return post

    # ------------------------------------------------------------------ webhooks

    def emit(self, app: App, open_id: str, event: str, content: dict[str, Any]) -> None:
        """Queue a webhook event for the app (sent by the dispatcher in ``webhooks.py``)."""
        if not app.webhook_url:
            return
        payload = {
            "client_key": app.client_key,
            "event": event,
            "create_time": int(self.now()),
            "user_openid": open_id,
            "content": json.dumps(content, separators=(",", ":")),
        }
        delivery = WebhookDelivery(
            delivery_id=len(self.deliveries) + 1,
            client_key=app.client_key,
            url=app.webhook_url,
            event=event,
            body=json.dumps(payload, separators=(",", ":")).encode(),
        )
        self.deliveries.append(delivery)
        self.outbox.append(delivery)

    # ------------------------------------------------------------------ state dump

    def state(self) -> dict[str, Any]:
        for publish in self.publishes.values():
            self.advance(publish, poll=False)
        posts_by_creator: dict[str, list[dict[str, Any]]] = {}
        for post in self.posts:
            posts_by_creator.setdefault(post.open_id, []).append(post.view())
        return {
            "now": self.now(),
            "config": self.config.as_dict(),
            "apps": [a.public_view() for a in self.apps.values()],
            "creators": [c.view() for c in self.creators.values()],
            "publishes": [p.view() for p in self.publishes.values()],
            "posts": posts_by_creator,
            "webhooks": [d.view() for d in self.deliveries],
            "refused": self.refused,
            "faults": [f.view() for q in self.faults.values() for f in q],
            "tokens": [
                {
                    "client_key": t.client_key,
                    "open_id": t.open_id,
                    "scopes": t.scopes,
                    "revoked": t.revoked,
                    "expires_at": t.access_expires_at,
                }
                for t in self.tokens.values()
            ],
        }


class UploadRefused(Exception):
    """An upload-host refusal: an HTTP status with a short plain-text reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ControlError(f"{name} must be a list of strings")
    return list(value)


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


__all__ = ["Backend", "ChunkPlan", "UploadRefused", "deque"]
