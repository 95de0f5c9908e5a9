"""TOS-3: `directpost purge` deletes all TikTok information, database and media store, and its
check proves it by reading every table and the whole store afterwards.

The world is built for real: creators signed in with tokens from the emulator, posts published
through the real job code against the emulator as a real server (it pulls the media from the
app's URLs and sends signed webhooks), a scheduled post, a failed one, uploads with real media
files, one of them half received. Then a lockdown, the purge (the use case, and the command as
a child process), and the test reads every table the database has (SQLAlchemy's inspector, not
our models) and lists the store itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text

from directpost.publishing import states
from directpost.publishing.purge import PurgeRefused, Receipt, run_purge, verify
from directpost.store import lockdown, uploads
from directpost.store import posts as store
from directpost.store import purge as purge_statements
from directpost.store.base import utcnow
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.environment import child_environment
from tests.fixtures.media_files import make_video
from tests.fixtures.post_states import seed_state
from tests.fixtures.s3 import moto_endpoint, new_bucket, s3_env
from tests.publishing.harness import Bench, build_bench

pytestmark = pytest.mark.anyio

__all__ = ["moto_endpoint", "s3_env"]  # the shared S3 server's fixtures, used by name below

KEPT = {"alembic_version", "lockdowns", "measures"}


# --- the world ---------------------------------------------------------------------------------


def _bench(emulator: EmulatorHandle, tmp_path: Path, **overrides: Any) -> Iterator[Bench]:
    """The publishing bench of `harness.py`, with the database and media store chosen here."""
    for built, _server in build_bench(emulator, tmp_path, **overrides):
        yield built


@pytest.fixture
def local_bench(emulator_server: EmulatorHandle, tmp_path: Path) -> Iterator[Bench]:
    yield from _bench(emulator_server, tmp_path)


@pytest.fixture
def s3_bench(
    emulator_server: EmulatorHandle,
    tmp_path: Path,
    moto_endpoint: str,
    s3_env: dict[str, str],
) -> Iterator[Bench]:
    bucket = new_bucket(moto_endpoint, "purge")
    yield from _bench(
        emulator_server,
        tmp_path,
        media_storage_url=f"s3://{bucket}/media",
        s3_endpoint_url=moto_endpoint,
    )


@pytest.fixture
def postgres_bench(
    emulator_server: EmulatorHandle, tmp_path: Path, postgres_url: str
) -> Iterator[Bench]:
    yield from _bench(emulator_server, tmp_path, database_url=postgres_url)


@dataclass
class World:
    """What was seeded, to look for afterwards."""

    open_ids: set[str]
    publish_ids: set[str]
    upload_ids: set[str]


async def seed_world(bench: Bench) -> World:
    """Signed-in creators, posts in several states with consents, attempts with publish ids,
    webhook events, budget hits, uploads with media in the store (one half received)."""
    public = await bench.creator_facts("demo-public")
    published = bench.submit(
        "demo-public",
        public,
        media=bench.media_video(),
        title="purge me #directpost",
        privacy_level="PUBLIC_TO_EVERYONE",
    )
    assert (await bench.drive(published)).state == states.PUBLISHED
    private = await bench.creator_facts("demo-private")
    photos = bench.submit(
        "demo-private", private, media=bench.media_photos(2), privacy_level="SELF_ONLY"
    )
    assert (await bench.drive(photos)).state in states.FINAL_STATES
    bench.submit(
        "demo-private",
        private,
        media=bench.media_video(),
        privacy_level="SELF_ONLY",
        scheduled_at=utcnow() + timedelta(days=2),
    )
    failed = bench.submit(
        "demo-private", private, media=bench.media_video(), privacy_level="SELF_ONLY"
    )
    with bench.ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=failed)
        assert post is not None
        seed_state(post, state=states.FAILED, reason_text="TikTok said no")
        post.log_id = "log-failed-20261202"
        # A webhook TikTok may send for any post (applied ones are kept for de-duplication).
        store.record_webhook_event(
            session,
            dedupe_key="purge-test-1",
            event="post.publish.failed",
            open_id="demo-private",
            publish_id="v_pub_purge_seeded",
        )
    _upload(bench, finished=True)
    _upload(bench, finished=False)
    with bench.ctx.factory() as session:
        publish_ids = {p.publish_id for p in session.scalars(select(store.Post)) if p.publish_id}
        upload_ids = set(session.scalars(text("SELECT id FROM uploads")))
    assert publish_ids, "the seeded world has publish ids"
    return World(
        open_ids={"demo-public", "demo-private"}, publish_ids=publish_ids, upload_ids=upload_ids
    )


def _upload(bench: Bench, *, finished: bool) -> None:
    """An upload as the browser leaves one: a real video, complete and checked, or half sent."""
    path = make_video(bench.media_root / f"upload-{uuid.uuid4().hex[:6]}.mp4")
    data = path.read_bytes()
    with bench.ctx.factory() as session, session.begin():
        upload = uploads.create_upload(
            session,
            person_id=bench.person_id,
            account_id=bench.accounts["demo-public"],
            kind="video",
            files=[uploads.NewFile(filename="clip.mp4", content_type="video/mp4", size=len(data))],
        )
        (file,) = upload.files
        key = uploads.storage_key(upload.id, file.id)
        if finished:
            bench.ctx.media_store.append(key, 0, data)
            bench.ctx.media_store.finalize(key, expected_size=len(data))
            uploads.record_received(file, received=len(data))
            uploads.record_checks(upload, results=[(key, {"duration_s": 1.0}, [])], problems=[])
        else:
            half = len(data) // 2
            bench.ctx.media_store.append(key, 0, data[:half])
            uploads.record_received(file, received=half)


def start_lockdown(bench: Bench, *, reason: str = "") -> None:
    with bench.ctx.factory() as session, session.begin():
        lockdown.start_lockdown(session, by="test", reason=reason)


# --- reading everything back -----------------------------------------------------------------


def engine_of(bench: Bench) -> Engine:
    engine = bench.ctx.factory.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def every_row(bench: Bench) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the database has (its catalogue, not our models)."""
    engine = engine_of(bench)
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        quote = connection.dialect.identifier_preparer.quote
        return {
            name: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {quote(name)}"))]
            for name in names
        }


