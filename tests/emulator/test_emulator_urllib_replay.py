"""Holdout-style replay: TikTok's documented requests sent with nothing but urllib.

urllib is the strictest ordinary client for the upload host: it sends ``Connection: close`` and
writes every body in full before reading. Each documented request here (consent, token, user
info, creator info, the official video init example and its worked chunk example, the whole
upload example, status, revoke) and each documented upload refusal (416, 400, 403, 404) must come
back as its documented answer, never as a connection reset (``URLError``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fixtures.emulator import EmulatorHandle

VIDEO_INIT_EXAMPLE: dict[str, Any] = {
    "post_info": {
        "title": "this will be a funny #cat video on your @tiktok #fyp",
        "privacy_level": "MUTUAL_FOLLOW_FRIENDS",
        "disable_duet": False,
        "disable_comment": True,
        "disable_stitch": False,
        "video_cover_timestamp_ms": 1000,
    },
    "source_info": {
        "source": "FILE_UPLOAD",
        "video_size": 50000123,
        "chunk_size": 10000000,
        "total_chunk_count": 5,
    },
}
WORKED_CHUNKS = [(0, 9999999), (10000000, 19999999), (20000000, 29999999), (30000000, 39999999)]
LAST_CHUNK = (40000000, 50000122)
TOTAL = 50000123


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 302 itself is the answer under test


class UrllibClient:
    """Answers as (status, headers, body); an HTTP error status is an answer, a reset is not."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, bytes]:
        full = url if url.startswith("http") else self.base + url
        request = urllib.request.Request(full, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as answer:  # any other URLError fails the test
            with answer:
                return answer.code, answer.headers, answer.read()

    def form(self, url: str, fields: dict[str, str]) -> tuple[int, Any, bytes]:
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.send("POST", url, body, headers)

    def api(self, url: str, token: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=UTF-8",
        }
        body = None if payload is None else json.dumps(payload).encode()
        status, _, raw = self.send("POST", url, body, headers)
        return status, json.loads(raw)

    def put(self, url: str, first: int, last: int, total: int, **headers: str) -> tuple[int, Any]:
        wanted = {
            "Content-Type": "video/mp4",
            "Content-Range": f"bytes {first}-{last}/{total}",
            **headers,
        }
        status, answer_headers, _ = self.send("PUT", url, b"\0" * (last - first + 1), wanted)
        return status, answer_headers


def test_documented_requests_sent_with_urllib_get_every_documented_answer(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    client = UrllibClient(h.base_url)
    query = {
        "client_key": h.client_key,
        "scope": "user.info.basic,video.publish,video.upload",
        "redirect_uri": h.redirect_uri,
        "state": "xyz",
        "response_type": "code",
    }
    page, _, html = client.send("GET", "/v2/auth/authorize/?" + urlencode(query))
    assert page == 200 and b"demo-public" in html
    consent = {**query, "open_id": "demo-public", "decision": "allow"}
    consent |= {f"scope:{scope}": "on" for scope in query["scope"].split(",")}
    redirect, headers, _ = client.form("/v2/auth/authorize/", consent)
    assert redirect == 302
    code = parse_qs(urlsplit(headers["Location"]).query)["code"][0]
    exchange = {
        "client_key": h.client_key,
        "client_secret": h.client_secret,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": h.redirect_uri,
    }
    status, _, raw = client.form("/v2/oauth/token/", exchange)
    assert status == 200
    token = json.loads(raw)["access_token"]
    status, _, raw = client.send(
        "GET",
        "/v2/user/info/?fields=open_id,union_id,avatar_url,display_name",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 200 and json.loads(raw)["data"]["user"]["open_id"] == "demo-public"
    status, info = client.api("/v2/post/publish/creator_info/query/", token)
    assert status == 200 and info["error"]["code"] == "ok"

    # The official video init example, then its worked chunk example with the refusals around it.
    status, init = client.api("/v2/post/publish/video/init/", token, VIDEO_INIT_EXAMPLE)
    assert status == 200 and init["error"]["code"] == "ok"
    url = init["data"]["upload_url"]
    out_of_order, progress = client.put(url, *WORKED_CHUNKS[1], TOTAL)
    assert (out_of_order, progress["Content-Range"]) == (416, f"bytes */{TOTAL}")
    wrong_total, _ = client.put(url, 0, 9999999, TOTAL + 1)
    assert wrong_total == 400
    forged, _ = client.put(url.replace("upload_token=", "upload_token=x"), 0, 9999999, TOTAL)
    assert forged == 404
    answers = [client.put(url, first, last, TOTAL) for first, last in WORKED_CHUNKS]
    assert [a[0] for a in answers] == [206, 206, 206, 206]
    assert [a[1]["Content-Range"] for a in answers] == [
        f"bytes 0-{last}/{TOTAL}" for _, last in WORKED_CHUNKS
    ]
    done, progress = client.put(url, *LAST_CHUNK, TOTAL)
    assert (done, progress["Content-Range"]) == (201, f"bytes 0-{TOTAL - 1}/{TOTAL}")
    status, fetched = client.api(
        "/v2/post/publish/status/fetch/", token, {"publish_id": init["data"]["publish_id"]}
    )
    assert status == 200 and fetched["data"]["uploaded_bytes"] == TOTAL

    # The whole-upload example (4 MiB in one chunk) through the inbox init.
    whole = {"source": "FILE_UPLOAD", "video_size": 4194304, "chunk_size": 4194304}
    status, inbox = client.api(
        "/v2/post/publish/inbox/video/init/",
        token,
        {"source_info": {**whole, "total_chunk_count": 1}},
    )
    assert status == 200
    assert client.put(inbox["data"]["upload_url"], 0, 4194303, 4194304)[0] == 201

    # An upload_url an hour old: 403, read to the end like the others.
    status, late = client.api("/v2/post/publish/video/init/", token, VIDEO_INIT_EXAMPLE)
    assert status == 200
    h.control("clock", {"advance_s": 3601})
    assert client.put(late["data"]["upload_url"], *WORKED_CHUNKS[0], TOTAL)[0] == 403

    revoke = {"client_key": h.client_key, "client_secret": h.client_secret, "token": token}
    status, _, raw = client.form("/v2/oauth/revoke/", revoke)
    assert (status, json.loads(raw)) == (200, {})
