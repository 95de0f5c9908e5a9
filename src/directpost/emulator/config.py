"""How the emulator behaves where TikTok's documentation is silent, contradictory or slow.

Every field has a default that follows the spec (spec/tiktok-api.md); the choices for the open
questions of spec §11 are listed in docs/emulator.md. ``POST /_emulator/config`` changes them at
run time; ``POST /_emulator/reset`` puts them back to the values the emulator was started with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MIB = 1024 * 1024

ProgressionMode = Literal["immediate", "polls", "seconds"]


@dataclass(frozen=True)
class Progression:
    """How fast a publish moves from one status to the next once its media is in.

    ``immediate``: at once; ``polls``: on the ``value``-th status fetch in the current status;
    ``seconds``: once ``value`` seconds of emulator time have passed in the current status.
    """

    mode: ProgressionMode = "immediate"
    value: float = 0

    @classmethod
    def parse(cls, raw: Any) -> Progression:
        """Build from ``{"mode": ..., "value": ...}``; raises ValueError with a readable reason."""
        if not isinstance(raw, dict):
            raise ValueError('progression must be an object like {"mode": "polls", "value": 2}')
        mode = raw.get("mode", "immediate")
        if mode not in ("immediate", "polls", "seconds"):
            raise ValueError("progression.mode must be one of immediate, polls, seconds")
        value = raw.get("value", 0)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError("progression.value must be a number >= 0")
        return cls(mode=mode, value=float(value))

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "value": self.value}


@dataclass
class EmulatorConfig:
    """Run-time knobs of the emulator (see the module docstring)."""

    # Where uploads and pulled media are written; a fresh temporary folder when None.
    data_dir: Path | None = None
    # Seed the demo app and demo creators on start and on every reset.
    seed_demo: bool = True
    # Accept http:// and IP hosts on 127.0.0.1/localhost/::1 for redirect URIs, verified URL
    # prefixes, pulled media and webhook URLs (TikTok requires https everywhere).
    allow_http_loopback: bool = True
    # Spec §11.3: the code for body validation errors (Content Posting pages say invalid_param).
    invalid_param_code: Literal["invalid_params", "invalid_param"] = "invalid_params"
    # Spec §11.1: HTTP status of OAuth token/revoke errors.
    oauth_error_status: int = 400
    # Spec §11.5: publish_type in webhooks for direct posts (inbox uploads use INBOX_SHARE).
    direct_publish_type: str = "DIRECT_PUBLISH"
    # Spec §11.5: post_id inside webhook content as a JSON number or a string.
    webhook_post_id_as: Literal["number", "string"] = "number"
    # Spec §11.4: unaudited client asking for anything but SELF_ONLY from a private account.
    unaudited_privacy: Literal["reject", "downgrade"] = "reject"
    # Spec §2.5: user/info asking for a field whose scope was not granted.
    missing_field_scope_code: Literal["scope_permission_missed", "scope_not_authorized"] = (
        "scope_permission_missed"
    )
    # Spec §11.8: include uploaded_bytes/downloaded_bytes in every status answer.
    status_always_has_progress: bool = True
    # Per-token requests per sliding minute (spec §5.1); cancel is undocumented.
    rate_limits: dict[str, int] = field(
        default_factory=lambda: {
            "creator_info": 20,
            "video_init": 6,
            "inbox_video_init": 6,
            "content_init": 6,
            "status_fetch": 30,
            "cancel": 30,
            "user_info": 600,
            "video_query": 600,
        }
    )
    posting_cap_per_day: int = 15
    pending_share_cap: int = 5
    unaudited_creator_cap: int = 5
    # Spec §11.2: authorization codes are single use; their lifetime is undocumented.
    auth_code_ttl_s: float = 300
    access_token_ttl_s: int = 86400
    refresh_token_ttl_s: int = 31536000
    upload_url_ttl_s: float = 3600
    pull_timeout_s: float = 3600
    max_video_bytes: int = 4 * 1024 * MIB
    min_chunk_bytes: int = 5 * MIB
    max_chunk_bytes: int = 64 * MIB
    max_final_chunk_bytes: int = 128 * MIB
    max_chunks: int = 1000
    # Spec §3.3: the number in the upload host's `Content-Range: bytes 0-N/TOTAL` progress header:
    # the last received byte's index (`bytes */TOTAL` before any byte), or, read literally
    # ("0-{UPLOADED_BYTES}"), the count of bytes received (`bytes 0-0/TOTAL` before any).
    upload_progress_header: Literal["last_byte_index", "bytes_uploaded"] = "last_byte_index"
    # Processing time that grows with the media: emulator seconds per MiB received before the
    # first status after PROCESSING_* (TikTok: about a minute per GB). 0 = as fast as the probe.
    processing_seconds_per_mib: float = 0.0
    # The TikTok app version of creators who do not set one (photo MEDIA_UPLOAD needs >= 31.8).
    default_app_version: str = "35.0"
    # Webhooks: emulator seconds to wait before each retry; attempts = len(delays) + 1. TikTok
    # documents only "exponential backoff for up to 72 hours": 1 min doubling, 12 retries
    # (the last ~68 h after the first attempt), and none once `webhook_retry_window_s` passed.
    webhook_retry_delays_s: tuple[float, ...] = tuple(60.0 * 2**k for k in range(12))
    webhook_retry_window_s: float = 72 * 3600.0
    webhook_timeout_s: float = 5
    # Spec §3.6: a public post gets its public id (status and `post.publish.publicly_available`)
    # only after moderation, "usually < 1 min, sometimes hours": emulator seconds it takes.
    public_post_delay_s: float = 30.0
    # How fast publishes move once their media is in (per app overrides this).
    progression: Progression = field(default_factory=Progression)
    # How often the background ticker applies time-based transitions and sends webhooks.
    tick_interval_s: float = 0.05
    # The compliance log (emulator/compliance.py): `strict` answers each verdict with the error
    # TikTok would give, or a 400 where TikTok gives none. A direct-post init needs a
    # creator_info answered for its creator within the window (emulator seconds); a publish's
    # final status may be fetched this many more times before fast repeats are flagged.
    strict: bool = False
    compliance_creator_info_window_s: float = 900.0
    compliance_fetches_after_final: int = 2

    def patched(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` applied; raises ValueError naming an unknown or bad field."""
        names = {f.name for f in dataclasses.fields(self)}
        kwargs: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in names or key in ("data_dir",):
                raise ValueError(f"unknown or read-only config field: {key}")
            current = getattr(self, key)
            if key == "progression":
                kwargs[key] = Progression.parse(value)
            elif key == "webhook_retry_delays_s":
                if not isinstance(value, list) or not all(
                    isinstance(v, int | float) and v >= 0 for v in value
                ):
                    raise ValueError("webhook_retry_delays_s must be a list of seconds >= 0")
                kwargs[key] = tuple(float(v) for v in value)
            elif key == "rate_limits":
                if not isinstance(value, dict) or not all(
                    k in current and isinstance(v, int) and v > 0 for k, v in value.items()
                ):
                    raise ValueError(
                        f"rate_limits must map some of {sorted(current)} to positive integers"
                    )
                kwargs[key] = {**current, **value}
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                kwargs[key] = value
            elif isinstance(current, int | float):
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise ValueError(f"{key} must be a number")
                kwargs[key] = type(current)(value)
            else:
                if not isinstance(value, str):
                    raise ValueError(f"{key} must be a string")
                kwargs[key] = value
        if kwargs.get("invalid_param_code", "invalid_params") not in (
            "invalid_params",
            "invalid_param",
        ):
            raise ValueError("invalid_param_code must be invalid_params or invalid_param")
        if kwargs.get("upload_progress_header", "last_byte_index") not in (
            "last_byte_index",
            "bytes_uploaded",
        ):
            raise ValueError("upload_progress_header must be last_byte_index or bytes_uploaded")
        if kwargs.get("processing_seconds_per_mib", 0) < 0:
            raise ValueError("processing_seconds_per_mib must be a number >= 0")
        for name in ("public_post_delay_s", "webhook_retry_window_s"):
            if kwargs.get(name, 0) < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0")
        return dataclasses.replace(self, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Progression):
                value = value.as_dict()
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out