def stored_keys(bench: Bench) -> list[str]:
    return list(bench.ctx.media_store.iter_keys())


def files_on_disk(bench: Bench) -> list[Path]:
    root = Path(bench.settings.media_storage_url)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def assert_nothing_left(bench: Bench, world: World) -> None:
    """The test's own check, independent of the purge's: every table but the kept ones is
    empty, the kept ones hold no seeded identifier, the store lists nothing."""
    rows = every_row(bench)
    assert {name for name, held in rows.items() if held} <= KEPT, {
        name: len(held) for name, held in rows.items() if held and name not in KEPT
    }
    assert len(rows["lockdowns"]) == 1, "the record of the lockdown stays"
    kept_text = json.dumps({name: rows[name] for name in KEPT}, default=str)
    for identifier in world.open_ids | world.publish_ids | world.upload_ids:
        assert identifier not in kept_text
    assert stored_keys(bench) == []


def assert_receipt_counts(receipt: Receipt, before: dict[str, list[tuple[Any, ...]]]) -> None:
    counted = {t.name: (t.before, t.after) for t in receipt.tables}
    assert set(counted) == set(before), "the receipt names every table the database has"
    for name, held in before.items():
        assert counted[name][0] == len(held), name


# --- the purge -------------------------------------------------------------------------------


def purge(bench: Bench, *, dry_run: bool = False) -> Receipt:
    return run_purge(
        factory=bench.ctx.factory,
        media_store=bench.ctx.media_store,
        cipher=bench.ctx.cipher,
        dry_run=dry_run,
    )


async def test_tos_3_purge_leaves_nothing_local(local_bench: Bench) -> None:
    bench = local_bench
    world = await seed_world(bench)
    # A table no model of ours knows, holding TikTok data: the purge reads the catalogue.
    with engine_of(bench).begin() as connection:
        connection.execute(text("CREATE TABLE legacy_cache (open_id VARCHAR(128))"))
        connection.execute(text("INSERT INTO legacy_cache VALUES ('demo-public')"))
    start_lockdown(bench)
    before = every_row(bench)
    keys_before = stored_keys(bench)
    partial_before = [k for k in keys_before if bench.ctx.media_store.upload_size(k) is not None]
    assert all(before[t] for t in ("people", "tiktok_accounts", "posts", "post_consents"))
    assert all(before[t] for t in ("publish_attempts", "webhook_events", "rate_budget_hits"))
    assert before["uploads"] and before["upload_files"] and before["legacy_cache"]
    assert len(partial_before) == 1 and len(keys_before) >= 6

    receipt = purge(bench)

    assert receipt.verified, receipt.findings
    assert_nothing_left(bench, world)
    assert files_on_disk(bench) == []
    assert_receipt_counts(receipt, before)
    assert all(t.after == 0 for t in receipt.tables if t.name not in KEPT)
    assert receipt.store is not None
    assert receipt.store.objects_before == len(keys_before) - 1
    assert receipt.store.partial_before == 1
    assert (receipt.store.objects_after, receipt.store.partial_after) == (0, 0)
    assert receipt.identifiers["open_id"] == 2 and receipt.identifiers["token"] >= 4
    assert receipt.identifiers["publish_id"] >= 2
    assert "verified: nothing left" in receipt.to_text()


async def test_tos_3_purge_through_the_command_leaves_nothing(local_bench: Bench) -> None:
    bench = local_bench
    world = await seed_world(bench)
    start_lockdown(bench)
    before = every_row(bench)

    done = run_command(bench, "--json")

    assert done.returncode == 0, done.stderr
    receipt = json.loads(done.stdout)
    assert receipt["verified"] is True and receipt["findings"] == []
    assert {t["name"]: t["before"] for t in receipt["tables"]} == {
        name: len(held) for name, held in before.items()
    }
    assert receipt["store"]["objects_after"] == receipt["store"]["partial_after"] == 0
    assert receipt["store"]["partial_before"] == 1
    assert_nothing_left(bench, world)
    # The human receipt of a second run says the same in words.
    again = run_command(bench)
    assert again.returncode == 0, again.stderr
    assert "verified: nothing left" in again.stdout


