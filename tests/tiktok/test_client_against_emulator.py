"""The same client, sync and async, against the emulator in-process (ASGI) and as a real server.

The emulator is an independent reading of TikTok's contract (it does not import the library),
so these runs catch misreadings that a fake written next to the client would share.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from starlette.applications import Starlette

from directpost.emulator import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET
from directpost.tiktok import (
    AccessTokenInvalidError,
    AsyncTikTokClient,
    CreatorCannotPostError,
    FileUploadSource,
    NotCancellableError,
    PhotoPostInfo,
    PhotoSource,
    PrivacyLevelMismatchError,
    PublishCompleteEvent,
    PublishIdError,
    TikTokClient,
    UrlOwnershipUnverifiedError,
    VideoPostInfo,
    verify,
)
from tests.fixtures.emulator import ClosedPort, EmulatorHandle, demo_app_fields

from .fake_tiktok import SyncASGITransport, close_loop

IN_PROCESS_BASE = "http://emulator.test"
QUICK_POLLS: dict[str, Any] = {"interval": 0.05, "max_interval": 0.2, "max_polls": 25}
"""wait_for_status pacing for the emulator, whose processing takes a few ticks, not minutes."""


class Target:
    """Where the emulator runs and how to reach it: clients, a 'browser', the control plane."""

    def __init__(
        self,
        base_url: str,
        make_sync: Callable[[], Any],
        make_async: Callable[[], Any],
        redirect_uri: str,
    ):
        self.base_url = base_url
        # The demo app's callback as the fixtures register it: a test-owned closed loopback port.
        self.redirect_uri = redirect_uri
        self._make_sync = make_sync
        self._make_async = make_async
        self.browser = httpx2.Client(
            base_url=base_url, transport=make_sync(), trust_env=False, follow_redirects=False
        )

    def control(self, path: str, body: Any = None) -> Any:
        resp = self.browser.post(f"/_emulator/{path}", json=body)
        assert resp.status_code < 400, resp.text
        return resp.json()

    def token(self, open_id: str = "demo-public") -> str:
        return str(
            self.control("tokens", {"client_key": DEMO_CLIENT_KEY, "open_id": open_id})[
                "access_token"
            ]
        )

    def client(self, kind: str) -> Any:
        cls = TikTokClient if kind == "sync" else AsyncTikTokClient
        return cls(
            client_key=DEMO_CLIENT_KEY,
            client_secret=DEMO_CLIENT_SECRET,
            auth_base_url=self.base_url,
            api_base_url=self.base_url,
            transport=self._make_sync() if kind == "sync" else self._make_async(),
        )


class Call:
    """Calls sync or async client methods with one syntax (async ones on a private loop)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop() if isinstance(client, AsyncTikTokClient) else None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attr = getattr(self.client, name)
        if self.loop is None or not inspect.iscoroutinefunction(attr):
            return attr  # type: ignore[no-any-return]
        loop = self.loop
        return lambda *a, **k: loop.run_until_complete(attr(*a, **k))

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            close_loop(self.loop)


@pytest.fixture(params=["in-process", "server"])
def target(request: pytest.FixtureRequest, closed_loopback_port: ClosedPort) -> Iterator[Target]:
    redirect_uri = demo_app_fields(closed_loopback_port)["redirect_uris"][0]
    if request.param == "server":
        handle: EmulatorHandle = request.getfixturevalue("emulator_server")
        t = Target(handle.base_url.rstrip("/"), lambda: None, lambda: None, redirect_uri)
    else:
        app: Starlette = request.getfixturevalue("emulator_app")
        t = Target(
            IN_PROCESS_BASE,
            lambda: SyncASGITransport(app),
            lambda: httpx2.ASGITransport(app=app),
            redirect_uri,
        )
    yield t
    t.browser.close()


@pytest.fixture(params=["sync", "async"])
def tk(request: pytest.FixtureRequest, target: Target) -> Iterator[Call]:
    call = Call(target.client(request.param))
    yield call
    call.close()


