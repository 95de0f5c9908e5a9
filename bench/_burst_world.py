"""The world one round of `bench/publish_scale.py` runs in, and what it reads back from it.

Every process is the one a deployment runs: the emulator (`directpost emulator`), the app
(`directpost serve`, which serves the per-attempt media URLs TikTok pulls and takes the
webhooks) and `directpost worker`, each a process of its own so that its CPU time can be read
from /proc. The benchmark's own process only stores the posts and watches; it is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from tests.fixtures.environment import child_environment
from tests.fixtures.processes import free_port, wait_until_answers

from bench._pairs import cpu_seconds
from bench._s3 import S3_BUCKET, S3_ENV
from directpost import tiktok
from directpost.config import Settings
from directpost.publishing import service, states
from directpost.publishing.drafts import creator_facts
from directpost.publishing.wiring import build_services
from directpost.rules.model import Draft, MediaFacts
from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.migrate import upgrade_database

ROOT = Path(__file__).resolve().parents[1]
TIKTOK_FINAL = frozenset({"PUBLISH_COMPLETE", "FAILED", "SEND_TO_USER_INBOX"})
#: The video every post carries: 720x1280, 30 fps, 4 s of moving noise at ~8 Mbit/s, ~4 MB.
#: Noise, because a flat picture compresses to a few kB and would make every pull free.
VIDEO_SIZE, VIDEO_FPS, VIDEO_FRAMES = (720, 1280), 30, 120

POSTGRES_ADMIN = os.environ.get(
    "DIRECTPOST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_BACKENDS = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
REDIS_URL = os.environ.get("DIRECTPOST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def make_video(path: Path) -> Path:
    """Encode the benchmark's video once (about a second of CPU); later calls reuse the file."""
    if path.exists():
        return path
    import av
    from PIL import Image

    width, height = VIDEO_SIZE
    row = width * 3
    # Noise (a video that compresses to almost nothing would not be a few MB), moved down by a
    # few rows per frame; seeded, so every run encodes the same bytes.
    noise = random.Random(11).randbytes(row * height)
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as box:
        stream = box.add_stream("h264", rate=VIDEO_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 8_000_000
        stream.options = {"preset": "ultrafast"}
        for i in range(VIDEO_FRAMES):
            cut = (i * 7 % height) * row
            image = Image.frombytes(
                "RGB", (width, height), noise[-cut:] + noise[:-cut] if cut else noise
            )
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    partial.rename(path)
    return path


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the worker command starts one child per process)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
            ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        one = todo.pop()
        found.append(one)
        todo.extend(parents.get(one, []))
    return found


def _cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            out[pid] = cpu_seconds(pid)
    return out


@dataclass
class CpuReading:
    """CPU seconds used so far, per process id, for each kind of process."""

    by_kind: dict[str, dict[int, float]]

    def minus(self, before: CpuReading) -> dict[str, float]:
        """Seconds used since `before`, per kind (a process born since counts from zero)."""
        return {
            kind: sum(t - before.by_kind.get(kind, {}).get(pid, 0.0) for pid, t in now.items())
            for kind, now in self.by_kind.items()
        }


def duplicates_and_missing(state: dict[str, Any], titles: set[str]) -> tuple[list[str], int]:
    """Exactly-once at TikTok: the titles of the batch that have more than one publish or more
    than one post on a profile, and how many of the batch have no post at all."""
    publishes = Counter(p["request"].get("post_info", {}).get("title") for p in state["publishes"])
    posts = Counter(p["title"] for by_creator in state["posts"].values() for p in by_creator)
    twice = sorted(t for t in titles if publishes[t] > 1 or posts[t] > 1)
    missing = sum(1 for t in titles if posts[t] == 0)
    return twice, missing


