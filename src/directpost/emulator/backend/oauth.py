"""Login Kit: authorize, codes, the token endpoint, refresh, revoke, user info, Bearer checks.

Holds the authorize checks, issuing and exchanging codes (with PKCE), the token endpoint with
refresh-token rotation, revoke and authorization removal, ``authenticate`` with the per-token rate
count and the record of refusals, tokens issued by the control plane, and ``user_info``. Follows
spec §2 (2.1 authorize to 2.5 user info), §5.1 (per-endpoint limits) and §6.3
(``authorization.removed``); the routes are in ``emulator/oauth.py``.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import urlsplit

from ..errors import ApiError, ControlError, OAuthError
from ..state import App, AuthCode, RateWindow, Token
from .core import Core, _random_digits, _str_list

#: Lifetime of a client access token: "valid for 2 hours after the initial issuance".
CLIENT_TOKEN_TTL_S = 7200.0


class OAuthMixin(Core):
    """Codes, tokens and the checks on every authenticated call."""

    # ------------------------------------------------------------------ control plane

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

    def token_endpoint(self, form: dict[str, str]) -> dict[str, Any]:
        """The token endpoint's answer for the form's ``grant_type``."""
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "The request parameters are malformed.")
        app = self._authenticate_client(form)
        if grant == "authorization_code":
            return self.token_payload(self._exchange_code(app, form))
        if grant == "refresh_token":
            return self.token_payload(self._refresh(app, form))
        if grant == "client_credentials":
            return self._client_token(app)
        raise OAuthError("unsupported_grant_type", f"Grant type {grant!r} is not supported.")

    def _client_token(self, app: App) -> dict[str, Any]:
        """A client access token: the app's own, no user, 2 hours (client-access-token-management).

        TikTok issues it for the Research and Commercial Content APIs, which the emulator does not
        serve: no endpoint here accepts it (a user endpoint answers ``access_token_invalid``), so
        it is not kept.
        """
        token = "clt." + secrets.token_urlsafe(45) + "!" + _random_digits(4) + ".e1"
        return {
            "access_token": token,
            "expires_in": int(CLIENT_TOKEN_TTL_S),
            "token_type": "Bearer",
        }

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
