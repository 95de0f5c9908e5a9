"""Where the app is and which personal access token the MCP server uses.

From the environment (`DIRECTPOST_URL`, `DIRECTPOST_TOKEN` or `DIRECTPOST_TOKEN_FILE`) or the
command line (`--url`, `--token-file`). There is no `--token` option on purpose: a command line
is visible to every user of the machine (`ps`), a file or the environment is not. The token is
never printed: `AgentSettings` shows it as `dpat_…` in any repr or message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

URL_VARIABLE: Final = "DIRECTPOST_URL"
TOKEN_VARIABLE: Final = "DIRECTPOST_TOKEN"  # noqa: S105 (a variable name, no secret)
TOKEN_FILE_VARIABLE: Final = "DIRECTPOST_TOKEN_FILE"  # noqa: S105
#: Every personal access token of the app starts so (store/team.py).
TOKEN_PREFIX: Final = "dpat_"  # noqa: S105


class SettingsProblem(Exception):
    """The MCP server cannot start as configured; the message says what to set."""


@dataclass(frozen=True)
class AgentSettings:
    """The app's base URL and the token (hidden from repr)."""

    url: str
    token: str = field(repr=False)


def _read_token_file(path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsProblem(
            f"Cannot read the token file {path} ({exc.strerror or type(exc).__name__})."
        ) from None
    except UnicodeDecodeError:
        raise SettingsProblem(f"The token file {path} is not text.") from None
    return text.strip()


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsProblem(
            f"{URL_VARIABLE} must be the app's address, such as https://directpost.example.com "
            "or http://127.0.0.1:8000."
        )
    if parts.query or parts.fragment:
        raise SettingsProblem(f"{URL_VARIABLE} must be a base address, without ? or #.")
    return url.strip().rstrip("/")


def load_settings(
    *,
    url: str | None = None,
    token_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AgentSettings:
    """The settings from the options given, else the environment; a clear problem otherwise.

    An option wins over its variable; a token file (option or variable) wins over
    `DIRECTPOST_TOKEN`, as the app's own `*_FILE` secrets do."""
    env = os.environ if environ is None else environ
    base = url or env.get(URL_VARIABLE, "")
    if not base.strip():
        raise SettingsProblem(
            f"Say where the app is: set {URL_VARIABLE} (for example http://127.0.0.1:8000) or "
            "pass --url."
        )
    file = token_file or env.get(TOKEN_FILE_VARIABLE, "")
    token = _read_token_file(file) if file else env.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise SettingsProblem(
            f"Give a personal access token: set {TOKEN_VARIABLE}, or {TOKEN_FILE_VARIABLE} / "
            "--token-file to a file holding it. Make one on the Accounts page of the app "
            "(API tokens)."
        )
    if not token.startswith(TOKEN_PREFIX) or any(c.isspace() for c in token):
        # Never echo what was given: it may be another secret pasted by mistake.
        raise SettingsProblem(
            f"That is not a directpost personal access token: they start with {TOKEN_PREFIX} "
            "and hold no spaces. Copy it again from the Accounts page of the app."
        )
    return AgentSettings(url=_checked_url(base), token=token)
