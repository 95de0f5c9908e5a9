"""Browser uploads to the app: resumable chunks, checks in plain words, byte-exact playback,
and one person's upload out of everyone else's reach (TECH-3, UX-5b, USE-2).

Real app in-process, real emulator server for sign-in, real media files made with PyAV/Pillow.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx2
import pytest

from directpost.rules import limits
from tests.fixtures.live import AppClient, LiveEmulator, api_sign_in, fetch_csrf
from tests.fixtures.media_files import make_bad_video, make_photo, make_video

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def new_private_creator(emulator: LiveEmulator) -> str:
    open_id = "u-" + secrets.token_hex(6)
    emulator.control(
        "POST",
        "/_emulator/creators",
        json={"open_id": open_id, "nickname": open_id, "private_account": True},
    )
    return open_id


async def sign_in(client: httpx2.AsyncClient, emulator: LiveEmulator) -> str:
    answer = await api_sign_in(client, open_id=new_private_creator(emulator))
    assert answer.status_code == 303, answer.text
    return await fetch_csrf(client, "/compose")


async def announce(
    client: httpx2.AsyncClient, csrf: str, kind: str, files: list[tuple[str, int, str]]
) -> httpx2.Response:
    return await client.post(
        "/uploads",
        json={"kind": kind, "files": [{"name": n, "size": s, "type": t} for n, s, t in files]},
        headers={"X-CSRF-Token": csrf},
    )


async def put(
    client: httpx2.AsyncClient,
    csrf: str,
    upload: dict[str, Any],
    index: int,
    offset: int,
    data: bytes,
) -> httpx2.Response:
    file_id = upload["files"][index]["id"]
    return await client.put(
        f"/uploads/{upload['id']}/files/{file_id}?offset={offset}",
        content=data,
        headers={"X-CSRF-Token": csrf},
    )


async def finish(client: httpx2.AsyncClient, csrf: str, upload_id: str) -> httpx2.Response:
    return await client.post(f"/uploads/{upload_id}/finish", headers={"X-CSRF-Token": csrf})


async def signed_in_client(app_client: AppClient) -> tuple[httpx2.AsyncClient, str]:
    """The app's client, signed in as a new private creator, and its CSRF token."""
    return app_client.client, await sign_in(app_client.client, app_client.emulator)


async def announce_video(
    client: httpx2.AsyncClient, csrf: str, name: str, data: bytes
) -> dict[str, Any]:
    """Announce one MP4 video of `data`'s size; answers the new upload."""
    created = await announce(client, csrf, "video", [(name, len(data), "video/mp4")])
    assert created.status_code == 201, created.text
    upload: dict[str, Any] = created.json()
    return upload


async def send_and_check(
    client: httpx2.AsyncClient, csrf: str, kind: str, files: list[tuple[str, str, bytes]]
) -> dict[str, Any]:
    """Announce `files` (name, MIME type, bytes), send each whole, finish; answers the result."""
    created = await announce(client, csrf, kind, [(n, len(d), t) for n, t, d in files])
    assert created.status_code == 201, created.text
    upload = created.json()
    for index, (_name, _type, data) in enumerate(files):
        await put(client, csrf, upload, index, 0, data)
    done: dict[str, Any] = (await finish(client, csrf, upload["id"])).json()
    return done


