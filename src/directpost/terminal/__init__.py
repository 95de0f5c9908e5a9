"""Posting from the terminal: `directpost login`, `post`, `status`, `cancel`, by the Post page's rules.

The same `rules` calls as the page decide what may go (one source of truth); the library
(`tiktok`) talks to TikTok or to the local emulator; `media` checks the files before anything
is sent. Tokens and unfinished uploads live encrypted in the user's config folder, never in the
app's database: this package imports neither the app (`web`, `publishing`, `store`) nor the
emulator, and only `cli` imports it (import contracts in pyproject.toml).

Modules: `home` (config folder and cipher), `target` (which TikTok, demo mode), `accounts`
(tokens by account name), `login` (desktop Login Kit with PKCE), `choices` (options → the
rules' draft), `preflight` (the media checks, in a child process), `consent` (the local consent
record and cap counts), `resume` (unfinished uploads), `photos` (serving photos for
PULL_FROM_URL), `posting` (the post flow), `output` (words, progress, the JSON result),
`commands` (the Typer commands).
"""

from __future__ import annotations

EXIT_PUBLISHED = 0
"""Published (or sent to the inbox), or a command that did what it was asked."""
EXIT_REFUSED = 1
"""Refused by a rule or a mistake in what was asked: nothing was sent to TikTok."""
EXIT_TIKTOK = 2
"""TikTok (or the emulator) answered with an error, or could not be reached; `log_id` shown."""
EXIT_INTERRUPTED = 3
"""Interrupted (Ctrl-C, a dropped connection): `directpost post --resume` continues."""
