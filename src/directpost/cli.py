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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
