"""directpost.emulator: a stateful local TikTok for offline development and tests.

``create_app()`` gives the ASGI app (in-process use); ``server.run_in_thread()`` a real server.
It reads the contract in spec/tiktok-api.md on its own and imports nothing of directpost except
``media.probe`` (architecture.md). See docs/emulator.md.
"""

from __future__ import annotations

from .app import create_app
from .config import EmulatorConfig, Progression
from .demo import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET

__all__ = ["DEMO_CLIENT_KEY", "DEMO_CLIENT_SECRET", "EmulatorConfig", "Progression", "create_app"]
