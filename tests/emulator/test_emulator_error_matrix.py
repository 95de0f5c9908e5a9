"""The codes every Bearer endpoint documents (spec §1, §2.5, §3.1–§3.7), provoked endpoint by
endpoint: access_token_invalid (unknown, revoked, expired), scope_not_authorized,
rate_limit_exceeded (per token, sliding minute) and a 5xx, each in the v2 error envelope.

The endpoint-specific codes (caps, privacy, URL ownership, publish ids, ...) are provoked in
test_emulator_posting_errors.py and test_emulator_oauth.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.emulator import EmulatorHandle


@dataclass(frozen=True)
class Endpoint:
    name: str  # the rate-limit and fault name
    method: str
    path: str
    lacking_scopes: tuple[str, ...]  # a grant without the scope this endpoint needs
    body: Any = None


PHOTO = {
    "post_info": {"privacy_level": "SELF_ONLY"},
    "source_info": {
        "source": "PULL_FROM_URL",
        "photo_images": ["https://unverified.example/a.jpg"],  # never fetched: not verified
        "photo_cover_index": 0,
    },
    "post_mode": "DIRECT_POST",
    "media_type": "PHOTO",
}
ENDPOINTS = [
    Endpoint("user_info", "GET", "/v2/user/info/?fields=open_id", ("video.publish",)),
    Endpoint("creator_info", "POST", "/v2/post/publish/creator_info/query/", ("video.upload",)),
    Endpoint("video_init", "POST", "/v2/post/publish/video/init/", ("video.upload",), {}),
    Endpoint(
        "inbox_video_init", "POST", "/v2/post/publish/inbox/video/init/", ("video.publish",), {}
    ),
    Endpoint("content_init", "POST", "/v2/post/publish/content/init/", ("video.upload",), PHOTO),
    Endpoint("status_fetch", "POST", "/v2/post/publish/status/fetch/", ("user.info.basic",), {}),
    Endpoint("cancel", "POST", "/v2/post/publish/cancel/", ("user.info.basic",), {}),
    Endpoint("video_query", "POST", "/v2/video/query/?fields=id", ("video.publish",), {}),
]
IDS = [e.name for e in ENDPOINTS]


def call(h: EmulatorHandle, endpoint: Endpoint, token: str) -> tuple[int, str, Any]:
    response = h.client.request(
        endpoint.method,
        endpoint.path,
        json=endpoint.body if endpoint.method == "POST" else None,
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert set(body) == {"data", "error"}, body
    assert set(body["error"]) == {"code", "message", "log_id"}, body
    return response.status_code, body["error"]["code"], body["data"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_unknown_revoked_or_expired_token_is_access_token_invalid(
    emulator_server: EmulatorHandle, endpoint: Endpoint
) -> None:
    h = emulator_server
    assert call(h, endpoint, "act.not-a-token") == (401, "access_token_invalid", {})
    revoked = h.token("demo-public")
    h.client.post(
        "/v2/oauth/revoke/",
        data={"client_key": h.client_key, "client_secret": h.client_secret, "token": revoked},
    )
    assert call(h, endpoint, revoked) == (401, "access_token_invalid", {})
    expiring = h.token("demo-public")
    h.control("clock", {"advance_s": 86401})
    assert call(h, endpoint, expiring) == (401, "access_token_invalid", {})


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_token_without_the_needed_scope_is_scope_not_authorized(
    emulator_server: EmulatorHandle, endpoint: Endpoint
) -> None:
    h = emulator_server
    token = h.token("demo-public", scopes=list(endpoint.lacking_scopes))
    assert call(h, endpoint, token) == (401, "scope_not_authorized", {})


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_rate_limit_is_per_token_per_sliding_minute(
    emulator_server: EmulatorHandle, endpoint: Endpoint
) -> None:
    h = emulator_server
    h.control("config", {"rate_limits": {endpoint.name: 2}})
    token = h.token("demo-public")
    first = call(h, endpoint, token)
    h.control("clock", {"advance_s": 30})
    second = call(h, endpoint, token)
    assert "rate_limit_exceeded" not in (first[1], second[1])
    assert call(h, endpoint, token) == (429, "rate_limit_exceeded", {})
    assert call(h, endpoint, h.token("demo-public"))[1] != "rate_limit_exceeded"  # per token
    h.control("clock", {"advance_s": 30})  # the first call left the window, the second not
    assert call(h, endpoint, token)[1] != "rate_limit_exceeded"
    assert call(h, endpoint, token) == (429, "rate_limit_exceeded", {})
    refused = h.state()["refused"][-1]
    assert (refused["endpoint"], refused["code"]) == (endpoint.name, "rate_limit_exceeded")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_injected_server_errors_use_the_envelope(
    emulator_server: EmulatorHandle, endpoint: Endpoint
) -> None:
    h = emulator_server
    token = h.token("demo-public")
    h.control("faults", {"endpoint": endpoint.name, "error": "internal_error"})
    h.control("faults", {"endpoint": endpoint.name, "status": 502})
    assert call(h, endpoint, token) == (500, "internal_error", {})
    assert call(h, endpoint, token) == (502, "internal_error", {})
    assert call(h, endpoint, token)[0] < 500  # faults apply to the next calls only


def test_every_bearer_endpoint_of_the_emulator_is_in_the_matrix() -> None:
    """Guards the matrix above: a new Bearer route of the emulator must be added to it."""
    from directpost.emulator.faults import PATH_ENDPOINTS

    bearer = {name for name in PATH_ENDPOINTS.values() if name not in ("token", "revoke", "upload")}
    assert bearer == set(IDS)


def test_revoke_errors_use_the_flat_oauth_shape(emulator_server: EmulatorHandle) -> None:
    """Spec §2.3: revoke answers errors as ``{error, error_description, log_id}``."""
    h = emulator_server
    token = h.token("demo-public")
    form = {"client_key": h.client_key, "client_secret": h.client_secret, "token": token}
    cases = [
        ({**form, "client_secret": "wrong"}, "invalid_client"),
        ({**form, "client_key": "nobody"}, "invalid_client"),
        ({"client_key": h.client_key, "token": token}, "invalid_request"),
        ({**form, "token": "act.unknown"}, "invalid_request"),
    ]
    for data, expected in cases:
        answer = h.client.post("/v2/oauth/revoke/", data=data)
        assert answer.status_code == 400, data
        assert set(answer.json()) == {"error", "error_description", "log_id"}
        assert answer.json()["error"] == expected, data
    as_json = h.client.post("/v2/oauth/revoke/", json=form)
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    h.control("faults", {"endpoint": "revoke", "error": "temporarily_unavailable", "status": 503})
    faulted = h.client.post("/v2/oauth/revoke/", data=form)
    assert (faulted.status_code, faulted.json()["error"]) == (503, "temporarily_unavailable")
    assert h.client.post("/v2/oauth/revoke/", data=form).status_code == 200
    assert h.api("/v2/post/publish/creator_info/query/", token).status_code == 401
