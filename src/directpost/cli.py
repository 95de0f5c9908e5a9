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
) -> None:
    """Serve the local TikTok emulator: consent page, Content Posting API, upload host, webhooks."""
    from directpost.emulator.server import serve

    serve(host=host, port=port)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
