"""The emulator's behaviour: one object holding the world, with the rules TikTok applies to it.

Routes stay thin: they parse HTTP, call one method here and render the answer. ``reset()``
rebuilds everything from the start-up config (moto's ``BaseBackend`` habit).

The backend is one class composed of per-area parts, one mixin a file, the way moto composes its
backends: ``core`` (state, reset, clock, config, faults, progression, ``state()``), ``apps``
(apps and creators), ``oauth`` (Login Kit and the Bearer check), ``posting`` (creator_info, inits,
status, cancel), ``display`` (``/v2/video/query/``), ``uploads`` (the upload host's rules), ``lifecycle`` (processing, status
transitions, posts, moderation) and ``webhook_events`` (events, webhook faults, retry times).
"""

from __future__ import annotations

from collections import deque

from .apps import AppsMixin
from .display import DisplayMixin
from .lifecycle import LifecycleMixin
from .oauth import OAuthMixin
from .posting import PostingMixin
from .uploads import ChunkPlan, UploadRefused, UploadsMixin
from .webhook_events import WebhookEventsMixin


class Backend(
    AppsMixin,
    OAuthMixin,
    PostingMixin,
    DisplayMixin,
    UploadsMixin,
    LifecycleMixin,
    WebhookEventsMixin,
):
    """The whole emulated TikTok for every app and creator."""


__all__ = ["Backend", "ChunkPlan", "UploadRefused", "deque"]
