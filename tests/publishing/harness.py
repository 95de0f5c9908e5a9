"""A publishing test bench: the app as a real server (media URLs, webhooks) beside the emulator
as a real server, a fresh SQLite database, linked demo creators, real media, and a way to drive
a post to its final state through the real job code.

Nothing is mocked: the jobs talk to the emulator over loopback HTTP, TikTok (the emulator) pulls
media from the app's `/m/...` URLs and delivers signed webhooks to `/webhooks/tiktok`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from directpost import tiktok
from directpost.publishing import pipeline, service, states
from directpost.publishing.drafts import creator_facts
from directpost.publishing.wiring import build_services
from directpost.publishing.worker import publish_context
from directpost.rules.model import CreatorFacts, Draft, MediaFacts
from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from directpost.web.server import BackgroundServer, bind_socket
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.live import make_app_settings
from tests.fixtures.media_files import make_photo, make_video
from tests.publishing.timing import FAST


@dataclass
class Bench:
    """Everything a publishing test needs, wired to the real servers."""

    settings: Any
    ctx: pipeline.PublishContext
    emulator: EmulatorHandle
    app_url: str
    media_root: Path
    person_id: int = 0
    accounts: dict[str, int] = field(default_factory=dict)
    _n: int = 0

    # --- world ----------------------------------------------------------------------------

    def register(self, **fields: Any) -> None:
        """(Re-)register the app with the emulator; `fields` override the defaults."""
        body: dict[str, Any] = {
            "client_key": self.settings.tiktok_client_key,
            "client_secret": self.settings.tiktok_client_secret.get_secret_value(),
            "name": "directpost (publishing tests)",
            "audited": True,
            "redirect_uris": [f"{self.app_url}/auth/tiktok/callback"],
            "verified_url_prefixes": [f"{self.app_url}/m/"],
            "webhook_url": f"{self.app_url}/webhooks/tiktok",
        }
        body.update(fields)
        self.emulator.control("apps", body)

    def link(self, open_id: str) -> int:
        """Link the demo creator `open_id` to the test person (tokens straight from the emulator)."""
        answer = self.emulator.control(
            "tokens", {"client_key": self.settings.tiktok_client_key, "open_id": open_id}
        )
        grant = tiktok.Token.from_response(answer, utcnow())
        with self.ctx.factory() as session, session.begin():
            account = accounts.record_sign_in(
                session,
                grant=grant,
                profile=accounts.Profile(display_name=open_id, avatar_url=""),
                cipher=self.ctx.cipher,
                signed_in_person_id=self.person_id or None,
            )
            self.person_id = account.person_id
            self.accounts[open_id] = account.id
        return self.accounts[open_id]

    def media_video(self, **kwargs: Any) -> tuple[list[dict[str, Any]], MediaFacts]:
        """A real video in the app's media store; its manifest and measured facts."""
        self._n += 1
        path = make_video(self.media_root / f"src-{self._n}.mp4", **kwargs)
        key = f"tests/{self._n}/video.mp4"
        self.ctx.media_store.put(key, path.read_bytes())
        manifest = [
            {
                "key": key,
                "filename": "clip.mp4",
                "content_type": "video/mp4",
                "size": path.stat().st_size,
            }
        ]
        return manifest, MediaFacts(
            kind="video", ready=True, duration_sec=float(kwargs.get("seconds", 1.0))
        )

    def media_photos(self, count: int = 2) -> tuple[list[dict[str, Any]], MediaFacts]:
        manifest = []
        for i in range(count):
            self._n += 1
            path = make_photo(self.media_root / f"p-{self._n}.jpg", width=720, height=720)
            key = f"tests/{self._n}/photo.jpg"
            self.ctx.media_store.put(key, path.read_bytes())
            manifest.append(
                {
                    "key": key,
                    "filename": f"photo{i}.jpg",
                    "content_type": "image/jpeg",
                    "size": path.stat().st_size,
                }
            )
        return manifest, MediaFacts(kind="photos", ready=True, photo_count=count)

    async def creator_facts(self, open_id: str) -> CreatorFacts:
        token = self.emulator.token(open_id, client_key=self.settings.tiktok_client_key)
        async with self.ctx.client() as client:
            return creator_facts(await client.creator_info(access_token=token))

    def submit(
        self,
        open_id: str,
        creator: CreatorFacts,
        *,
        media: tuple[list[dict[str, Any]], MediaFacts],
        scheduled_at: datetime | None = None,
        **choices: Any,
    ) -> int:
        """Store a consented post through `service.submit_post`, as `POST /posts` does."""
        if open_id not in self.accounts:
            self.link(open_id)
        manifest, facts = media
        draft = replace(Draft(media=facts), **choices)
        with self.ctx.factory() as session, session.begin():
            post = service.submit_post(
                session,
                settings=self.settings,
                submission=service.Submission(
                    person_id=self.person_id,
                    account_id=self.accounts[open_id],
                    open_id=open_id,
                    creator=creator,
                    draft=draft,
                    media=manifest,
                    upload_id=None,
                    scheduled_at=scheduled_at,
                    time_zone="Europe/Berlin",
                ),
            )
            return post.id

    # --- running --------------------------------------------------------------------------

    async def drive(self, post_id: int, *, within: float = 30.0) -> store.Post:
        """Run the job for the post (as a worker would, at its due times) until it is final."""
        deadline = time.monotonic() + within
        while True:
            post = self.post(post_id)
            if post.state in states.FINAL_STATES:
                return post
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"post {post_id} not final after {within}s: {post.state} "
                    f"{post.tiktok_status} {post.reason_text}"
                )
            wait = (post.due_at - utcnow()).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(wait, 0.25))
                continue
            await pipeline.advance(self.ctx, post_id)

    def post(self, post_id: int) -> store.Post:
        with self.ctx.factory() as session:
            post = store.get_post(session, post_id=post_id)
            assert post is not None
            _ = list(post.attempts), post.consent
            return post

    def publishes(self, open_id: str | None = None) -> list[dict[str, Any]]:
        """What the emulator received: every publish of this app (optionally one creator's)."""
        key = self.settings.tiktok_client_key
        return [
            p
            for p in self.emulator.state()["publishes"]
            if p["client_key"] == key and (open_id is None or p["open_id"] == open_id)
        ]


