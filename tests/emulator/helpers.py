"""Small helpers shared by the emulator tests (not fixtures: plain functions)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

from tests.fixtures.emulator import EmulatorHandle

MIB = 1024 * 1024


def authorize_query(h: EmulatorHandle, **extra: str) -> dict[str, str]:
    return {
        "client_key": h.client_key,
        "scope": "user.info.basic,video.publish,video.upload",
        "redirect_uri": h.redirect_uri,
        "state": "st-123",
        "response_type": "code",
        **extra,
    }


def consent(
    h: EmulatorHandle,
    open_id: str = "demo-public",
    *,
    decision: str = "allow",
    scopes: tuple[str, ...] = ("user.info.basic", "video.publish", "video.upload"),
    **extra: str,
) -> dict[str, list[str]]:
    """Submit the consent page as a person would; returns the callback's query parameters."""
    form: dict[str, str] = {**authorize_query(h, **extra), "open_id": open_id, "decision": decision}
    for scope in scopes:
        form[f"scope:{scope}"] = "on"
    response = h.client.post("/v2/auth/authorize/", data=form)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(h.redirect_uri)
    return parse_qs(urlsplit(location).query)


def exchange(h: EmulatorHandle, code: str, **extra: str) -> httpx2.Response:
    return h.client.post(
        "/v2/oauth/token/",
        data={
            "client_key": h.client_key,
            "client_secret": h.client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": h.redirect_uri,
            **extra,
        },
    )


def video_init_body(
    *,
    privacy: str = "PUBLIC_TO_EVERYONE",
    size: int = 1000,
    chunk: int | None = None,
    count: int = 1,
    **post_info: Any,
) -> dict[str, Any]:
    return {
        "post_info": {"privacy_level": privacy, "title": "a #cat video", **post_info},
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": size,
            "chunk_size": chunk if chunk is not None else size,
            "total_chunk_count": count,
        },
    }


def put_chunk(
    url: str, data: bytes, first: int, total: int, *, content_type: str = "video/mp4"
) -> httpx2.Response:
    last = first + len(data) - 1
    return httpx2.put(
        url,
        content=data,
        headers={"Content-Type": content_type, "Content-Range": f"bytes {first}-{last}/{total}"},
        trust_env=False,
        timeout=60,
    )


def upload_whole(h: EmulatorHandle, token: str, data: bytes, **post_info: Any) -> str:
    """Init a direct FILE_UPLOAD of ``data`` in one chunk and upload it; returns publish_id."""
    init = h.api(
        "/v2/post/publish/video/init/", token, video_init_body(size=len(data), **post_info)
    )
    assert init.status_code == 200, init.text
    answer = put_chunk(init.json()["data"]["upload_url"], data, 0, len(data))
    assert answer.status_code == 201, answer.text
    return str(init.json()["data"]["publish_id"])


def error_code(response: httpx2.Response) -> tuple[int, str]:
    body = response.json()
    return response.status_code, body["error"]["code"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
