"""The demo world seeded on start and on every reset: one app and the creators an app must handle.

The ids are stable so tests, docs and people can rely on them.
"""

from __future__ import annotations

from .state import App, Creator

DEMO_CLIENT_KEY = "dpdemoclientkey0"
DEMO_CLIENT_SECRET = "dpdemo-client-secret-for-the-local-emulator-only"  # noqa: S105 - public demo value
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/auth/tiktok/callback",
    "http://localhost:8000/auth/tiktok/callback",
]
DEMO_VERIFIED_PREFIXES = ["http://127.0.0.1:8000/m/", "http://localhost:8000/m/"]


def demo_app() -> App:
    return App(
        client_key=DEMO_CLIENT_KEY,
        client_secret=DEMO_CLIENT_SECRET,
        name="directpost demo app",
        audited=True,
        redirect_uris=list(DEMO_REDIRECT_URIS),
        verified_url_prefixes=list(DEMO_VERIFIED_PREFIXES),
    )


def demo_creators() -> list[Creator]:
    """One creator per case: public, private, no comments, no duet/stitch, 60 s, capped, banned."""
    return [
        Creator("demo-public", "Pia Public", "pia.public", "#fe2c55", follower_count=1200),
        Creator(
            "demo-private",
            "Pim Private",
            "pim.private",
            "#25f4ee",
            private_account=True,
            duet_disabled=True,
            stitch_disabled=True,
        ),
        Creator(
            "demo-no-comments", "Nora Nocomment", "nora.quiet", "#ffb400", comment_disabled=True
        ),
        Creator(
            "demo-no-duet-stitch",
            "Dan Nodu",
            "dan.solo",
            "#7b61ff",
            duet_disabled=True,
            stitch_disabled=True,
        ),
        Creator("demo-60s", "Sixty Sam", "sixty.sam", "#00b86b", max_video_post_duration_sec=60),
        Creator("demo-capped", "Cap Carla", "cap.carla", "#8a8b91", posting_state="capped"),
        Creator("demo-banned", "Ban Bert", "ban.bert", "#161823", posting_state="banned"),
    ]