def build_bench(
    emulator: EmulatorHandle, tmp_path: Path, **overrides: Any
) -> Iterator[tuple[Bench, BackgroundServer]]:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    values: dict[str, Any] = {"media_storage_url": str(tmp_path / "media")}
    values.update(overrides)  # another database or media store, other choices
    settings = make_app_settings(
        tmp_path,
        emulator_url=emulator.base_url,
        public_base_url=f"http://127.0.0.1:{port}",
        app_audited=True,
        creator_cap_per_day=1000,
        **values,
    )
    upgrade_database(settings.resolved_database_url)
    # The jobs' own services, as a worker process builds them; the app builds its own.
    services = build_services(settings)
    ctx = publish_context(services, timing=FAST)
    app = create_app(settings)
    server = BackgroundServer(app, sock).start()
    bench = Bench(
        settings=settings,
        ctx=ctx,
        emulator=emulator,
        app_url=server.base_url,
        media_root=tmp_path / "src",
    )
    bench.media_root.mkdir(parents=True, exist_ok=True)
    bench.register()
    try:
        yield bench, server
    finally:
        server.stop()
        services.engine.dispose()


@pytest.fixture
def bench(emulator_server: EmulatorHandle, tmp_path: Path) -> Iterator[Bench]:
    """A publishing bench with pull transfer (the default)."""
    for built, _server in build_bench(emulator_server, tmp_path):
        yield built


@pytest.fixture
def file_upload_bench(emulator_server: EmulatorHandle, tmp_path: Path) -> Iterator[Bench]:
    """A publishing bench whose operator chose FILE_UPLOAD (no public URL)."""
    for built, _server in build_bench(emulator_server, tmp_path, transfer_mode="file_upload"):
        yield built