class World:
    """A fresh emulator, app server and database (and, for the scale size, PostgreSQL + Redis)."""

    def __init__(
        self,
        data_dir: Path,
        video: Path,
        *,
        database_url: str,
        redis_url: str,
        transfer_mode: str,
        s3_endpoint: str = "",
    ) -> None:
        self.data_dir = data_dir
        #: With an S3 endpoint, the media store is a bucket there (every process's credentials).
        self.s3_env = S3_ENV if s3_endpoint else {}
        self.log = (data_dir / "processes.log").open("ab")
        emulator_url = f"http://127.0.0.1:{free_port()}"
        app_port = free_port()
        self.settings = Settings(
            _env_file=None,
            environment="test",
            data_dir=data_dir,
            tiktok_client_key="dpbench" + secrets.token_hex(4),
            tiktok_client_secret="bench-" + secrets.token_urlsafe(24),
            tiktok_auth_base_url=emulator_url,
            tiktok_api_base_url=emulator_url,
            host="127.0.0.1",
            port=app_port,
            public_base_url=f"http://127.0.0.1:{app_port}",
            token_encryption_key=Fernet.generate_key().decode(),
            session_secret=secrets.token_urlsafe(32),
            app_audited=True,
            creator_cap_per_day=100_000,
            database_url=database_url,
            budget_url=redis_url,
            transfer_mode=transfer_mode,
            media_storage_url=f"s3://{S3_BUCKET}/{data_dir.name}" if s3_endpoint else "",
            operator_token=secrets.token_urlsafe(32),  # for /metrics
            s3_endpoint_url=s3_endpoint,
        )
        self.emulator_url = emulator_url
        self.emulator = self._spawn(
            "emulator", "--port", emulator_url.rsplit(":", 1)[1], "--data-dir", str(data_dir / "tt")
        )
        try:
            wait_until_answers(emulator_url + "/_emulator/state", process=self.emulator)
            upgrade_database(self.settings.resolved_database_url)
            self.app = self._spawn("serve")
            wait_until_answers(self.settings.public_base_url + "/healthz", process=self.app)
        except BaseException:
            self.emulator.kill()
            if hasattr(self, "app"):
                self.app.kill()
            print(self.log_tail(), file=sys.stderr)
            raise
        self.workers: subprocess.Popen[bytes] | None = None
        self.control = httpx2.Client(base_url=emulator_url, timeout=60, trust_env=False)
        self.control.post(
            "/_emulator/apps",
            json={
                "client_key": self.settings.tiktok_client_key,
                "client_secret": self.settings.tiktok_client_secret.get_secret_value(),
                "audited": True,
                "redirect_uris": [f"{self.settings.public_base_url}/auth/tiktok/callback"],
                "verified_url_prefixes": [f"{self.settings.public_base_url}/m/"],
                "webhook_url": f"{self.settings.public_base_url}/webhooks/tiktok",
            },
        ).raise_for_status()
        services = build_services(self.settings)  # what a worker process builds, too
        self.engine, self.factory, self.cipher = services.engine, services.factory, services.cipher
        self.budgets, self.media_store = services.budgets, services.media_store
        self.media_store.put("bench/video.mp4", video.read_bytes())
        self.manifest = [
            {
                "key": "bench/video.mp4",
                "filename": "bench.mp4",
                "content_type": "video/mp4",
                "size": video.stat().st_size,
            }
        ]
        self.person_id: int | None = None

    def _env(self) -> dict[str, str]:
        return child_environment(self.settings, **self.s3_env)

    def _spawn(self, *command: str) -> subprocess.Popen[bytes]:
        # Logs go to a file in the round's folder (the tail is printed if the round fails).
        return subprocess.Popen(
            [sys.executable, "-m", "directpost.cli", *command],
            cwd=ROOT,
            env=self._env(),
            stdout=self.log,
            stderr=self.log,
        )

    def metric_families(self) -> list[str]:
        """The metric families the app's `/metrics` shows now (issue 13: scraped after a burst)."""
        answer = httpx2.get(
            self.settings.public_base_url + "/metrics",
            headers={"authorization": "Bearer " + self.settings.operator_token.get_secret_value()},
            timeout=30,
            trust_env=False,
        )
        answer.raise_for_status()
        return sorted(
            {line.split()[2] for line in answer.text.splitlines() if line.startswith("# TYPE ")}
        )

    def start_workers(self, processes: int, threads: int) -> None:
        self.workers = self._spawn(
            "worker", "--processes", str(processes), "--threads", str(threads)
        )

    def stop_workers(self) -> None:
        if self.workers is None:
            return
        self.workers.terminate()
        try:
            self.workers.wait(60)
        except subprocess.TimeoutExpired:
            for pid in _descendants(self.workers.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
        self.workers = None

    def cpu(self) -> CpuReading:
        """CPU seconds so far of the workers (the command and its children), app and emulator."""
        assert self.workers is not None
        kinds = {
            "workers": _cpu(_descendants(self.workers.pid)),
            "app": _cpu([self.app.pid]),
            "emulator": _cpu([self.emulator.pid]),
        }
        if self.engine.dialect.name == "postgresql":
            # The server processes of this database's connections (the pools keep theirs for
            # the whole round; one that closes in between is missed). Redis is not read: its
            # one server process is shared with whatever else runs on the machine.
            with self.engine.connect() as conn:
                pids = conn.execute(PG_BACKENDS).scalars().all()
            kinds["postgres"] = _cpu([int(pid) for pid in pids])
        return CpuReading(kinds)

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = (self.data_dir / "processes.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def creator(self, open_id: str) -> tuple[int, Any]:
        """Create a demo creator at the emulator, link it, and read its creator_info once."""
        self.control.post(
            "/_emulator/creators", json={"open_id": open_id, "nickname": open_id}
        ).raise_for_status()
        answer = self.control.post(
            "/_emulator/tokens",
            json={"client_key": self.settings.tiktok_client_key, "open_id": open_id},
        )
        answer.raise_for_status()
        grant = tiktok.Token.from_response(answer.json(), utcnow())
        with self.factory() as session, session.begin():
            account = accounts.record_sign_in(
                session,
                grant=grant,
                profile=accounts.Profile(display_name=open_id, avatar_url=""),
                cipher=self.cipher,
                signed_in_person_id=self.person_id,
            )
            self.person_id = account.person_id
            account_id = account.id

        async def info() -> Any:
            await self.budgets.spend(open_id, "creator_info")
            async with tiktok.AsyncTikTokClient(
                client_key=self.settings.tiktok_client_key,
                client_secret=self.settings.tiktok_client_secret.get_secret_value(),
                api_base_url=self.emulator_url,
                auth_base_url=self.emulator_url,
            ) as client:
                return await client.creator_info(access_token=grant.access_token)

        return account_id, creator_facts(asyncio.run(info()))

    def queue(
        self,
        open_id: str,
        account_id: int,
        facts: Any,
        count: int,
        *,
        due_at: datetime | None = None,
    ) -> list[str]:
        """Store `count` posts of one creator; return their titles, unique in the run, which is
        how the emulator's posts are matched to ours (exactly-once)."""
        titles = [f"bench {open_id} #{k}" for k in range(count)]
        with self.factory() as session, session.begin():
            for title in titles:
                service.submit_post(
                    session,
                    settings=self.settings,
                    submission=service.Submission(
                        person_id=self.person_id or 0,
                        account_id=account_id,
                        open_id=open_id,
                        creator=facts,
                        draft=Draft(
                            media=MediaFacts(
                                kind="video", ready=True, duration_sec=VIDEO_FRAMES / VIDEO_FPS
                            ),
                            title=title,
                            privacy_level="SELF_ONLY",
                        ),
                        media=self.manifest,
                        upload_id=None,
                        scheduled_at=due_at,
                        time_zone="UTC",
                    ),
                )
        return titles

    def unfinished(self) -> int:
        with self.factory() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(store.Post)
                    .where(store.Post.state.not_in(tuple(states.FINAL_STATES)))
                )
                or 0
            )

    def states(self) -> dict[str, int]:
        with self.factory() as session:
            rows = session.execute(
                select(store.Post.state, func.count()).group_by(store.Post.state)
            ).all()
        return {state: int(n) for state, n in rows}

    def init_timeline(self, since: datetime) -> dict[int, tuple[float, float]]:
        """For each k, the median and the latest time (s after `since`) of a creator's k-th
        init: the 4th is what the end of the run waits for (see publish_scale's docstring)."""
        with self.factory() as session:
            rows = session.execute(
                select(store.Post.open_id, store.PublishAttempt.created_at)
                .join(store.PublishAttempt, store.PublishAttempt.post_id == store.Post.id)
                .where(store.PublishAttempt.created_at >= since)
                .order_by(store.PublishAttempt.created_at)
            ).all()
        by_creator: dict[str, list[float]] = {}
        for open_id, at in rows:
            by_creator.setdefault(open_id, []).append((at - since).total_seconds())
        out: dict[int, tuple[float, float]] = {}
        for k in range(1, max((len(v) for v in by_creator.values()), default=0) + 1):
            times = sorted(v[k - 1] for v in by_creator.values() if len(v) >= k)
            out[k] = (times[len(times) // 2], times[-1])
        return out

    def init_to_final(self, since: datetime) -> tuple[list[float], int]:
        """Seconds from each post's last init to its final state (sorted), and how many posts
        were looked at by a status poll (the fallback for a webhook that came late or never)."""
        with self.factory() as session:
            rows = session.execute(
                select(
                    store.Post.finished_at,
                    store.Post.polls,
                    func.max(store.PublishAttempt.created_at),
                )
                .join(store.PublishAttempt, store.PublishAttempt.post_id == store.Post.id)
                .where(store.PublishAttempt.created_at >= since)
                .group_by(store.Post.id)
            ).all()
        spans = sorted((done - init).total_seconds() for done, _, init in rows if done and init)
        return spans, sum(1 for _, polls, _ in rows if polls)

    def emulator_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.control.get("/_emulator/state").json()
        return state

    def wait_all_final(self, timeout: float, *, since: float | None = None) -> float:
        """Seconds from `since` (a time.monotonic(); default now) until no post is unfinished."""
        start = time.monotonic() if since is None else since
        while self.unfinished():
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{self.unfinished()} posts unfinished after {timeout}s")
            if self.workers is not None and self.workers.poll() is not None:
                raise RuntimeError(f"the workers exited with {self.workers.returncode}")
            time.sleep(0.2)
        return time.monotonic() - start

    def close(self) -> None:
        self.stop_workers()
        self.control.close()
        for process in (self.app, self.emulator):
            process.terminate()
        for process in (self.app, self.emulator):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.engine.dispose()
        self.log.close()


def count_429(state: dict[str, Any]) -> int:
    return sum(1 for r in state["refused"] if "rate_limit" in str(r))


def final_at_tiktok(state: dict[str, Any], open_ids: set[str], since: datetime) -> float:
    """Seconds from `since` until the emulator (TikTok) held every publish of these creators in
    a final status: what the issue measures. (The app learns it a webhook later.)"""
    ends = [
        max(h["at"] for h in p["history"] if h["status"] in TIKTOK_FINAL)
        for p in state["publishes"]
        if p["open_id"] in open_ids
    ]
    return float(max(ends)) - since.timestamp()


class LeadTooShort(Exception):
    """Storing the batch was not done when it came due: the round measures nothing."""

    def __init__(self, lead_s: float, late_s: float) -> None:
        super().__init__(f"storing the posts took {late_s:.1f} s longer than the lead")
        self.needed_s = lead_s + late_s


class DueMoment:
    """A moment `lead_s` ahead, as UTC (for the posts) and as time.monotonic() (for timing)."""

    def __init__(self, lead_s: float) -> None:
        self.lead_s = lead_s
        self.created = time.monotonic()
        self.monotonic = self.created + lead_s
        self.at = utcnow() + timedelta(seconds=lead_s)

    def stored_after(self) -> float:
        return time.monotonic() - self.created

    def wait(self, before: float = 0.0) -> float:
        """Sleep until `before` s ahead of the moment; refuse to measure if it already passed."""
        left = self.monotonic - before - time.monotonic()
        if left < 0:
            raise LeadTooShort(self.lead_s, -left)
        time.sleep(left)
        return self.monotonic


@contextlib.contextmanager
def databases(size: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database and an empty Redis db for the scale size; nothing (SQLite
    in the round's data dir) for the embedded size."""
    if size == "embedded":
        yield "", ""
        return
    import redis
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    name = "directpost_bench_" + secrets.token_hex(4)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield make_url(POSTGRES_ADMIN).set(database=name).render_as_string(False), REDIS_URL
    finally:
        client.flushdb()
        client.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
