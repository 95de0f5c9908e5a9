"""Apps and creators: what the control plane registers, and the checks on the URLs it is given.

Holds ``register_app`` (redirect URIs, verified URL prefixes, webhook URL, scopes, caps, target
users, progression), ``upsert_creator`` and the rule that lets http through for loopback hosts.
Follows docs/emulator.md ("Control plane": ``POST /_emulator/apps`` and ``/_emulator/creators``)
and spec §2.1 (redirect URIs), §6.1 (webhook registration) and §7 (URL ownership verification).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..config import Progression
from ..errors import ControlError
from ..state import ALL_SCOPES, App, Creator
from .core import Core, _str_list

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class AppsMixin(Core):
    """Registering apps and creators."""

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