def _consent(target: Target, authorize_url: str, open_id: str) -> dict[str, str]:
    """Play the user on the consent page: allow every scope; return the callback's query."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    form = {**query, "decision": "allow", "open_id": open_id}
    form.update({f"scope:{s}": "on" for s in query["scope"].split(",")})
    page = target.browser.get(urlsplit(authorize_url).path, params=query)
    assert page.status_code == 200
    resp = target.browser.post("/v2/auth/authorize/", data=form)
    assert resp.status_code in (302, 303), resp.text
    location = resp.headers["location"]
    assert location.startswith(target.redirect_uri)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_login_refresh_and_revoke_against_the_emulator(tk: Call, target: Target) -> None:
    url = tk.authorize_url(
        redirect_uri=target.redirect_uri, scopes=["user.info.basic", "video.publish"], state="st-9"
    )
    callback = _consent(target, url, "demo-public")
    assert callback["state"] == "st-9"
    token = tk.exchange_code(code=callback["code"], redirect_uri=target.redirect_uri)
    assert token.open_id == "demo-public"
    assert {"user.info.basic", "video.publish"} <= token.scopes
    assert token.access_expires_at < token.refresh_expires_at
    user = tk.user_info(access_token=token.access_token, fields=["open_id", "display_name"])
    assert (user.open_id, user.display_name) == ("demo-public", "Pia Public")
    fresh = tk.refresh_token(refresh_token=token.refresh_token)
    assert fresh.access_token != token.access_token and fresh.refresh_token
    tk.revoke(access_token=fresh.access_token)
    with pytest.raises(AccessTokenInvalidError):
        tk.creator_info(access_token=fresh.access_token)


def test_desktop_login_with_pkce_against_the_emulator(tk: Call, target: Target) -> None:
    from directpost.tiktok import new_code_verifier

    verifier = new_code_verifier()
    url = tk.desktop_authorize_url(
        redirect_uri=target.redirect_uri,
        scopes=["user.info.basic"],
        state="s",
        code_verifier=verifier,
    )
    callback = _consent(target, url, "demo-private")
    token = tk.exchange_code(
        code=callback["code"], redirect_uri=target.redirect_uri, code_verifier=verifier
    )
    assert token.open_id == "demo-private"


def test_tech2_direct_post_by_file_upload_reaches_publish_complete(
    tk: Call, target: Target, video_mp4: Path
) -> None:
    access = target.token("demo-public")
    info = tk.creator_info(access_token=access)
    assert info.creator_nickname == "Pia Public" and "SELF_ONLY" in info.privacy_level_options
    size = video_mp4.stat().st_size
    init = tk.init_video(
        access_token=access,
        post_info=VideoPostInfo(privacy_level="SELF_ONLY", title="hello #test", is_aigc=False),
        source=FileUploadSource.for_size(size),
    )
    assert init.upload_url
    target.control("faults", {"endpoint": "upload", "status": 503, "count": 1})
    seen: list[tuple[int, int]] = []
    tk.upload_file(
        upload_url=init.upload_url, file=video_mp4, progress=lambda a, b: seen.append((a, b))
    )
    assert seen[-1] == (size, size)
    status = tk.wait_for_status(access_token=access, publish_id=init.publish_id, **QUICK_POLLS)
    assert status.status == "PUBLISH_COMPLETE", status


def test_emulator_errors_arrive_as_the_library_error_classes(tk: Call, target: Target) -> None:
    with pytest.raises(CreatorCannotPostError) as capped:
        tk.creator_info(access_token=target.token("demo-capped"))
    assert capped.value.http_status == 200 and capped.value.log_id
    with pytest.raises(PrivacyLevelMismatchError):
        tk.init_video(
            access_token=target.token("demo-private"),
            post_info=VideoPostInfo(privacy_level="PUBLIC_TO_EVERYONE"),
            source=FileUploadSource.for_size(1000),
        )
    with pytest.raises(PublishIdError):
        tk.fetch_status(access_token=target.token(), publish_id="v_pub_file~v2-1.404")


def test_inbox_upload_photo_init_and_cancel_are_understood_by_the_emulator(
    tk: Call, target: Target, video_mp4: Path
) -> None:
    access = target.token("demo-public")
    size = video_mp4.stat().st_size
    inbox = tk.init_inbox_video(access_token=access, source=FileUploadSource.for_size(size))
    assert inbox.upload_url and inbox.publish_id
    tk.upload_file(upload_url=inbox.upload_url, file=video_mp4)
    status = tk.wait_for_status(access_token=access, publish_id=inbox.publish_id, **QUICK_POLLS)
    assert status.status == "SEND_TO_USER_INBOX", status
    # The publish is final, so the emulator refuses to cancel it with TikTok's code.
    with pytest.raises(NotCancellableError):
        tk.cancel(access_token=access, publish_id=inbox.publish_id)
    # A photo post read field by field: the URLs are not under a verified prefix of the demo app.
    with pytest.raises(UrlOwnershipUnverifiedError) as unverified:
        tk.init_photo(
            access_token=access,
            post_mode="DIRECT_POST",
            post_info=PhotoPostInfo(privacy_level="SELF_ONLY", title="two cats"),
            source=PhotoSource(
                ["https://not-verified.example/a.jpg", "https://not-verified.example/b.jpg"], 1
            ),
            is_aigc=False,
        )
    assert unverified.value.http_status == 403 and unverified.value.log_id


def test_upload_resumes_after_a_real_dropped_connection(
    emulator_server: EmulatorHandle, video_mp4: Path
) -> None:
    base = emulator_server.base_url.rstrip("/")
    access = emulator_server.token("demo-public")
    with TikTokClient(
        client_key=DEMO_CLIENT_KEY,
        client_secret=DEMO_CLIENT_SECRET,
        api_base_url=base,
        sleep=lambda s: None,
    ) as client:
        size = video_mp4.stat().st_size
        init = client.init_video(
            access_token=access,
            post_info=VideoPostInfo(privacy_level="SELF_ONLY"),
            source=FileUploadSource.for_size(size),
        )
        assert init.upload_url
        emulator_server.control(
            "faults", {"endpoint": "upload", "drop": True, "drop_after_bytes": size // 2}
        )
        client.upload_file(upload_url=init.upload_url, file=video_mp4)
        final = client.wait_for_status(
            access_token=access, publish_id=init.publish_id, sleep=time.sleep, **QUICK_POLLS
        )
    assert final.status == "PUBLISH_COMPLETE"


def test_webhooks_signed_by_the_emulator_verify_with_the_library(
    emulator_server: EmulatorHandle, webhook_sink: Any, video_mp4: Path
) -> None:
    emulator_server.register_app(webhook_url=webhook_sink.url)
    base = emulator_server.base_url.rstrip("/")
    access = emulator_server.token("demo-public")
    with TikTokClient(
        client_key=DEMO_CLIENT_KEY, client_secret=DEMO_CLIENT_SECRET, api_base_url=base
    ) as client:
        init = client.init_video(
            access_token=access,
            post_info=VideoPostInfo(privacy_level="SELF_ONLY"),
            source=FileUploadSource.for_size(video_mp4.stat().st_size),
        )
        assert init.upload_url
        client.upload_file(upload_url=init.upload_url, file=video_mp4)
    emulator_server.wait_for_status(init.publish_id)
    events: list[Any] = []
    for _ in range(200):
        events = [
            verify(
                r["body"],
                next(v for k, v in r["headers"].items() if k.lower() == "tiktok-signature"),
                DEMO_CLIENT_SECRET,
            )
            for r in webhook_sink.received
        ]
        if any(isinstance(e, PublishCompleteEvent) for e in events):
            break
        time.sleep(0.05)
    complete = [e for e in events if isinstance(e, PublishCompleteEvent)]
    assert complete and complete[0].publish_id == init.publish_id
    assert json.loads(webhook_sink.received[0]["body"])["client_key"] == DEMO_CLIENT_KEY
