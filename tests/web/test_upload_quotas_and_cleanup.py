"""Issue 15, item 2: the disk cannot be filled through uploads — a quota on unfinished uploads
(how many, and the bytes announced), a rejected upload's bytes deleted at once, and abandoned
uploads swept with their unfinished bytes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import select, update

from directpost.publishing.housekeeping import sweep_abandoned_uploads
from directpost.publishing.worker import Worker, publish_context
from directpost.rules import limits
from directpost.store import uploads as upload_store
from directpost.store.base import utcnow
from directpost.web.routes.uploads import MAX_OPEN_UPLOADS
from tests.fixtures.live import AppClient, api_sign_in, fetch_csrf

pytestmark = pytest.mark.anyio


async def _signed_in(app_client: AppClient) -> tuple[httpx2.AsyncClient, dict[str, str]]:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    return client, {"x-csrf-token": await fetch_csrf(client, "/posts")}


async def _announce(
    client: httpx2.AsyncClient, headers: dict[str, str], size: int, name: str = "a.mp4"
) -> httpx2.Response:
    return await client.post(
        "/uploads",
        json={"kind": "video", "files": [{"name": name, "size": size, "type": "video/mp4"}]},
        headers=headers,
    )


def _keys(app_client: AppClient) -> list[str]:
    return list(app_client.app.state.services.media_store.iter_keys())


async def test_unfinished_uploads_are_capped_in_number_and_bytes(app_client: AppClient) -> None:
    client, headers = await _signed_in(app_client)
    for i in range(MAX_OPEN_UPLOADS):
        assert (await _announce(client, headers, 1000, f"{i}.mp4")).status_code == 201
    refused = await _announce(client, headers, 1000)
    assert refused.status_code == 429, refused.text
    assert "uploads in progress" in refused.json()["error"]
    assert "Finish or remove one" in refused.json()["error"]
    # Removing one frees a place.
    open_id = _first_open(app_client)
    assert (await client.delete(f"/uploads/{open_id}", headers=headers)).status_code == 204
    assert (await _announce(client, headers, 1000)).status_code == 201


async def test_the_bytes_announced_are_capped_too(app_client: AppClient) -> None:
    client, headers = await _signed_in(app_client)
    biggest = limits.VIDEO_MAX_BYTES
    assert (await _announce(client, headers, biggest)).status_code == 201
    assert (await _announce(client, headers, biggest)).status_code == 201
    third = await _announce(client, headers, biggest)
    assert third.status_code == 429, third.text
    # Deleting one frees its bytes.
    open_id = _first_open(app_client)
    assert (await client.delete(f"/uploads/{open_id}", headers=headers)).status_code == 204
    assert (await _announce(client, headers, biggest)).status_code == 201


def _first_open(app_client: AppClient) -> str:
    factory = app_client.app.state.services.factory
    with factory() as session:
        found = session.scalars(
            select(upload_store.Upload.id).where(upload_store.Upload.state == "receiving")
        ).first()
    assert found is not None
    return str(found)


async def test_a_rejected_uploads_bytes_are_deleted_at_once(app_client: AppClient) -> None:
    client, headers = await _signed_in(app_client)
    junk = b"not a video " * 100
    upload = (await _announce(client, headers, len(junk))).json()
    put = await client.put(
        f"/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0",
        content=junk,
        headers={**headers, "content-type": "application/octet-stream"},
    )
    assert put.status_code == 200
    assert any(upload["id"] in key for key in _keys(app_client))
    done = (await client.post(f"/uploads/{upload['id']}/finish", headers=headers)).json()
    assert done["state"] == "rejected" and done["problems"], done
    assert not any(upload["id"] in key for key in _keys(app_client))
    # The answer still says what was wrong, and the file counts as received.
    again = (await client.get(f"/uploads/{upload['id']}", headers=headers)).json()
    assert again["problems"] == done["problems"]
    assert again["files"][0]["received"] == len(junk)


async def test_abandoned_uploads_are_swept_with_their_unfinished_bytes(
    app_client: AppClient,
) -> None:
    client, headers = await _signed_in(app_client)
    upload = (await _announce(client, headers, 10_000)).json()
    put = await client.put(
        f"/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0",
        content=b"x" * 4000,
        headers={**headers, "content-type": "application/octet-stream"},
    )
    assert put.status_code == 200
    services = app_client.app.state.services
    assert sweep_abandoned_uploads(services.factory, services.media_store) == 0  # still fresh
    with services.factory() as session, session.begin():
        session.execute(
            update(upload_store.Upload)
            .where(upload_store.Upload.id == upload["id"])
            .values(updated_at=utcnow() - upload_store.STALE_AFTER - timedelta(minutes=1))
        )
    assert sweep_abandoned_uploads(services.factory, services.media_store) == 1
    assert not any(upload["id"] in key for key in _keys(app_client))
    gone = await client.get(f"/uploads/{upload['id']}", headers=headers)
    assert gone.status_code == 404


async def test_a_running_worker_sweeps_on_its_own(app_client: AppClient) -> None:
    client, headers = await _signed_in(app_client)
    upload = (await _announce(client, headers, 10_000)).json()
    services = app_client.app.state.services
    with services.factory() as session, session.begin():
        session.execute(
            update(upload_store.Upload)
            .where(upload_store.Upload.id == upload["id"])
            .values(updated_at=utcnow() - upload_store.STALE_AFTER - timedelta(minutes=1))
        )
    worker = Worker(publish_context(services), threads=1).start()
    try:
        deadline = time.monotonic() + 10
        while (await client.get(f"/uploads/{upload['id']}", headers=headers)).status_code != 404:
            assert time.monotonic() < deadline, "the worker never swept the abandoned upload"
            await asyncio.sleep(0.1)
    finally:
        worker.stop()
