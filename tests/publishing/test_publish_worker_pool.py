"""The worker's database pool keeps a connection for each of its threads (a new PostgreSQL
connection per use was a server fork each time: the publish_scale benchmark's brake)."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from directpost.config import Settings
from directpost.publishing.worker import context_from_settings


def _settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        token_encryption_key=Fernet.generate_key().decode(),
    )


def test_worker_pool_keeps_a_postgres_connection_per_thread(tmp_path: Path) -> None:
    # Building the engine opens no connection, so no server is needed.
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ctx = context_from_settings(_settings(tmp_path, url), threads=8)
    engine = ctx.factory.kw["bind"]
    try:
        assert engine.pool.size() >= 8 + 1  # every runner thread plus the dispatcher
        assert engine.url.render_as_string(hide_password=False) == url
    finally:
        engine.dispose()


def test_worker_pool_leaves_sqlite_as_the_store_builds_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    ctx = context_from_settings(_settings(tmp_path, url), threads=8)
    engine = ctx.factory.kw["bind"]
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
