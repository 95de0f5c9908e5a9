"""One command line: run, serve, worker, emulator, migrate and the operator commands.

Each command imports its part lazily, so `directpost emulator` starts without loading the app.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="directpost: post your own videos and photos to TikTok, compliant by construction.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def emulator(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(9100, help="port to listen on"),
    data_dir: str | None = typer.Option(
        None, help="folder for uploaded and pulled media (default: a temporary folder)"
    ),
    https_only: bool = typer.Option(
        False, help="refuse http:// and IP hosts even on loopback, as TikTok does"
    ),
    tls: bool = typer.Option(
        False,
        "--tls",
        help="serve HTTPS with a local CA kept in the data dir (its ca.pem path is printed)",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="answer each compliance verdict with TikTok's error (or a 400 where it has none)",
    ),
    seed: str | None = typer.Option(
        None, help="apps, creators and config from a JSON (or YAML) file; applied again on reset"
    ),
    state_dir: str | None = typer.Option(
        None,
        help="keep apps, creators, tokens, publishes, media and the clock here across restarts",
    ),
    record: str | None = typer.Option(
        None,
        help="proxy every API request to --upstream and write each exchange to this JSONL file",
    ),
    upstream: str | None = typer.Option(
        None, help="the API base URL --record forwards to (e.g. your TikTok sandbox)"
    ),
    replay: str | None = typer.Option(
        None, help="serve the answers of a --record file back, with no upstream"
    ),
) -> None:
    """Serve the local TikTok emulator: consent page, Content Posting API, upload host, webhooks."""
    from pathlib import Path

    from directpost.emulator.config import EmulatorConfig
    from directpost.emulator.launch import StartupError, build
    from directpost.emulator.server import serve

    config = EmulatorConfig(
        data_dir=Path(data_dir) if data_dir else None,
        allow_http_loopback=not https_only,
        strict=strict,
    )
    try:
        built = build(
            config,
            seed=Path(seed) if seed else None,
            state_dir=Path(state_dir) if state_dir else None,
            record=Path(record) if record else None,
            upstream=upstream,
            replay=Path(replay) if replay else None,
            tls=tls,
        )
    except StartupError as exc:
        typer.echo(f"directpost emulator: {exc}", err=True)
        raise typer.Exit(2) from None
    serve(
        host=host,
        port=port,
        config=config,
        tls=tls,
        app=built.app,
        notes=built.notes,
        emulating=built.emulating,
    )


@app.command()
def migrate() -> None:
    """Bring the database up to date (SQLite by default, or DIRECTPOST_DATABASE_URL)."""
    from sqlalchemy.exc import OperationalError

    from directpost.config import SettingsError, get_settings
    from directpost.store.migrate import migrate as run_migrations

    try:
        settings = get_settings()
        run_migrations(settings)
    except SettingsError as exc:
        typer.echo(f"directpost migrate: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OperationalError as exc:
        typer.echo(_database_unreachable("migrate", settings.resolved_database_url, exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo("The database is up to date.")


@app.command()
def serve() -> None:
    """Serve the web app (DIRECTPOST_HOST:DIRECTPOST_PORT); run `migrate` first."""
    from directpost.config import get_settings
    from directpost.web.server import serve as serve_app

    serve_app(get_settings())


@app.command()
def run(
    host: str | None = typer.Option(
        None, help="interface to listen on  [default: DIRECTPOST_HOST or 127.0.0.1]"
    ),
    port: int | None = typer.Option(
        None, min=0, max=65535, help="port to listen on, 0 for any free one  [default: 8000]"
    ),
    emulator_port: int | None = typer.Option(
        None, min=0, max=65535, help="the local TikTok emulator's port  [default: 9100]"
    ),
) -> None:
    """Everything on embedded defaults: migrations, the app, the worker in-process, and the local
    emulator with the app pre-registered when no TikTok credentials are set (`make run`).

    The sign-in callback and the media URLs follow --host/--port unless
    DIRECTPOST_PUBLIC_BASE_URL points elsewhere."""
    from directpost.config import SettingsError, get_settings
    from directpost.web.server import run as run_all

    try:
        run_all(get_settings(), host=host, port=port, emulator_port=emulator_port)
    except KeyboardInterrupt:
        typer.echo("Stopped.")
    except (SettingsError, RuntimeError, TimeoutError) as exc:
        typer.echo(f"directpost run: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def lockdown(
    lift: bool = typer.Option(
        False, "--lift", help="end the lockdown: the app may talk to TikTok again"
    ),
    reason: str = typer.Option("", help="why, kept with the lockdown and shown to the operator"),
    by: str | None = typer.Option(None, help="who (default: this machine's user@host)"),
) -> None:
    """Stop all traffic to TikTok at once, from every process on every machine (TOS-2), hold
    every post that has not ended, and revoke and delete every stored token. `--lift` ends it;
    creators then sign in again."""
    import asyncio

    from directpost.config import SettingsError, get_settings
    from directpost.logs import configure_logging
    from directpost.publishing import lockdown as use_case
    from directpost.publishing.wiring import build_services

    configure_logging()
    try:
        services = build_services(get_settings())
    except SettingsError as exc:
        typer.echo(f"directpost lockdown: {exc}", err=True)
        raise typer.Exit(2) from exc
    who = by or _operator_name()
    try:
        if lift:
            lifted = use_case.lift(services, by=who)
            if lifted is None:
                typer.echo("No lockdown is on: nothing to lift.")
                return
            typer.echo(
                f"Lockdown {lifted.id} lifted by {lifted.lifted_by} at "
                f"{lifted.lifted_at:%Y-%m-%d %H:%M:%S} UTC. The app may talk to TikTok again; "
                "creators sign in again to publish, and confirm their held posts."
            )
            return
        report = asyncio.run(use_case.lock_down(services, by=who, reason=reason))
    finally:
        services.engine.dispose()
    view = report.lockdown
    typer.echo(
        ("Lockdown is ON" if report.started_now else "Lockdown was already on")
        + f" (#{view.id}, by {view.started_by} at {view.started_at:%Y-%m-%d %H:%M:%S} UTC): "
        "no process sends anything to TikTok any more."
    )
    typer.echo(f"Posts held: {report.posts_held}")
    typer.echo(
        f"Tokens: {report.tokens_revoked} revoked at TikTok, "
        f"{report.tokens_already_invalid} already invalid there, "
        f"{report.tokens_deleted} deleted here."
    )
    for failure in report.failures:
        typer.echo(
            f"  revocation FAILED for {failure.account} (account {failure.account_id}): "
            f"{failure.reason}. The token is deleted here; revoke the app's access in TikTok's "
            "developer portal to be sure.",
            err=True,
        )
    typer.echo("Lift it with: directpost lockdown --lift")
    if report.failures:
        raise typer.Exit(1)


@app.command("rotate-keys")
def rotate_keys(
    generate: bool = typer.Option(
        False, "--generate", help="print a new key to put first, and change nothing"
    ),
) -> None:
    """Re-encrypt every stored TikTok token under the first key of
    DIRECTPOST_TOKEN_ENCRYPTION_KEY (TOS-1). Put the new key first and keep the old ones after
    it while this runs; drop them once it has."""
    from directpost.config import SettingsError, get_settings
    from directpost.store import accounts, notifications
    from directpost.store.crypto import (
        TokenCipher,
        TokenDecryptionError,
        token_cipher_from_settings,
    )
    from directpost.store.db import create_engine_from_settings, create_session_factory

    if generate:
        typer.echo(TokenCipher.generate_key())
        typer.echo(
            "Put this key first in DIRECTPOST_TOKEN_ENCRYPTION_KEY (new,old), restart, run "
            "`directpost rotate-keys`, then remove the old key.",
            err=True,
        )
        return
    try:
        settings = get_settings()
        cipher = token_cipher_from_settings(settings)
    except SettingsError as exc:
        typer.echo(f"directpost rotate-keys: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = create_engine_from_settings(settings)
    try:
        with create_session_factory(engine)() as session, session.begin():
            count = accounts.reencrypt_tokens(session, cipher=cipher)
            # The people's webhook signing secrets are kept under the same keys.
            notifications.reencrypt_secrets(session, cipher=cipher)
    except TokenDecryptionError as exc:
        typer.echo(
            f"directpost rotate-keys: {exc} Nothing was changed: keep every key that tokens "
            "were encrypted with in DIRECTPOST_TOKEN_ENCRYPTION_KEY, after the new one.",
            err=True,
        )
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(
        f"Re-encrypted {count} account(s)' tokens under the first key. You may now remove the "
        "other keys from DIRECTPOST_TOKEN_ENCRYPTION_KEY."
    )


def _database_unreachable(command: str, url: str, exc: Exception) -> str:
    """One line, not the driver's traceback: where (no password), what it said, what to do."""
    from sqlalchemy.engine import make_url

    where = make_url(url).render_as_string(hide_password=True)
    orig = getattr(exc, "orig", None)
    reason = (
        str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
    )
    return (
        f"directpost {command}: cannot reach the database at {where} ({reason}). Check "
        "DIRECTPOST_DATABASE_URL and that the server is running; nothing was changed."
    )


