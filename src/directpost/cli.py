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
) -> None:
    """Serve the local TikTok emulator: consent page, Content Posting API, upload host, webhooks."""
    from pathlib import Path

    from directpost.emulator.config import EmulatorConfig
    from directpost.emulator.server import serve

    config = EmulatorConfig(
        data_dir=Path(data_dir) if data_dir else None, allow_http_loopback=not https_only
    )
    serve(host=host, port=port, config=config)


@app.command()
def migrate() -> None:
    """Bring the database up to date (SQLite by default, or DIRECTPOST_DATABASE_URL)."""
    from directpost.config import get_settings
    from directpost.store.migrate import migrate as run_migrations

    settings = get_settings()
    run_migrations(settings)
    typer.echo("The database is up to date.")


@app.command()
def serve() -> None:
    """Serve the web app (DIRECTPOST_HOST:DIRECTPOST_PORT); run `migrate` first."""
    from directpost.config import get_settings
    from directpost.web.server import serve as serve_app

    serve_app(get_settings())


@app.command()
def run() -> None:
    """Everything on embedded defaults: migrations, the app, the worker in-process, and the local
    emulator with the app pre-registered when no TikTok credentials are set (`make run`)."""
    from directpost.config import SettingsError, get_settings
    from directpost.web.server import run as run_all

    try:
        run_all(get_settings())
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
) -> None:
    """Run publish workers (jobs from the queue, scheduled posts, status tracking) until SIGTERM,
    which lets running jobs finish first."""
    from directpost.config import get_settings
    from directpost.logs import configure_logging
    from directpost.publishing.worker import run_worker, run_worker_processes

    configure_logging()
    settings = get_settings()
    if processes == 1:
        run_worker(settings, threads=threads)
    else:
        run_worker_processes(settings, processes=processes, threads=threads)


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
