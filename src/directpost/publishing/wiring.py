"""The composition root: `Settings` → the services a process works with, built in one place.

The web app (`web.app.create_app`) and the publish worker (`worker.context_from_settings`)
both call `build_services`, so both get the same kinds of database, cipher, TikTok client,
budgets and media store for the same settings. Nothing else builds these from settings.

Every TikTok client is built with `max_retries=0`: a request is sent again only by a caller
that spends the shared budget (CAP-4) for it, never by the library on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from directpost.config import Settings
from directpost.media.storage import MediaStore, media_store_from_settings
from directpost.publishing.budgets import Budgets, budgets_from_settings
from directpost.publishing.gate import TikTokHooks
from directpost.publishing.measures import MeasureRecorder
from directpost.publishing.telemetry import TIKTOK_METRICS
from directpost.store.crypto import TokenCipher, token_cipher_from_settings
from directpost.store.db import create_engine_from_settings, create_session_factory
from directpost.tiktok import AsyncTikTokClient, AsyncTransport, RequestHooks

#: Builds a new, unopened TikTok client (close it with `aclose()` or `async with`).
TikTokClientFactory = Callable[[], AsyncTikTokClient]


def tiktok_client_factory(
    settings: Settings,
    *,
    transport: AsyncTransport | None = None,
    hooks: RequestHooks | None = None,
) -> TikTokClientFactory:
    """Builds the library client from settings (the emulator's URLs when no credentials).

    `transport` points it somewhere else (tests: the emulator in-process, a watching wrapper);
    `hooks` see every request (the app's: the lockdown gate and DG-3's figures).
    """

    def make() -> AsyncTikTokClient:
        return AsyncTikTokClient(
            client_key=settings.tiktok_client_key,
            client_secret=settings.tiktok_client_secret.get_secret_value(),
            auth_base_url=settings.tiktok_auth_base_url,
            api_base_url=settings.tiktok_api_base_url,
            transport=transport,
            hooks=hooks,
            # Callers retry themselves, each time through the shared budget (CAP-4); a retry
            # inside the client would spend requests the budget never saw (a 429 resent).
            max_retries=0,
        )

    return make


@dataclass(frozen=True, slots=True)
class Services:
    """What a process works with, built once from its settings (`build_services`)."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    cipher: TokenCipher
    #: Builds a TikTok client; a worker thread keeps one from job to job.
    tiktok_client_factory: TikTokClientFactory
    #: Builds a client that a lockdown does not stop: only the lockdown's own revocations of
    #: every stored token use it (`publishing.lockdown`).
    revocation_client_factory: TikTokClientFactory
    budgets: Budgets
    media_store: MediaStore
    #: The process's own measures (DG-3): every TikTok request, page timings.
    measures: MeasureRecorder
    #: What every client of `tiktok_client_factory` passes before and after each request.
    hooks: TikTokHooks
    #: The one open client of a process that keeps one (the web app, see `with_tiktok_client`);
    #: None in a worker process, and in a web app that has no TikTok credentials.
    tiktok_client: AsyncTikTokClient | None = None

    def with_tiktok_client(self) -> Services:
        """These services with one client made by the factory, when the app has a TikTok
        client key (the web app serves every request from it; close it with `aclose`)."""
        if not self.settings.tiktok_client_key:
            return self
        return replace(self, tiktok_client=self.tiktok_client_factory())

    async def aclose(self) -> None:
        """Close the kept client and the database pool (the end of the process's life)."""
        if self.tiktok_client is not None:
            await self.tiktok_client.aclose()
        self.measures.close()  # the measures not yet written, before the pool goes
        self.hooks.close()  # the lockdown switch's own connections
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    tiktok_transport: AsyncTransport | None = None,
    db_pool_size: int | None = None,
    db_max_overflow: int | None = None,
) -> Services:
    """The services for `settings`: engine and session factory (pool sized by `db_pool_size`
    and `db_max_overflow` when given, else the store's defaults), token cipher, TikTok client
    factory, request budgets and media store."""
    pool = {
        name: value
        for name, value in (("pool_size", db_pool_size), ("max_overflow", db_max_overflow))
        if value is not None
    }
    engine = create_engine_from_settings(settings, **pool)
    factory = create_session_factory(engine)
    # Every client of the process passes the lockdown gate before each request (TOS-2).
    # The recorder is told what TikTok answered to each (DG-3's figures, in memory).
    recorder = MeasureRecorder(engine)
    hooks = TikTokHooks(engine, observers=[recorder, TIKTOK_METRICS])  # + Prometheus' counts
    return Services(
        settings=settings,
        engine=engine,
        factory=factory,
        cipher=token_cipher_from_settings(settings),
        tiktok_client_factory=tiktok_client_factory(
            settings, transport=tiktok_transport, hooks=hooks
        ),
        # Counted like the rest, but never stopped by the gate: it is the lockdown's own.
        revocation_client_factory=tiktok_client_factory(
            settings,
            transport=tiktok_transport,
            hooks=TikTokHooks(None, observers=[recorder, TIKTOK_METRICS]),
        ),
        budgets=budgets_from_settings(settings, factory),
        media_store=media_store_from_settings(settings),
        measures=recorder,
        hooks=hooks,
    )
