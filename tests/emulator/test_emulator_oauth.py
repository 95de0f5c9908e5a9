"""Login Kit in the emulator: consent page, token exchange, refresh rotation, revoke, user info."""

from __future__ import annotations

import hashlib
import secrets

from tests.emulator.helpers import authorize_query, consent, exchange
from tests.fixtures.emulator import EmulatorHandle


def test_consent_page_lists_demo_creators_and_requested_scopes(
    emulator_server: EmulatorHandle,
) -> None:
    page = emulator_server.client.get(
        "/v2/auth/authorize/", params=authorize_query(emulator_server)
    )
    assert page.status_code == 200
    for open_id in ("demo-public", "demo-private", "demo-banned", "demo-60s"):
        assert f'value="{open_id}"' in page.text
    for scope in ("user.info.basic", "video.publish", "video.upload"):
        assert f'name="scope:{scope}"' in page.text
    assert 'id="allow"' in page.text and 'id="deny"' in page.text


def test_allowing_returns_code_scopes_and_state_and_code_exchanges_once(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    callback = consent(h, "demo-private", scopes=("user.info.basic", "video.publish"))
    assert callback["state"] == ["st-123"]
    assert callback["scopes"] == ["user.info.basic,video.publish"]
    first = exchange(h, callback["code"][0])
    assert first.status_code == 200
    token = first.json()
    assert token["open_id"] == "demo-private"
    assert token["scope"] == "user.info.basic,video.publish"
    assert token["expires_in"] == 86400 and token["refresh_expires_in"] == 31536000
    assert token["token_type"] == "Bearer"
    assert token["access_token"].startswith("act.") and token["refresh_token"].startswith("rft.")
    again = exchange(h, callback["code"][0])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert set(again.json()) == {"error", "error_description", "log_id"}


def test_denying_redirects_with_access_denied(emulator_server: EmulatorHandle) -> None:
    callback = consent(emulator_server, decision="deny")
    assert callback["error"] == ["access_denied"]
    assert callback["state"] == ["st-123"]
    assert "code" not in callback


def test_unregistered_redirect_uri_is_shown_as_a_page_not_redirected(
    emulator_server: EmulatorHandle,
) -> None:
    query = authorize_query(emulator_server, redirect_uri="https://evil.example/cb")
    page = emulator_server.client.get("/v2/auth/authorize/", params=query)
    assert page.status_code == 400
    assert "does not exactly match" in page.text


def test_authorize_errors_redirect_with_the_documented_codes(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    bad_type = h.client.get("/v2/auth/authorize/", params=authorize_query(h, response_type="token"))
    assert "error=unsupported_response_type" in bad_type.headers["location"]
    h.register_app(scopes=["user.info.basic"])
    bad_scope = h.client.get("/v2/auth/authorize/", params=authorize_query(h))
    assert "error=invalid_scope" in bad_scope.headers["location"]
    h.register_app(target_users=["demo-private"])
    callback = consent(h, "demo-public")
    assert callback["error"] == ["unauthorized_client"]
    assert callback["error_type"] == ["client_key"]
    h.control("faults", {"endpoint": "authorize", "error": "temporarily_unavailable"})
    faulted = h.client.get("/v2/auth/authorize/", params=authorize_query(h))
    assert "error=temporarily_unavailable" in faulted.headers["location"]


def test_pkce_challenge_is_checked_as_hex_sha256(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    verifier = secrets.token_urlsafe(48)
    challenge = hashlib.sha256(verifier.encode()).hexdigest()
    code = consent(h, code_challenge=challenge, code_challenge_method="S256")["code"][0]
    wrong = exchange(h, code, code_verifier=verifier + "x")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_request"
    assert wrong.json()["error_description"] == "Code verifier or code challenge is invalid."
    assert exchange(h, code, code_verifier=verifier).status_code == 200


def test_authorization_code_expires_with_emulator_time(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    code = consent(h)["code"][0]
    h.control("clock", {"advance_s": 301})
    late = exchange(h, code)
    assert late.json() == {**late.json(), "error": "invalid_grant"}
    assert late.json()["error_description"] == "Authorization code is expired."


def test_token_endpoint_error_shapes(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    code = consent(h)["code"][0]
    cases = {
        "invalid_client": {"client_secret": "wrong"},
        "unsupported_grant_type": {"grant_type": "password"},
        "invalid_request": {"redirect_uri": h.redirect_uri + "/other"},
    }
    for expected, override in cases.items():
        answer = exchange(h, code, **override)
        assert (answer.status_code, answer.json()["error"]) == (400, expected), expected
    missing_secret = h.client.post(
        "/v2/oauth/token/", data={"client_key": h.client_key, "grant_type": "refresh_token"}
    )
    assert missing_secret.json()["error_description"] == "Client secret is missed in request."
    as_json = h.client.post("/v2/oauth/token/", json={"client_key": h.client_key})
    assert as_json.json()["error"] == "invalid_request"
    h.control("faults", {"endpoint": "token", "error": "server_error", "status": 503})
    faulted = exchange(h, code)
    assert (faulted.status_code, faulted.json()["error"]) == (503, "server_error")
    assert exchange(h, code).status_code == 200


def test_token_error_http_status_is_configurable(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    h.control("config", {"oauth_error_status": 200})
    answer = exchange(h, "no-such-code")
    assert (answer.status_code, answer.json()["error"]) == (200, "invalid_grant")


def test_refresh_rotates_and_the_old_refresh_token_stops_working(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    first = exchange(h, consent(h)["code"][0]).json()
    h.control("clock", {"advance_s": 1000})
    form = {
        "client_key": h.client_key,
        "client_secret": h.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
    }
    second = h.client.post("/v2/oauth/token/", data=form).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # The refresh token's lifetime counts from the first issuance (spec §2.2).
    assert second["refresh_expires_in"] == 31536000 - 1000
    reused = h.client.post("/v2/oauth/token/", data=form)
    assert reused.json()["error"] == "invalid_grant"


def test_access_token_expires_after_a_day_of_emulator_time(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    assert h.api("/v2/post/publish/creator_info/query/", token).status_code == 200
    h.control("clock", {"advance_s": 86401})
    expired = h.api("/v2/post/publish/creator_info/query/", token)
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "access_token_invalid")


def test_revoke_invalidates_the_token(emulator_server: EmulatorHandle) -> None:
    h = emulator_server
    token = h.token("demo-public")
    revoked = h.client.post(
        "/v2/oauth/revoke/",
        data={"client_key": h.client_key, "client_secret": h.client_secret, "token": token},
    )
    assert revoked.status_code == 200
    after = h.api("/v2/post/publish/creator_info/query/", token)
    assert after.json() == {**after.json(), "data": {}}
    assert after.json()["error"]["code"] == "access_token_invalid"
    unknown = h.client.post(
        "/v2/oauth/revoke/",
        data={"client_key": h.client_key, "client_secret": h.client_secret, "token": token + "x"},
    )
    assert unknown.json()["error"] == "invalid_request"


def test_user_info_returns_requested_fields_and_checks_their_scopes(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    token = h.token("demo-public", scopes=["user.info.basic", "video.publish"])
    headers = {"Authorization": f"Bearer {token}"}
    ok = h.client.get(
        "/v2/user/info/", params={"fields": "open_id,display_name,avatar_url"}, headers=headers
    )
    user = ok.json()["data"]["user"]
    assert user["open_id"] == "demo-public" and user["display_name"] == "Pia Public"
    assert user["avatar_url"].startswith(h.base_url)
    avatar = h.client.get(user["avatar_url"])
    assert avatar.headers["content-type"] == "image/png" and avatar.content[:4] == b"\x89PNG"
    missing = h.client.get("/v2/user/info/", params={"fields": "username"}, headers=headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        400,
        "scope_permission_missed",
    )
    no_fields = h.client.get("/v2/user/info/", headers=headers)
    assert no_fields.json()["error"]["code"] == "invalid_params"
    publish_only = h.token("demo-public", scopes=["video.publish"])
    refused = h.client.get(
        "/v2/user/info/",
        params={"fields": "open_id"},
        headers={"Authorization": f"Bearer {publish_only}"},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "scope_not_authorized")


def test_malformed_authorization_header_is_invalid_params(emulator_server: EmulatorHandle) -> None:
    answer = emulator_server.client.post(
        "/v2/post/publish/creator_info/query/", headers={"Authorization": "Token abc"}
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_params")
    assert answer.json()["data"] == {}
    missing = emulator_server.client.post("/v2/post/publish/creator_info/query/")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "access_token_invalid")
