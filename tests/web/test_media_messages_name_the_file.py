"""Issue 15, item 9: a media problem names the creator's file, never where the server keeps it
(the storage folder's absolute path once showed in "… could not be read as a video")."""

from __future__ import annotations

import pytest

from tests.fixtures.live import AppClient, api_sign_in, fetch_csrf

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("kind", "name", "kind_type"),
    [("video", "holiday.mp4", "video/mp4"), ("photos", "beach.jpg", "image/jpeg")],
)
async def test_an_unreadable_file_is_named_as_the_creator_named_it(
    app_client: AppClient, kind: str, name: str, kind_type: str
) -> None:
    client = app_client.client
    await api_sign_in(client, open_id="demo-private")
    csrf = await fetch_csrf(client, "/posts")
    headers = {"x-csrf-token": csrf}
    junk = b"this is not a media file at all " * 64
    created = await client.post(
        "/uploads",
        json={"kind": kind, "files": [{"name": name, "size": len(junk), "type": kind_type}]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    sent = await client.put(
        f"/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0",
        content=junk,
        headers={**headers, "content-type": "application/octet-stream"},
    )
    assert sent.status_code == 200, sent.text
    done = (await client.post(f"/uploads/{upload['id']}/finish", headers=headers)).json()
    assert done["state"] == "rejected", done
    words = " ".join([*done["problems"], *(p for f in done["files"] for p in f["problems"])])
    assert name in words, words
    data_dir = str(app_client.settings.data_dir)
    assert data_dir not in words and "/tmp" not in words, words