def _require_database(command: str, url: str) -> None:
    """Exit 1 with one line when the database does not answer at start (a setting to fix, not
    an outage to wait out: a running worker retries an outage with backoff)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        typer.echo(_database_unreachable(command, url, exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _operator_name() -> str:
    """Who ran an operator command: user@host, for the record."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@app.command()
def worker(
    processes: int = typer.Option(1, min=1, help="separate worker processes to run"),
    threads: int = typer.Option(4, min=1, help="job threads in each process"),
    grace: float = typer.Option(
        30.0, min=0, help="seconds a SIGTERM gives running jobs to reach a safe point"
    ),
) -> None:
    """Run publish workers (jobs from the queue, scheduled posts, status tracking) until SIGTERM,
    which lets running jobs reach a safe point first (exit 1 if the grace period ran out)."""
    from directpost.config import get_settings
    from directpost.logs import configure_logging
    from directpost.publishing.worker import run_worker, run_worker_processes

    configure_logging()
    settings = get_settings()
    _require_database("worker", settings.resolved_database_url)
    if processes == 1:
        clean = run_worker(settings, threads=threads, grace_s=grace)
    else:
        clean = run_worker_processes(settings, processes=processes, threads=threads, grace_s=grace)
    if not clean:
        raise typer.Exit(1)


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would go; change nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the receipt as JSON"),
) -> None:
    """Delete all TikTok information (database and media store) and verify nothing is left
    (TOS-3); needs a lockdown on. Exit 0: verified; 1: something was left; 2: refused."""
    import json

    from directpost.config import SettingsError, get_settings
    from directpost.media.storage import MediaStoreError
    from directpost.publishing.purge import PurgeRefused, run_purge
    from directpost.publishing.wiring import build_services

    try:
        services = build_services(get_settings())
        try:
            receipt = run_purge(
                factory=services.factory,
                media_store=services.media_store,
                cipher=services.cipher,
                dry_run=dry_run,
            )
        finally:
            services.engine.dispose()
    except PurgeRefused as exc:
        typer.echo(f"directpost purge: refused. {exc}", err=True)
        raise typer.Exit(2) from exc
    except (SettingsError, MediaStoreError) as exc:
        typer.echo(f"directpost purge: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(receipt.to_json(), indent=2) if as_json else receipt.to_text())
    if not dry_run and not receipt.verified:
        raise typer.Exit(1)


@app.command()
def audit(
    out: str = typer.Option("audit-pack", help="folder to write the pack into (replaced)"),
    rules: str = typer.Option("", help="run only these rules' tests, e.g. UX-2b,CAP-1"),
    no_tests: bool = typer.Option(False, "--no-tests", help="list the tests, run none"),
    no_browser: bool = typer.Option(False, "--no-browser", help="no screenshots, no video"),
) -> None:
    """Build the audit pack (TOS-4): every rule with its evidence, tests run now, screenshots
    and a recorded walk-through, in one folder viewable offline (`make audit`)."""
    from pathlib import Path

    from directpost.audit import AuditInputError, AuditOptions, build_pack

    options = AuditOptions(
        out=Path(out), rules=rules, run_tests=not no_tests, browser=not no_browser
    )
    try:
        summary = build_pack(options)
    except AuditInputError as exc:
        typer.echo(f"directpost audit: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"Audit pack: {summary.out / 'report.html'} ({summary.bytes / 1e6:.1f} MB, "
        f"{summary.seconds:.0f} s). Rules proven by a passing test: {summary.proven}/{summary.rules}."
    )
    if summary.without_passing_test:
        typer.echo("Without a passing test this time: " + ", ".join(summary.without_passing_test))


@app.command()
def doctor(
    json_output: bool = typer.Option(False, "--json", help="print the checks as JSON"),
) -> None:
    """Check this deployment: what /readyz checks, plus settings TikTok needs; exit 1 if any
    check fails, with what to fix."""
    import json

    from pydantic import ValidationError

    from directpost.config import Settings, SettingsError
    from directpost.emulator.demo import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET
    from directpost.publishing.health import Check, readiness, settings_checks
    from directpost.publishing.wiring import build_services

    try:
        settings = Settings()
        checks = settings_checks(settings, demo_values={DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET})
        services = build_services(settings)
    except (SettingsError, ValidationError, ValueError) as exc:
        typer.echo(f"directpost doctor: the settings cannot be used: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        checks = readiness(services) + checks
    finally:
        services.engine.dispose()
    failed = [check for check in checks if not check.ok]
    if json_output:
        body = {"ok": not failed, "checks": {c.name: c.as_json() for c in checks}}
        typer.echo(json.dumps(body, indent=2))
        raise typer.Exit(1 if failed else 0)

    def line(check: Check) -> str:
        text = f"{'ok  ' if check.ok else 'FAIL'}  {check.name:<16}{check.message}"
        return text + (f"\n      {'':<16}fix: {check.fix}" if check.fix else "")

    typer.echo("\n".join(line(check) for check in checks))
    if failed:
        typer.echo(f"\n{len(failed)} check(s) failed: fix them (see 'fix:') and run again.")
        raise typer.Exit(1)
    typer.echo("\nEverything checked is in order.")


@app.command()
def mcp(
    http: bool = typer.Option(
        False, "--http", help="serve streamable HTTP (at /mcp) instead of stdio"
    ),
    host: str = typer.Option("127.0.0.1", help="with --http: interface to listen on"),
    port: int = typer.Option(
        8765, min=0, max=65535, help="with --http: port to listen on, 0 for any free one"
    ),
    url: str | None = typer.Option(
        None, help="the app's base URL (else DIRECTPOST_URL)", show_default=False
    ),
    token_file: str | None = typer.Option(
        None,
        help="a file holding the personal access token (else DIRECTPOST_TOKEN_FILE, or the "
        "token itself in DIRECTPOST_TOKEN)",
        show_default=False,
    ),
) -> None:
    """The MCP server for AI agents (docs/mcp.md): tools that upload media and prepare posts
    through the app's API with a personal access token. None publishes: the creator confirms
    each prepared post in the app."""
    try:
        from directpost.agent.running import TokenRefused, serve_http, serve_stdio
        from directpost.agent.settings import SettingsProblem, load_settings
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "mcp":
            raise
        typer.echo(
            "directpost mcp: the MCP SDK is not installed; install it with: "
            "pip install 'directpost[mcp]'",
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        settings = load_settings(url=url, token_file=token_file)
        if http:
            serve_http(settings, host=host, port=port)
        else:
            serve_stdio(settings)
    except SettingsProblem as exc:
        typer.echo(f"directpost mcp: {exc}", err=True)
        raise typer.Exit(2) from None
    except TokenRefused as exc:
        typer.echo(f"directpost mcp: the app refused the token: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"directpost mcp: cannot listen on {host}:{port} ({exc.strerror}).", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("Stopped.", err=True)


# login, logout, whoami, post, status, cancel: posting from the terminal (docs/terminal.md). The
# module loads only Typer; each command imports its part when it runs.
from directpost.terminal.commands import app as _terminal  # noqa: E402

app.add_typer(_terminal)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
