"""Prepared posts nobody reviews do not keep someone's media forever (issue 18): after
`REVIEW_WITHIN` the worker's housekeeping expires them, deletes their media, and tells whoever
prepared them; the ones still within the time, and decided ones, are left alone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from directpost.publishing import housekeeping
from directpost.publishing.prepared import REVIEW_WITHIN
from directpost.store import notifications, uploads
from directpost.store import prepared as store
from directpost.store.base import utcnow
from tests.fixtures.live import AppClient, api_sign_in
from tests.fixtures.media_files import make_video
from tests.fixtures.prepared import make_token, prepare_via_api

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_unreviewed_prepared_posts_expire_with_their_media_and_the_preparer_is_told(
    app_client: AppClient, tmp_path: Path
) -> None:
    assert (await api_sign_in(app_client.client)).status_code == 303
    services = app_client.app.state.services
    token = make_token(services.factory, person_id=1)
    video = make_video(tmp_path / "old.mp4", seconds=1.0)
    old = await prepare_via_api(app_client.client, token, account_id=1, video=video, title="old")
    new = await prepare_via_api(app_client.client, token, account_id=1, video=video, title="new")
    with services.factory() as session, session.begin():
        session.execute(
            update(store.PreparedPost)
            .where(store.PreparedPost.id == old["id"])
            .values(created_at=utcnow() - REVIEW_WITHIN - timedelta(minutes=1))
        )
        keys = [
            f.storage_key
            for f in session.scalars(
                select(uploads.UploadFile).where(uploads.UploadFile.upload_id == old["upload_id"])
            )
        ]
    assert keys and all(services.media_store.stat(k) is not None for k in keys)

    assert housekeeping.expire_prepared(services.factory, services.media_store) == len(keys)

    with services.factory() as session:
        expired = session.get(store.PreparedPost, old["id"])
        kept = session.get(store.PreparedPost, new["id"])
        assert expired is not None and expired.state == store.EXPIRED
        assert expired.upload_id is None and session.get(uploads.Upload, old["upload_id"]) is None
        assert kept is not None and kept.state == store.TO_REVIEW
        events = [n.event for n in notifications.list_notifications(session, person_id=1)]
        assert "prepared.expired" in events
    assert all(services.media_store.stat(k) is None for k in keys)
    assert housekeeping.expire_prepared(services.factory, services.media_store) == 0
