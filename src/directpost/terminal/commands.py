"""The terminal's commands, merged into `directpost`'s command line by `cli.py`.

This module imports only Typer at load time (so `directpost emulator` stays light); each command
imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from .output import Result, Screen
    from .target import Target

app = typer.Typer(add_completion=False)

ACCOUNT_HELP = "which signed-in account (several may be signed in by name)"


def _run(as_json: bool, work: Callable[[Screen], Result]) -> None:
    """Run a command: a clear line and an exit code for every expected failure, no traceback."""
    from . import EXIT_REFUSED, EXIT_TIKTOK
    from .accounts import AccountError
    from .home import HomeError
    from .output import Result, Screen, Stop
    from .target import TargetError

    screen = Screen(as_json=as_json)
    try:
        result = work(screen)
    except Stop as stop:
        result = stop.result
    except (AccountError, HomeError) as exc:
        result = Result("refused", EXIT_REFUSED, str(exc))
    except TargetError as exc:
        result = Result("tiktok_error", EXIT_TIKTOK, str(exc))
    code = screen.finish(result)
    if code:
        raise typer.Exit(code)


def _target() -> Target:
    from pydantic import ValidationError

    from directpost.config import Settings, SettingsError

    from .target import TargetError, target_from_settings

    try:
        return target_from_settings(Settings())
    except (SettingsError, ValidationError) as exc:
        raise TargetError(f"the settings cannot be used: {exc}") from exc


def _interactive() -> bool:
    return sys.stdin.isatty()


def _ask(text: str) -> str:
    return str(typer.prompt(text, default="", show_default=False, err=True))


@app.command()
def login(
    account: str = typer.Option("default", "--account", "-a", help=ACCOUNT_HELP),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="print the sign-in URL instead of opening the browser"
    ),
    timeout: float = typer.Option(300.0, min=1, help="seconds to wait for the browser"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Sign in to TikTok (Login Kit for Desktop, PKCE, a loopback redirect); the token is kept
    encrypted in your config folder. Uses the local emulator when no client key is configured."""

    def work(screen: Screen) -> Result:
        from .accounts import AccountStore, check_name
        from .home import Vault
        from .login import login as sign_in

        return sign_in(
            target=_target(),
            store=AccountStore(Vault()),
            name=check_name(account),
            screen=screen,
            open_browser=not no_browser,
            timeout=timeout,
        )

    _run(as_json, work)


@app.command()
def logout(
    account: str = typer.Option("default", "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Revoke the account's access at TikTok and delete its token here."""

    def work(screen: Screen) -> Result:
        from .accounts import check_name
        from .home import Vault
        from .manage import logout as sign_out

        return sign_out(_target(), Vault(), check_name(account), screen)

    _run(as_json, work)


@app.command()
def whoami(
    account: str = typer.Option("default", "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Show the TikTok account (nickname) that `directpost post` posts to."""

    def work(screen: Screen) -> Result:
        from .accounts import check_name
        from .home import Vault
        from .manage import whoami as who

        return who(_target(), Vault(), check_name(account))

    _run(as_json, work)


@app.command()
def post(
    files: list[Path] | None = typer.Argument(  # noqa: B008 - Typer's way
        None, help="one video, or 1 to 35 photos (JPEG/WebP)", show_default=False
    ),
    title: str = typer.Option("", help="the caption (video ≤ 2200, photo title ≤ 90 characters)"),
    description: str = typer.Option("", help="photo posts: the description (≤ 4000)"),
    privacy: str | None = typer.Option(
        None,
        help="who can see it: Everyone, Friends, Followers or 'Only me' (as TikTok offers this "
        "account). No default: asked on a terminal, required in a script",
        show_default=False,
    ),
    allow_comment: bool = typer.Option(False, "--allow-comment", help="allow comments"),
    allow_duet: bool = typer.Option(False, "--allow-duet", "--duet", help="allow Duet"),
    allow_stitch: bool = typer.Option(False, "--allow-stitch", "--stitch", help="allow Stitch"),
    disclose: bool = typer.Option(
        False,
        "--disclose",
        help="disclose commercial content (then --your-brand and/or --branded-content)",
    ),
    your_brand: bool = typer.Option(False, "--your-brand", help="promotes yourself"),
    branded_content: bool = typer.Option(
        False, "--branded-content", help="promotes a third party (paid partnership)"
    ),
    aigc: bool = typer.Option(False, "--aigc", help="AI-generated content"),
    draft: bool = typer.Option(
        False, "--draft", help="send to your TikTok inbox as a draft, to finish in TikTok"
    ),
    cover: int = typer.Option(0, min=0, help="photo posts: the cover photo's index (from 0)"),
    schedule: str | None = typer.Option(
        None, help="refused: the terminal posts now; schedule posts in the app", show_default=False
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="confirm after the declaration is printed (no question)"
    ),
    resume: bool = typer.Option(
        False, "--resume", help="continue the account's cut upload (no second post)"
    ),
    account: str = typer.Option("default", "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="print one JSON object on stdout (the rest goes to stderr)"
    ),
) -> None:
    """Post a video or photos by the Post page's rules: fresh creator_info, the files checked, privacy chosen by you, the exact declaration, your explicit yes; then a progress bar and the status followed to the end.

    Exit codes:

    0  published (or sent to your inbox with --draft)

    1  refused by a rule, or a mistake in what was asked: nothing was sent

    2  TikTok answered with an error (its log_id is printed) or could not be reached

    3  interrupted (Ctrl-C, a dropped connection): `directpost post --resume` continues the upload without a second post
    """

    def work(screen: Screen) -> Result:
        from directpost.config import Settings

        from .accounts import check_name
        from .choices import Options
        from .home import Vault
        from .output import refused
        from .posting import PostContext
        from .posting import post as send
        from .posting import resume as go_on

        if schedule is not None:
            raise refused(
                "The terminal posts now; to schedule a post, use the app (directpost run). "
                "Nothing was sent."
            )
        target = _target()
        settings = Settings()
        ctx = PostContext(
            target=target,
            vault=Vault(),
            screen=screen,
            account_name=check_name(account),
            interactive=_interactive(),
            ask=_ask,
            photo_bind=("127.0.0.1", 0) if target.demo else (settings.host, settings.port),
            photo_public_base=None if target.demo else (settings.media_public_base_url or None),
        )
        paths = list(files or [])
        if resume:
            return go_on(ctx, paths)
        options = Options(
            title=title,
            description=description,
            privacy=privacy,
            allow_comment=allow_comment,
            allow_duet=allow_duet,
            allow_stitch=allow_stitch,
            disclose=disclose,
            your_brand=your_brand,
            branded_content=branded_content,
            aigc=aigc,
            draft=draft,
            cover=cover,
        )
        return send(ctx, paths, options, yes=yes)

    _run(as_json, work)


@app.command()
def status(
    publish_id: str = typer.Argument(..., help="the publish id `post` printed"),
    account: str = typer.Option("default", "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Show where a post stands at TikTok."""

    def work(screen: Screen) -> Result:
        from .accounts import check_name
        from .home import Vault
        from .manage import status as where

        return where(_target(), Vault(), check_name(account), publish_id)

    _run(as_json, work)


@app.command()
def cancel(
    publish_id: str = typer.Argument(..., help="the publish id `post` printed"),
    account: str = typer.Option("default", "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Cancel a post TikTok is still fetching, and drop its unfinished upload here."""

    def work(screen: Screen) -> Result:
        from .accounts import check_name
        from .home import Vault
        from .manage import cancel as stop

        return stop(_target(), Vault(), check_name(account), publish_id)

    _run(as_json, work)