async def test_upload_resumes_from_the_servers_offset_and_plays_back_byte_for_byte(
    app_client: AppClient, tmp_path: Path
) -> None:
    client, csrf = await signed_in_client(app_client)
    data = make_video(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    upload = await announce_video(client, csrf, "clip.mp4", data)
    third = len(data) // 3

    assert (await put(client, csrf, upload, 0, 0, data[:third])).json()["received"] == third
    # A chunk sent again after a lost answer is refused with where to go on; nothing doubles.
    repeat = await put(client, csrf, upload, 0, 0, data[:third])
    assert repeat.status_code == 409
    assert repeat.json()["received"] == third
    # After a "reload", the browser asks the server how far it got.
    status = (await client.get(f"/uploads/{upload['id']}")).json()
    assert status["files"][0]["received"] == third
    assert (await put(client, csrf, upload, 0, third, data[third:])).status_code == 200

    done = await finish(client, csrf, upload["id"])
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "ready"
    assert done.json()["problems"] == []

    # UX-5b: what comes back for the preview is exactly what was given.
    url = done.json()["files"][0]["url"]
    whole = await client.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-type"] == "video/mp4"
    part = await client.get(url, headers={"range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]


async def test_finish_before_every_byte_arrived_says_to_continue(
    app_client: AppClient, tmp_path: Path
) -> None:
    client, csrf = await signed_in_client(app_client)
    data = make_video(tmp_path / "clip.mp4").read_bytes()
    upload = await announce_video(client, csrf, "clip.mp4", data)
    await put(client, csrf, upload, 0, 0, data[:100])
    early = await finish(client, csrf, upload["id"])
    assert early.status_code == 409
    assert "clip.mp4" in early.json()["error"]
    assert "Continue the upload" in early.json()["error"]


async def test_tech_3_a_file_that_is_not_a_video_is_rejected_in_plain_words(
    app_client: AppClient, tmp_path: Path
) -> None:
    client, csrf = await signed_in_client(app_client)
    data = make_bad_video(tmp_path / "broken.mp4", kind="garbage").read_bytes()
    done = await send_and_check(client, csrf, "video", [("broken.mp4", "video/mp4", data)])
    assert done["state"] == "rejected"
    assert done["problems"], done
    assert all(len(p) > 20 for p in done["problems"])


async def test_tech_3_a_too_slow_video_is_rejected_with_the_frame_rate_named(
    app_client: AppClient, tmp_path: Path
) -> None:
    client, csrf = await signed_in_client(app_client)
    data = make_video(tmp_path / "slow.mp4", fps=15).read_bytes()
    done = await send_and_check(client, csrf, "video", [("slow.mp4", "video/mp4", data)])
    assert done["state"] == "rejected"
    assert any("15 frames per second" in p for p in done["problems"]), done["problems"]


async def test_tech_3_too_big_or_too_many_files_are_refused_before_any_byte_is_sent(
    app_client: AppClient,
) -> None:
    client, csrf = await signed_in_client(app_client)
    huge = await announce(
        client, csrf, "video", [("huge.mp4", limits.VIDEO_MAX_BYTES + 1, "video/mp4")]
    )
    assert huge.status_code == 422
    assert "up to 4 GB" in huge.json()["error"]
    many = await announce(
        client, csrf, "photos", [(f"p{i}.jpg", 1000, "image/jpeg") for i in range(36)]
    )
    assert many.status_code == 422
    assert "36 photos" in many.json()["error"]


async def test_photos_upload_together_and_a_png_is_named_in_the_problem(
    app_client: AppClient, tmp_path: Path
) -> None:
    client, csrf = await signed_in_client(app_client)
    first = make_photo(tmp_path / "a.jpg").read_bytes()
    second = make_photo(tmp_path / "b.png", fmt="PNG").read_bytes()
    done = await send_and_check(
        client, csrf, "photos", [("a.jpg", "image/jpeg", first), ("b.png", "image/png", second)]
    )
    assert done["state"] == "rejected"
    assert [p for p in done["problems"] if "Photo 2 (b.png)" in p], done["problems"]
    assert not [p for p in done["problems"] if "a.jpg" in p]


async def test_use_2_another_person_can_neither_see_nor_write_an_upload(
    app_client: AppClient, tmp_path: Path
) -> None:
    owner = app_client.client
    csrf = await sign_in(owner, app_client.emulator)
    data = make_video(tmp_path / "mine.mp4").read_bytes()
    upload = await announce_video(owner, csrf, "mine.mp4", data)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app_client.app), base_url=str(owner.base_url)
    ) as stranger:
        other_csrf = await sign_in(stranger, app_client.emulator)
        assert (await stranger.get(f"/uploads/{upload['id']}")).status_code == 404
        assert (await put(stranger, other_csrf, upload, 0, 0, data)).status_code == 404
        assert (await finish(stranger, other_csrf, upload["id"])).status_code == 404
        preview = await stranger.get(f"/compose/preview?upload={upload['id']}")
        assert preview.status_code == 404
    still = (await owner.get(f"/uploads/{upload['id']}")).json()
    assert still["files"][0]["received"] == 0


async def test_chunk_writes_need_the_sessions_csrf_token(
    app_client: AppClient, tmp_path: Path
) -> None:
    client, csrf = await signed_in_client(app_client)
    data = make_video(tmp_path / "clip.mp4").read_bytes()
    upload = await announce_video(client, csrf, "clip.mp4", data)
    file_id = upload["files"][0]["id"]
    forged = await client.put(f"/uploads/{upload['id']}/files/{file_id}?offset=0", content=data)
    assert forged.status_code == 403
    assert (await client.get(f"/uploads/{upload['id']}")).json()["files"][0]["received"] == 0
