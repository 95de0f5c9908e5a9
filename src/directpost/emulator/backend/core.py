"""The backend's core: the world's state and what every part of the backend shares.

Holds the state (apps, creators, codes, tokens, publishes, uploads, posts, webhook deliveries,
pending pulls, faults, rate windows, refusals), ``reset()`` and ``close()``, the emulator clock,
config patches, faults, progression settings, the control plane's look-ups and the ``state()``
snapshot. Follows docs/emulator.md ("Control plane", "The demo world") and spec §10 (notes for
building an emulator).

The other parts are mixins on ``Core``, composed into ``Backend`` in ``__init__.py``; they reach
each other through ``self``. The few methods one part calls in another are declared at the end of
``Core`` for the type checker only.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import EmulatorConfig, Progression
from ..demo import demo_app, demo_creators
from ..errors import ApiError, ControlError
from ..state import (
    App,
    AuthCode,
    Clock,
    Creator,
    Fault,
    Post,
    Publish,
    RateWindow,
    Token,
    WebhookDelivery,
)


def _random_digits(n: int) -> str:
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(n - 1))


def _str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ControlError(f"{name} must be a list of strings")
    return list(value)


class Core:
    """The shared state of the emulated TikTok and the control plane around it."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.initial_config = config or EmulatorConfig()
        self._own_tmp: Path | None = None
        if self.initial_config.data_dir is None:
            self._own_tmp = Path(tempfile.mkdtemp(prefix="directpost-emulator-"))
            self.data_dir = self._own_tmp
        else:
            self.data_dir = Path(self.initial_config.data_dir)
        self.clock = Clock()
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Forget everything and seed the demo world again (config back to the start-up one)."""
        self.config = self.initial_config
        self.clock.offset = 0.0
        self.apps: dict[str, App] = {}
        self.creators: dict[str, Creator] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, Token] = {}  # by access token
        self.refresh_index: dict[str, Token] = {}  # by refresh token
        self.publishes: dict[str, Publish] = {}
        self.uploads: dict[str, str] = {}  # upload_id -> publish_id
        self.posts: list[Post] = []
        self.deliveries: list[WebhookDelivery] = []
        self.outbox: list[WebhookDelivery] = []
        # Deliveries waiting for their next attempt on the emulator clock (retries, delays),
        # events held by a `reorder` webhook fault, and public posts still in moderation.
        self.webhook_waiting: list[WebhookDelivery] = []
        self.webhook_held: list[WebhookDelivery] = []
        self.moderating: list[Post] = []
        self.pending_pulls: list[str] = []
        self.faults: dict[str, list[Fault]] = {}
        self.rate: dict[tuple[str, str], RateWindow] = {}
        self.refused: list[dict[str, Any]] = []
        self.direct_inits: list[tuple[float, str, str]] = []  # (time, open_id, client_key)
        self.generation = getattr(self, "generation", 0) + 1
        media_root = self.data_dir / "media"
        if media_root.exists():
            shutil.rmtree(media_root, ignore_errors=True)
        media_root.mkdir(parents=True, exist_ok=True)
        if self.config.seed_demo:
            app = demo_app()
            self.apps[app.client_key] = app
            for creator in demo_creators():
                self.creators[creator.open_id] = creator

    def close(self) -> None:
        if self._own_tmp is not None:
            shutil.rmtree(self._own_tmp, ignore_errors=True)

    def now(self) -> float:
        return self.clock.now()

    def invalid_param(self, message: str) -> ApiError:
        return ApiError(self.config.invalid_param_code, message, 400)

    # ------------------------------------------------------------------ control plane

    def add_fault(self, body: dict[str, Any]) -> Fault:
        from ..faults import FAULT_ENDPOINTS

        endpoint = body.get("endpoint")
        if endpoint not in FAULT_ENDPOINTS:
            raise ControlError(f"endpoint must be one of {sorted(FAULT_ENDPOINTS)}")
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ControlError("count must be a positive integer")
        fault = Fault(
            endpoint=endpoint,
            count=count,
            error=body.get("error"),
            status=body.get("status"),
            message=body.get("message"),
            delay_s=float(body.get("delay_s", 0)),
            drop=bool(body.get("drop", False)),
            drop_after_bytes=int(body.get("drop_after_bytes", 0)),
            fail_reason=body.get("fail_reason"),
            duplicate=body.get("duplicate") is True,
            reorder=body.get("reorder") is True,
        )
        kinds = [fault.error or fault.status, fault.delay_s > 0, fault.drop, fault.fail_reason]
        kinds += [fault.duplicate, fault.reorder]
        if not any(kinds):
            raise ControlError(
                "a fault needs one of: error, status, delay_s, drop, fail_reason, "
                "duplicate, reorder"
            )
        if fault.fail_reason and endpoint != "processing":
            raise ControlError("fail_reason faults use endpoint 'processing'")
        if (fault.duplicate or fault.reorder) and endpoint != "webhook":
            raise ControlError("duplicate and reorder faults use endpoint 'webhook'")
        if endpoint == "webhook" and (fault.error or fault.status or fault.drop):
            raise ControlError(
                "webhook faults take delay_s (emulator seconds), duplicate or reorder only"
            )
        if fault.reorder and fault.count < 2:
            raise ControlError("a reorder fault needs count >= 2 (the events held, then reversed)")
        self.faults.setdefault(endpoint, []).append(fault)
        return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        queue = self.faults.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    def set_progression(self, body: dict[str, Any]) -> Progression:
        try:
            progression = Progression.parse(body)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        key = body.get("client_key")
        if key is None:
            self.config = self.config.patched({"progression": progression.as_dict()})
        else:
            self._app_or_404(key).progression = progression
        return progression

    def patch_config(self, body: dict[str, Any]) -> EmulatorConfig:
        try:
            self.config = self.config.patched(body)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return self.config

    def _app_or_404(self, key: Any) -> App:
        app = self.apps.get(key) if isinstance(key, str) else None
        if app is None:
            raise ControlError(f"no app with client_key {key!r}", 404)
        return app

    def _creator_or_404(self, open_id: Any) -> Creator:
        creator = self.creators.get(open_id) if isinstance(open_id, str) else None
        if creator is None:
            raise ControlError(f"no creator with open_id {open_id!r}", 404)
        return creator

    # ------------------------------------------------------------------ state dump

    def state(self) -> dict[str, Any]:
        for publish in self.publishes.values():
            self.advance(publish, poll=False)
        posts_by_creator: dict[str, list[dict[str, Any]]] = {}
        for post in self.posts:
            posts_by_creator.setdefault(post.open_id, []).append(post.view())
        return {
            "now": self.now(),
            "config": self.config.as_dict(),
            "apps": [a.public_view() for a in self.apps.values()],
            "creators": [c.view() for c in self.creators.values()],
            "publishes": [p.view() for p in self.publishes.values()],
            "posts": posts_by_creator,
            "webhooks": [d.view() for d in self.deliveries],
            "refused": self.refused,
            "faults": [f.view() for q in self.faults.values() for f in q],
            "tokens": [
                {
                    "client_key": t.client_key,
                    "open_id": t.open_id,
                    "scopes": t.scopes,
                    "revoked": t.revoked,
                    "expires_at": t.access_expires_at,
                }
                for t in self.tokens.values()
            ],
        }

    if TYPE_CHECKING:
        # What the parts call in one another, declared for the type checker only: the bodies
        # are in apps.py (_loopback_ok), oauth.py (_refuse), lifecycle.py (advance, _apply) and
        # webhook_events.py (emit, release_due_webhooks).

        def _loopback_ok(self, host: str | None) -> bool: ...

        def _refuse(self, client_key: str, open_id: str, endpoint: str, code: str) -> None: ...

        def advance(self, publish: Publish, *, poll: bool) -> None: ...

        def _apply(self, publish: Publish, status: str, reason: str | None) -> None: ...

        def emit(self, app: App, open_id: str, event: str, content: dict[str, Any]) -> None: ...

        def release_due_webhooks(self) -> None: ...
