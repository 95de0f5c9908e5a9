"""Media on S3, served through the real pull path: the app runs as a real server on S3 storage
(moto's S3 server on loopback), the emulator (TikTok) pulls each post's media from the app's
per-attempt `/m/...` URLs, and the test checks what arrived there byte for byte.

Issue 13: botocore's `LastModified` (dateutil's `tzutc`) made `format_datetime(usegmt=True)`
raise, so every pull from S3 answered 500 and every post failed; these tests publish a video, a
photo post and an inbox draft that way, ask `/m/...` with HEAD and Range as TikTok's downloader
may, and delete everything (DG-5) to see the objects go. (The purge on S3 is
tests/publishing/test_purge.py; uploads across two servers are test_s3_two_servers.py.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from dateutil.tz import tzutc

from directpost.media.serving import media_response
from directpost.media.storage import LocalMediaStore, StoredObject
from directpost.media.urls import attempt_media_filename, media_url
from directpost.publishing import pipeline, states
from tests.fixtures.emulator import EmulatorHandle
from tests.fixtures.live import api_sign_in, fetch_csrf
from tests.fixtures.media_files import make_video
from tests.fixtures.s3 import bucket_keys, moto_endpoint, new_bucket, s3_env
from tests.publishing.harness import Bench, build_bench

__all__ = ["moto_endpoint", "s3_env"]  # fixtures used by name below

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class S3Bench:
    """The publishing bench on S3 media storage, with the bucket's name and the server's URL."""

    def __init__(self, bench: Bench, endpoint: str, bucket: str) -> None:
        self.bench, self.endpoint, self.bucket = bench, endpoint, bucket

    def bucket_keys(self) -> list[str]:
        return bucket_keys(self.endpoint, self.bucket)


@pytest.fixture
def s3(
    emulator_server: EmulatorHandle,
    tmp_path: Path,
    moto_endpoint: str,
    s3_env: dict[str, str],
) -> Iterator[S3Bench]:
    bucket = new_bucket(moto_endpoint, "pull")
    for bench, _server in build_bench(
        emulator_server,
        tmp_path,
        media_storage_url=f"s3://{bucket}/media",
        s3_endpoint_url=moto_endpoint,
    ):
        yield S3Bench(bench, moto_endpoint, bucket)


def stored_bytes(bench: Bench, manifest: list[dict[str, Any]]) -> list[bytes]:
    return [b"".join(bench.ctx.media_store.iter_bytes(str(item["key"]))) for item in manifest]


# --- the Last-Modified of any aware datetime -----------------------------------------------------


@pytest.mark.parametrize(
    "zone",
    [tzutc(), timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)), UTC],
    ids=["dateutil-tzutc", "plus-2h", "minus-5h30", "datetime-UTC"],
)
def test_last_modified_is_the_same_gmt_moment_whatever_zone_the_store_gives(
    tmp_path: Path, zone: Any
) -> None:
    moment = datetime(2026, 12, 2, 11, 25, 3, tzinfo=UTC)
    found = StoredObject(
        key="a.mp4", size_bytes=4, etag='"e"', last_modified=moment.astimezone(zone)
    )
    store = LocalMediaStore(tmp_path)

    head = media_response(store, found, method="HEAD", headers={})
    ranged = media_response(
        store,
        found,
        method="HEAD",
        headers={"range": "bytes=1-2", "if-range": head.headers["last-modified"]},
    )

    assert head.status_code == 200
    assert head.headers["last-modified"] == "Wed, 02 Dec 2026 11:25:03 GMT"
    assert ranged.status_code == 206, "If-Range with the date sent still names these bytes"


# --- the real pull path ---------------------------------------------------------------------------


async def test_a_video_post_on_s3_is_pulled_by_tiktok_and_published(s3: S3Bench) -> None:
    bench = s3.bench
    creator = await bench.creator_facts("demo-public")
    media = bench.media_video()
    assert any(k.startswith("media/tests/") for k in s3.bucket_keys()), "the video is in the bucket"
    post_id = bench.submit(
        "demo-public", creator, media=media, title="from s3", privacy_level="PUBLIC_TO_EVERYONE"
    )

    post = await bench.drive(post_id)

    assert (post.state, post.reason_text) == (states.PUBLISHED, "")
    (publish,) = bench.publishes("demo-public")
    assert publish["source"] == "PULL_FROM_URL" and publish["status"] == "PUBLISH_COMPLETE"
    assert publish["urls"][0].startswith(f"{bench.app_url}/m/")
    (data,) = stored_bytes(bench, media[0])
    assert publish["downloaded_bytes"] == len(data)
    assert publish["sha256"] == hashlib.sha256(data).hexdigest()


async def test_a_photo_post_on_s3_is_pulled_photo_by_photo_and_published(s3: S3Bench) -> None:
    bench = s3.bench
    creator = await bench.creator_facts("demo-private")
    media = bench.media_photos(3)
    post_id = bench.submit(
        "demo-private", creator, media=media, title="photos", privacy_level="SELF_ONLY"
    )

    post = await bench.drive(post_id)

    assert (post.state, post.reason_text) == (states.PUBLISHED, "")
    (publish,) = bench.publishes("demo-private")
    assert publish["media_type"] == "PHOTO" and len(publish["urls"]) == 3
    assert publish["downloaded_bytes"] == sum(len(d) for d in stored_bytes(bench, media[0]))


async def test_an_inbox_draft_on_s3_reaches_the_creators_inbox(s3: S3Bench) -> None:
    bench = s3.bench
    creator = await bench.creator_facts("demo-public")
    media = bench.media_video()
    post_id = bench.submit("demo-public", creator, media=media, mode="inbox")

    post = await bench.drive(post_id)

    assert (post.state, post.reason_text) == (states.SENT_TO_INBOX, "")
    (publish,) = bench.publishes("demo-public")
    assert publish["post_mode"] == "MEDIA_UPLOAD" and publish["status"] == "SEND_TO_USER_INBOX"
    (data,) = stored_bytes(bench, media[0])
    assert publish["sha256"] == hashlib.sha256(data).hexdigest()


async def test_head_and_ranges_on_a_media_url_answer_from_s3(s3: S3Bench) -> None:
    """While TikTok processes the post its URL stays valid: ask it as a downloader would."""
    bench = s3.bench
    bench.emulator.control("progression", {"mode": "polls", "value": 1000})
    creator = await bench.creator_facts("demo-public")
    media = bench.media_video()
    post_id = bench.submit("demo-public", creator, media=media, privacy_level="PUBLIC_TO_EVERYONE")
    while bench.post(post_id).state != states.PROCESSING:
        await pipeline.advance(bench.ctx, post_id)
    (attempt,) = bench.post(post_id).attempts
    assert attempt.media_token
    url = media_url(bench.app_url, attempt.media_token, attempt_media_filename(0, "clip.mp4"))
    (data,) = stored_bytes(bench, media[0])
    found = bench.ctx.media_store.stat(str(media[0][0]["key"]))
    assert found is not None
    size = len(data)

    async with httpx2.AsyncClient(timeout=30, trust_env=False) as client:
        head = await client.head(url)
        whole = await client.get(url)
        part = await client.get(url, headers={"range": "bytes=100-1099"})
        tail = await client.get(url, headers={"range": "bytes=-10"})
        beyond = await client.get(url, headers={"range": f"bytes={size}-"})
        still = await client.get(
            url, headers={"range": "bytes=0-9", "if-range": head.headers["last-modified"]}
        )
        changed = await client.get(
            url, headers={"range": "bytes=0-9", "if-range": "Mon, 01 Jan 2001 00:00:00 GMT"}
        )

    assert head.status_code == 200, head.text
    assert head.content == b"" and head.headers["content-length"] == str(size)
    assert head.headers["accept-ranges"] == "bytes" and head.headers["content-type"] == "video/mp4"
    assert head.headers["etag"] == found.etag
    assert head.headers["last-modified"].endswith(" GMT")
    assert parsedate_to_datetime(head.headers["last-modified"]) == found.last_modified.replace(
        microsecond=0
    )
    assert (whole.status_code, whole.content) == (200, data)
    assert (part.status_code, part.content) == (206, data[100:1100])
    assert part.headers["content-range"] == f"bytes 100-1099/{size}"
    assert (tail.status_code, tail.content) == (206, data[-10:])
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert (still.status_code, still.content) == (206, data[:10])
    assert (changed.status_code, changed.content) == (200, data), "an older date: the whole file"


async def test_dg_5_delete_everything_removes_the_persons_objects_from_s3(
    s3: S3Bench, tmp_path: Path
) -> None:
    """A creator signs in on the app's server, uploads a video (to S3), publishes it (TikTok
    pulls it from S3), then deletes everything: the upload's objects are gone from the bucket,
    and the other person's are still there."""
    bench = s3.bench
    open_id = "s3-" + bench.settings.tiktok_client_key[-6:]
    bench.emulator.control("creators", {"open_id": open_id, "nickname": open_id})
    others = bench.media_video()  # the bench's own person's media: must stay
    data = make_video(tmp_path / "mine.mp4", seconds=1.0).read_bytes()
    async with httpx2.AsyncClient(base_url=bench.app_url, timeout=30, trust_env=False) as client:
        assert (await api_sign_in(client, open_id=open_id)).status_code == 303
        csrf = await fetch_csrf(client, "/compose")
        headers = {"X-CSRF-Token": csrf}
        created = await client.post(
            "/uploads",
            json={
                "kind": "video",
                "files": [{"name": "mine.mp4", "size": len(data), "type": "video/mp4"}],
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        upload = created.json()
        file_id = upload["files"][0]["id"]
        put = f"/uploads/{upload['id']}/files/{file_id}"
        assert (await client.put(f"{put}?offset=0", content=data, headers=headers)).is_success
        finished = await client.post(f"/uploads/{upload['id']}/finish", headers=headers)
        assert finished.json()["state"] == "ready", finished.text
        posted = await client.post(
            "/posts",
            data={
                "csrf_token": csrf,
                "upload_id": upload["id"],
                "title": "mine, then gone",
                "privacy_level": "SELF_ONLY",
            },
        )
        assert posted.status_code == 303, posted.text
        post_id = int(urlsplit(posted.headers["location"]).path.rsplit("/", 1)[1])
        assert (await bench.drive(post_id)).state == states.PUBLISHED
        (publish,) = bench.publishes(open_id)
        assert publish["sha256"] == hashlib.sha256(data).hexdigest(), "pulled from S3"
        mine = [k for k in s3.bucket_keys() if upload["id"] in k]
        assert mine, "the upload is in the bucket"

        csrf = await fetch_csrf(client, "/me/data")
        deleted = await client.post("/me/data/delete", data={"csrf_token": csrf, "confirm": "yes"})

    assert "Your data has been deleted" in deleted.text
    left = s3.bucket_keys()
    assert [k for k in left if upload["id"] in k] == []
    assert f"media/{others[0][0]['key']}" in left