async def test_tos_3_dry_run_shows_what_would_go_and_changes_nothing(local_bench: Bench) -> None:
    bench = local_bench
    await seed_world(bench)
    before = every_row(bench)
    keys_before = stored_keys(bench)

    receipt = purge(bench, dry_run=True)  # no lockdown needed to look
    shown = run_command(bench, "--dry-run")

    assert shown.returncode == 0, shown.stderr
    assert "DRY RUN" in shown.stdout and "would be emptied" in shown.stdout
    assert not receipt.verified and receipt.findings == []
    assert_receipt_counts(receipt, before)
    assert all(t.after == t.before for t in receipt.tables)
    assert every_row(bench) == before
    assert stored_keys(bench) == keys_before


async def test_tos_3_purge_refuses_without_a_lockdown_and_deletes_nothing(
    local_bench: Bench,
) -> None:
    bench = local_bench
    await seed_world(bench)
    before = every_row(bench)
    keys_before = stored_keys(bench)

    with pytest.raises(PurgeRefused, match="lockdown"):
        purge(bench)
    refused = run_command(bench)

    assert refused.returncode == 2
    assert "refused" in refused.stderr and "directpost lockdown" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert every_row(bench) == before
    assert stored_keys(bench) == keys_before
    # A lifted lockdown is no lockdown.
    start_lockdown(bench)
    with bench.ctx.factory() as session, session.begin():
        lockdown.lift_lockdown(session, by="test")
    with pytest.raises(PurgeRefused):
        purge(bench)
    assert stored_keys(bench) == keys_before


async def test_tos_3_check_reports_what_is_left(local_bench: Bench) -> None:
    """The check is no rubber stamp: before a purge it names every table holding rows and the
    store's keys; a kept table that holds a TikTok identifier fails the purge (exit 1)."""
    bench = local_bench
    await seed_world(bench)
    with bench.ctx.factory() as session:
        identifiers = purge_statements.tiktok_identifiers(session)
    findings = verify(
        engine=engine_of(bench), media_store=bench.ctx.media_store, identifiers=identifiers
    )
    for table in ("people", "tiktok_accounts", "posts", "publish_attempts", "upload_files"):
        assert any(f.startswith(f"table {table} ") for f in findings), table
    assert any(f.startswith("media store still lists") for f in findings)

    start_lockdown(bench, reason="terminating; creator demo-public asked")
    done = run_command(bench)

    assert done.returncode == 1
    assert "NOT verified" in done.stdout
    assert "lockdowns, column reason" in done.stdout and "open_id" in done.stdout
    assert "  - table " not in done.stdout, "everything else went"


async def test_tos_3_purge_leaves_nothing_on_s3(s3_bench: Bench) -> None:
    bench = s3_bench
    world = await seed_world(bench)
    # A half-received upload big enough to be an S3 multipart upload with a part, not a tail.
    bench.ctx.media_store.append("uploads/big/file", 0, b"\0" * (5 * 1024 * 1024 + 1))
    start_lockdown(bench)
    keys_before = stored_keys(bench)
    assert "uploads/big/file" in keys_before and len(keys_before) >= 7

    done = run_command(bench, "--json")

    assert done.returncode == 0, done.stderr
    receipt = json.loads(done.stdout)
    assert receipt["verified"] is True
    assert receipt["store"]["where"].startswith("s3://purge-")
    assert receipt["store"]["partial_before"] == 2
    assert_nothing_left(bench, world)
    listing = bench.ctx.media_store.client.list_objects_v2(Bucket=bench.ctx.media_store.bucket)  # type: ignore[attr-defined]
    assert listing.get("KeyCount", 0) == 0
    uploads_left = bench.ctx.media_store.client.list_multipart_uploads(  # type: ignore[attr-defined]
        Bucket=bench.ctx.media_store.bucket  # type: ignore[attr-defined]
    )
    assert uploads_left.get("Uploads", []) == []


@pytest.mark.postgres
async def test_tos_3_purge_leaves_nothing_on_postgres(postgres_bench: Bench) -> None:
    bench = postgres_bench
    world = await seed_world(bench)
    start_lockdown(bench)
    before = every_row(bench)

    receipt = purge(bench)

    assert receipt.database == "postgresql"
    assert receipt.verified, receipt.findings
    assert_receipt_counts(receipt, before)
    assert_nothing_left(bench, world)


# --- the command as a child process ------------------------------------------------------------


def run_command(bench: Bench, *args: str) -> subprocess.CompletedProcess[str]:
    """`directpost purge` in a child process on exactly the bench's settings."""
    return subprocess.run(
        [sys.executable, "-m", "directpost.cli", "purge", *args],
        env=child_environment(bench.settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
