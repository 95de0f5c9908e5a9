"""The Alembic migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from directpost.store.db import create_engine_for_url
from directpost.store.migrate import downgrade_database, upgrade_database
from directpost.store.models import Base


def _schema_differences(url: str) -> list[object]:
    engine = create_engine_for_url(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine_for_url(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_migrations_produce_exactly_the_models_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade_database(url)
    assert _schema_differences(url) == []
    assert _tables(url) == set(Base.metadata.tables)


def test_sqlite_migrations_downgrade_to_an_empty_database_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade_database(url)
    downgrade_database(url, "base")
    assert _tables(url) == set()
    upgrade_database(url)
    assert _schema_differences(url) == []


@pytest.mark.postgres
def test_postgresql_migrations_produce_exactly_the_models_schema(postgres_url: str) -> None:
    upgrade_database(postgres_url)
    assert _schema_differences(postgres_url) == []
    assert _tables(postgres_url) == set(Base.metadata.tables)
    downgrade_database(postgres_url, "base")
    assert _tables(postgres_url) == set()
