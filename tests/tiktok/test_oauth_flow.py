"""Login Kit through the client: authorize URLs, PKCE, code exchange, refresh, revoke."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from directpost.tiktok import (
    OAuthError,
    RequestValidationError,
    TikTokClient,
    code_challenge,
    new_code_verifier,
)

from .conftest import AUTH, CLIENT_KEY, CLIENT_SECRET, Driven
from .fake_tiktok import FakeTikTok

TOKEN_OK = {
    "access_token": "act.example12345Example12345Example",
    "expires_in": 86400,
    "open_id": "afd97af1-b87b-48b9-ac98-410aghda5344",
    "refresh_expires_in": 31536000,
    "refresh_token": "rft.example12345Example12345Example",
    "scope": "user.info.basic,video.publish",
    "token_type": "Bearer",
}


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_web_authorize_url_carries_state_and_comma_scopes_without_pkce(tk: Driven) -> None:
    url = tk.authorize_url(
        redirect_uri="https://app.example/callback",
        scopes=["user.info.basic", "video.publish"],
        state="st-123",
    )
    assert url.startswith(f"{AUTH}/v2/auth/authorize/?")
    q = _query(url)
    assert q == {
        "client_key": CLIENT_KEY,
        "scope": "user.info.basic,video.publish",
        "redirect_uri": "https://app.example/callback",
        "state": "st-123",
        "response_type": "code",
    }


def test_desktop_authorize_url_uses_hex_sha256_challenge(tk: Driven) -> None:
    verifier = new_code_verifier()
    url = tk.desktop_authorize_url(
        redirect_uri="http://127.0.0.1:3455/callback/",
        scopes=["video.upload"],
        state="s",
        code_verifier=verifier,
    )
    q = _query(url)
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == hashlib.sha256(verifier.encode()).hexdigest()
    assert len(q["code_challenge"]) == 64 and q["code_challenge"] == q["code_challenge"].lower()


def test_code_verifier_is_fresh_and_uses_only_the_allowed_alphabet() -> None:
    a, b = new_code_verifier(), new_code_verifier(43)
    assert a != b and len(b) == 43 and 43 <= len(a) <= 128
    assert set(a + b) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    with pytest.raises(RequestValidationError):
        code_challenge("too-short")


def test_authorize_url_refuses_a_missing_state(tk: Driven) -> None:
    with pytest.raises(RequestValidationError, match="state"):
        tk.authorize_url(redirect_uri="https://a/cb", scopes=["user.info.basic"], state="")


def test_code_exchange_is_form_encoded_and_gives_absolute_expiry(
    tk: Driven, fake: FakeTikTok
) -> None:
    fake.reply("/v2/oauth/token/", 200, TOKEN_OK)
    before = datetime.now(UTC)
    token = tk.exchange_code(code="c0de*!", redirect_uri="https://app.example/callback")
    sent = fake.last("/v2/oauth/token/")
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.form() == {
        "client_key": CLIENT_KEY,
        "client_secret": CLIENT_SECRET,
        "code": "c0de*!",
        "grant_type": "authorization_code",
        "redirect_uri": "https://app.example/callback",
    }
    assert token.access_token == TOKEN_OK["access_token"]
    assert token.scopes == frozenset({"user.info.basic", "video.publish"})
    assert token.access_expires_at.tzinfo is not None
    assert before + timedelta(seconds=86400) <= token.access_expires_at
    assert token.access_expires_at <= datetime.now(UTC) + timedelta(seconds=86400)
    assert token.refresh_expires_at - token.access_expires_at == timedelta(seconds=31536000 - 86400)


def test_desktop_code_exchange_sends_the_verifier(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply("/v2/oauth/token/", 200, TOKEN_OK)
    tk.exchange_code(code="c", redirect_uri="http://127.0.0.1:1/cb/", code_verifier="v" * 43)
    assert fake.last("/v2/oauth/token/").form()["code_verifier"] == "v" * 43


def test_refresh_returns_the_rotated_refresh_token(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply("/v2/oauth/token/", 200, {**TOKEN_OK, "refresh_token": "rft.rotated"})
    token = tk.refresh_token(refresh_token="rft.old")
    assert token.refresh_token == "rft.rotated"
    form = fake.last("/v2/oauth/token/").form()
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "rft.old"


@pytest.mark.parametrize("status", [200, 400])
def test_oauth_errors_raise_with_description_and_log_id_at_any_status(
    tk: Driven, fake: FakeTikTok, status: int
) -> None:
    fake.reply(
        "/v2/oauth/token/",
        status,
        {
            "error": "invalid_grant",
            "error_description": "Authorization code is expired.",
            "log_id": "LOG1",
        },
    )
    with pytest.raises(OAuthError) as info:
        tk.exchange_code(code="old", redirect_uri="https://a/cb")
    assert info.value.error == "invalid_grant"
    assert info.value.log_id == "LOG1" and info.value.http_status == status
    assert "expired" in str(info.value) and not info.value.retryable


def test_token_exchange_is_not_retried_after_a_server_error(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply("/v2/oauth/token/", 503, b"busy")
    with pytest.raises(OAuthError):
        tk.refresh_token(refresh_token="rft.only-one")
    assert sum(r.path == "/v2/oauth/token/" for r in fake.requests) == 1


def test_revoke_sends_the_access_token_form_encoded(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply("/v2/oauth/revoke/", 200, {})
    tk.revoke(access_token="act.bye")
    assert fake.last("/v2/oauth/revoke/").form() == {
        "client_key": CLIENT_KEY,
        "client_secret": CLIENT_SECRET,
        "token": "act.bye",
    }


def test_client_repr_and_token_repr_hide_secrets(tk: Driven, fake: FakeTikTok) -> None:
    fake.reply("/v2/oauth/token/", 200, TOKEN_OK)
    token = tk.exchange_code(code="c", redirect_uri="https://a/cb")
    assert CLIENT_SECRET not in repr(tk.client)
    assert TOKEN_OK["access_token"] not in repr(token)
    assert TOKEN_OK["refresh_token"] not in repr(token)


def test_client_needs_a_client_key() -> None:
    with pytest.raises(ValueError, match="client_key"):
        TikTokClient(client_key="", client_secret="x")
