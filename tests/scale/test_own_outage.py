"""The app's own outage does not fail posts (issue 15, item 4), end to end as OS processes: the
emulator, one `directpost serve` (the media TikTok pulls, the webhooks) and one `directpost
worker`, on PostgreSQL and S3 media storage (moto's server).

Five creators queue twenty posts, then the worker starts. TikTok's pulls wait three seconds
before they read (an emulator fault), so several are waiting when the web process is killed
(SIGKILL) and kept down for ten seconds, then started again on its port. The pulls that hit
the outage fail at TikTok; those posts are sent again with a new attempt (any start while the
media service does not answer waits for it: tests/publishing/test_own_media_outage.py). Every
post must end published, exactly once on TikTok (the emulator's profiles), none failed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from sqlalchemy import create_engine, select

from directpost.publishing import states
from directpost.store import posts as store
from tests.fixtures.cluster import (
    Cluster,
    publish_upload,
    read_csrf,
    running_cluster,
    upload_in_pieces,
)
from tests.fixtures.live import api_sign_in
from tests.fixtures.media_files import make_video
from tests.fixtures.processes import wait_until_answers
from tests.fixtures.s3 import moto_endpoint, new_bucket
from tests.scale.test_scale_out import final_states, publishes_by_title, unfinished

__all__ = ["moto_endpoint"]  # the fixture, used by name below

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]

CREATORS, POSTS_EACH = 5, 4
OUTAGE_S = 10.0
#: TikTok's first poll comes 30 s after a start when no webhook arrives (`Timing`); retries and
#: the held posts follow.
WITHIN_S = 180.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, moto_endpoint: str) -> Iterator[Cluster]:
    with running_cluster(
        tmp_path,
        database_url=postgres_url,
        s3_endpoint=moto_endpoint,
        bucket=new_bucket(moto_endpoint, "outage"),
        servers=1,
    ) as running:
        yield running


def _restart_server(cluster: Cluster) -> None:
    url = cluster.server_urls[0]
    cluster.spawn(
        "serve-1",
        "serve",
        DIRECTPOST_PORT=str(urlsplit(url).port),
        DIRECTPOST_PUBLIC_BASE_URL=url,
    )
    wait_until_answers(f"{url}/healthz", process=cluster.processes["serve-1"], log=cluster.log_path)


async def _queue_posts(cluster: Cluster, video: bytes) -> set[str]:
    server = cluster.server_urls[0]
    titles: set[str] = set()
    for _ in range(CREATORS):
        open_id = cluster.new_creator()
        async with httpx2.AsyncClient(base_url=server, timeout=60, trust_env=False) as client:
            assert (await api_sign_in(client, open_id=open_id)).status_code == 303
            csrf = await read_csrf(client, f"{server}/compose")
            for k in range(POSTS_EACH):
                upload = await upload_in_pieces(
                    client, [server], csrf, name=f"{k}.mp4", content_type="video/mp4", data=video
                )
                title = f"outage {open_id} #{k}"
                await publish_upload(client, server, csrf, upload["id"], title=title)
                titles.add(title)
    return titles


async def test_the_web_process_down_for_ten_seconds_fails_no_post_and_posts_none_twice(
    cluster: Cluster, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    titles = await _queue_posts(cluster, video)  # queued: no worker runs yet
    cluster.control(
        "POST",
        "/_emulator/faults",
        {"endpoint": "pull", "delay_s": 3, "count": CREATORS * POSTS_EACH},
    )
    engine = create_engine(cluster.settings.resolved_database_url)
    try:
        cluster.start_worker(1)
        deadline = time.monotonic() + 60
        while not cluster.emulator_state()["publishes"]:  # a pull waiting at TikTok
            assert time.monotonic() < deadline, cluster.log_tail()
            await asyncio.sleep(0.05)
        cluster.kill("serve-1")
        await asyncio.sleep(OUTAGE_S)
        _restart_server(cluster)

        deadline = time.monotonic() + WITHIN_S
        while left := unfinished(engine):
            cluster.assert_running()
            assert time.monotonic() < deadline, f"{left} posts unfinished\n{cluster.log_tail()}"
            await asyncio.sleep(0.25)
        finals = final_states(engine)
        with engine.connect() as connection:
            retried = connection.execute(
                select(store.PublishAttempt.post_id).where(
                    store.PublishAttempt.error_code == "video_pull_failed"
                )
            ).all()
    finally:
        engine.dispose()

    state = cluster.emulator_state()
    by_title = publishes_by_title(state)
    on_profiles = Counter(p["title"] for posts in state["posts"].values() for p in posts)
    failed_at_tiktok = [p for t in titles for p in by_title[t] if p["status"] == "FAILED"]
    print(
        f"\nown outage: {len(titles)} posts; {len(failed_at_tiktok)} pulls failed at TikTok "
        f"during the {OUTAGE_S:.0f} s outage, {len(retried)} attempts sent again"
    )
    assert finals == {states.PUBLISHED: len(titles)}, finals  # none failed
    assert {t: on_profiles[t] for t in titles} == dict.fromkeys(titles, 1)  # none twice
    completes = {t: sum(p["status"] == "PUBLISH_COMPLETE" for p in by_title[t]) for t in titles}
    assert completes == dict.fromkeys(titles, 1)
    # The outage did hit pulls in flight (else this test proved nothing), and each was retried.
    assert failed_at_tiktok and all(
        p["fail_reason"] == "video_pull_failed" for p in failed_at_tiktok
    )
    assert len(retried) == len(failed_at_tiktok)
