"""Browser uploads resumed across two `directpost serve` processes that share PostgreSQL and S3,
then published through TikTok's pull from S3, then deleted (DG-5): every part a separate OS
process (emulator, migrate, two servers, a worker), as a deployment runs them.

A browser's connection may land on either server behind a load balancer: the upload is
announced on one, its first half sent there, the second half sent to the other after asking it
how far the upload got (as a browser does after a reload), finished there, and previewed from
the first. The post is published from the second server; TikTok (the emulator) pulls it from
S3 through the app's `/m/...` URL and must receive exactly the bytes the browser sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.fixtures.cluster import (
    Cluster,
    publish_upload,
    read_csrf,
    running_cluster,
    upload_in_pieces,
)
from tests.fixtures.live import api_sign_in
from tests.fixtures.media_files import make_video
from tests.fixtures.s3 import moto_endpoint, new_bucket

__all__ = ["moto_endpoint"]  # the fixture, used by name below

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, moto_endpoint: str) -> Iterator[Cluster]:
    bucket = new_bucket(moto_endpoint, "two")
    with running_cluster(
        tmp_path, database_url=postgres_url, s3_endpoint=moto_endpoint, bucket=bucket
    ) as running:
        running.start_worker(1, threads=2)
        yield running


async def wait_final(client: httpx2.AsyncClient, url: str, *, within: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + within
    while not (shown := (await client.get(url)).json())["final"]:
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.2)
    return dict(shown)


async def test_an_upload_resumed_on_another_server_is_pulled_from_s3_and_deleted_dg_5(
    cluster: Cluster, tmp_path: Path
) -> None:
    first, second = cluster.server_urls
    open_id = cluster.new_creator(private=True)
    data = make_video(tmp_path / "clip.mp4", seconds=2.0).read_bytes()
    async with httpx2.AsyncClient(base_url=first, timeout=30, trust_env=False) as client:
        assert (await api_sign_in(client, open_id=open_id)).status_code == 303
        csrf = await read_csrf(client, f"{first}/compose")
        upload = await upload_in_pieces(
            client, [first, second], csrf, name="clip.mp4", content_type="video/mp4", data=data
        )
        # Previewed from the other server: the same bytes, read back from S3 (UX-5b).
        preview = upload["files"][0]["url"]
        assert (await client.get(f"{first}{preview}")).content == data
        part = await client.get(f"{first}{preview}", headers={"range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, data[10:20])
        stored = [k for k in cluster.bucket_keys() if upload["id"] in k]
        assert len(stored) == 1, stored  # one whole object: no leftover pieces of either server

        post_id = await publish_upload(client, second, csrf, upload["id"], title="two servers")
        shown = await wait_final(client, f"{first}/posts/{post_id}/status")
        assert shown["state"] == "published", shown
        (publish,) = [p for p in cluster.emulator_state()["publishes"] if p["open_id"] == open_id]
        assert publish["source"] == "PULL_FROM_URL"
        assert publish["sha256"] == hashlib.sha256(data).hexdigest()

        csrf = await read_csrf(client, f"{second}/me/data")
        deleted = await client.post(
            f"{second}/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"}
        )

    assert "Your data has been deleted" in deleted.text
    assert [k for k in cluster.bucket_keys() if upload["id"] in k] == []
    cluster.assert_running()
