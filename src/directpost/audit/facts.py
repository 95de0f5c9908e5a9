"""The facts about the app that TikTok's reviewers ask for, from the operator's own settings.

Read from the same `Settings` the app runs with (environment, `.env`, `*_FILE`), through the
same functions the app uses, so the pack states what this deployment really registers: the
scopes asked at sign-in, the redirect URI, the webhook URL, the verified URL prefix media is
pulled from, what is kept and for how long, and where the privacy policy and terms are.
"""

from __future__ import annotations

from typing import Any

from directpost.config import Settings
from directpost.media.urls import media_url, new_media_token
from directpost.web.routes.auth import redirect_uri

#: What the app keeps, in the privacy policy's words (templates/public/privacy.html), and why.
DATA_KEPT = [
    {
        "what": "TikTok account: open_id for this app, display name, avatar URL, granted scopes",
        "why": "to show which account a post goes to",
        "kept": "until the creator disconnects the account or deletes everything",
    },
    {
        "what": "Access and refresh tokens (Fernet-encrypted at rest, never shown on a page)",
        "why": "to post on the creator's behalf",
        "kept": "until disconnect (revoked at TikTok and deleted), or deleted at once when "
        "TikTok sends authorization.removed",
    },
    {
        "what": "Uploaded videos and photos, captions, settings, each post's status and "
        "TikTok's answers (publish_id, post ids, log_id)",
        "why": "to publish what the creator asked for and show how it went",
        "kept": "until the creator deletes them (My data: delete everything)",
    },
    {
        "what": "Consent records: the creator_info, choices and declaration shown when publish "
        "was pressed",
        "why": "to prove nothing was posted without the creator's consent (UX-5c)",
        "kept": "with the post, until the creator deletes it",
    },
]


def _public(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/")


def app_facts(settings: Settings) -> dict[str, Any]:
    """The auditor's facts as plain data (the report renders them; report.json carries them)."""
    public = _public(settings)
    media_prefix = f"{settings.resolved_media_public_base_url}/m/"
    try:
        example = media_url(settings.resolved_media_public_base_url, new_media_token(), "0.mp4")
    except ValueError as exc:  # a misconfigured base URL is a finding, not a crash
        example = f"(no valid media URL: {exc})"
    tiktok = (
        "the local TikTok emulator (no TikTok credentials set: DG-1)"
        if settings.uses_emulator
        else f"{settings.tiktok_api_base_url} (client key {settings.tiktok_client_key})"
    )
    return {
        "tiktok": tiktok,
        "scopes": [s.strip() for s in settings.tiktok_scopes.split(",") if s.strip()],
        "redirect_uris": [redirect_uri(settings)],
        "webhook_url": f"{public}/webhooks/tiktok",
        "verified_url_prefix": media_prefix,
        "media_url_example": example,
        "transfer_mode": settings.transfer_mode,
        "app_audited": settings.app_audited,
        "creator_cap_per_day": settings.creator_cap_per_day,
        "data_kept": DATA_KEPT,
        "links": {
            "privacy_policy": f"{public}/privacy",
            "terms_of_service": f"{public}/terms",
            "contact": f"{public}/contact",
            "my_data": f"{public}/me/data",
        },
        "operator": settings.operator_name,
    }
