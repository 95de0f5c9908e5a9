"""Which TikTok the terminal talks to, decided as `directpost run` decides it.

No client key configured (`Settings.starts_local_emulator`): the local emulator at
`DIRECTPOST_EMULATOR_HOST:PORT`, where the terminal registers its own demo app (a desktop app:
any loopback port may receive the sign-in). It does not start one: the emulator keeps the
accounts between commands, so it must outlive them (`directpost emulator` or `make run`).
Otherwise: the configured app and hosts, which may also be an emulator elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

from directpost.config import Settings
from directpost.tiktok import TikTokClient

#: The terminal's app in the local emulator; public values, useless against the real TikTok.
DEMO_TERMINAL_CLIENT_KEY = "dpterminaldemo01"
DEMO_TERMINAL_CLIENT_SECRET = "dpterminal-demo-secret-for-the-local-emulator-only"  # noqa: S105
#: Desktop Login Kit: TikTok accepts the loopback redirect on any port for this path.
CALLBACK_PATH = "/callback/"


class TargetError(Exception):
    """TikTok (or the local emulator) cannot be used as configured; the message says why."""


@dataclass(frozen=True)
class Target:
    """The TikTok app the terminal posts through, and what the rules need to know of it."""

    client_key: str
    client_secret: str
    auth_base_url: str
    api_base_url: str
    demo: bool
    """The local emulator in demo mode (no client key configured)."""
    audited: bool
    creator_cap: int
    scopes: tuple[str, ...]

    def client(self, *, timeout: float = 60.0) -> TikTokClient:
        """A client for this app: idempotent calls retried, inits never (the library's rule)."""
        return TikTokClient(
            client_key=self.client_key,
            client_secret=self.client_secret,
            auth_base_url=self.auth_base_url,
            api_base_url=self.api_base_url,
            timeout=timeout,
        )

    @property
    def where(self) -> str:
        """Words for where the posts go, for the screen."""
        if self.demo:
            return f"the local emulator at {self.api_base_url} (demo)"
        return f"TikTok ({self.api_base_url})"


def target_from_settings(settings: Settings) -> Target:
    """The target these settings name (no network)."""
    scopes = tuple(s.strip() for s in settings.tiktok_scopes.split(",") if s.strip())
    if settings.starts_local_emulator:
        host = settings.emulator_host
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        url = f"http://{shown}:{settings.emulator_port}"
        return Target(
            client_key=DEMO_TERMINAL_CLIENT_KEY,
            client_secret=DEMO_TERMINAL_CLIENT_SECRET,
            auth_base_url=url,
            api_base_url=url,
            demo=True,
            audited=settings.app_audited,
            creator_cap=settings.creator_cap_per_day,
            scopes=scopes,
        )
    return Target(
        client_key=settings.tiktok_client_key,
        client_secret=settings.tiktok_client_secret.get_secret_value(),
        auth_base_url=settings.tiktok_auth_base_url.rstrip("/"),
        api_base_url=settings.tiktok_api_base_url.rstrip("/"),
        demo=False,
        audited=settings.app_audited,
        creator_cap=settings.creator_cap_per_day,
        scopes=scopes,
    )


def register_demo_app(target: Target, *, photo_prefix: str | None = None) -> None:
    """In demo mode, (re-)register the terminal's app with the local emulator: its loopback
    sign-in, and `photo_prefix` as the verified prefix photos are pulled from. A no-op
    otherwise: a real app is registered in TikTok's developer portal."""
    if not target.demo:
        return
    host = target.api_base_url.split("//", 1)[1].rsplit(":", 1)[0]
    body = {
        "client_key": target.client_key,
        "client_secret": target.client_secret,
        "name": "directpost in the terminal (demo)",
        "audited": target.audited,
        "redirect_uris": [f"http://127.0.0.1:*{CALLBACK_PATH}", f"http://{host}:*{CALLBACK_PATH}"],
        "verified_url_prefixes": [photo_prefix] if photo_prefix else [],
    }
    try:
        response = httpx2.post(
            f"{target.api_base_url}/_emulator/apps", json=body, timeout=10, trust_env=False
        )
    except httpx2.HTTPError as exc:
        raise TargetError(
            f"No TikTok client key is configured, so directpost uses the local emulator at "
            f"{target.api_base_url}, which does not answer ({type(exc).__name__}). Start it "
            "with `directpost emulator` (or `make run`), or set DIRECTPOST_TIKTOK_CLIENT_KEY "
            "and DIRECTPOST_TIKTOK_CLIENT_SECRET to post to TikTok."
        ) from exc
    if response.status_code >= 400:
        raise TargetError(
            f"the local emulator at {target.api_base_url} refused the terminal's demo app: "
            f"HTTP {response.status_code} {response.text[:200]}"
        )
