"""Run the Alembic migrations from code (the `migrate` command, `run`, and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from directpost.config import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def migrate(settings: Settings) -> None:
    """Bring the configured database up to date (SQLite files are created as needed)."""
    upgrade_database(settings.resolved_database_url)
