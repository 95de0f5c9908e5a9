"""Bulk (issue 17) over the real app in-process and the real emulator: a CSV and a folder of
real media make prepared posts in "To review" — never a post, never a call to TikTok's init —
until the creator confirms each on the Post page, with privacy unchosen (UX-2b, UX-5c).
Rows with problems are reported and leave nothing; the same batch again makes nothing twice;
another person sees none of it."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from sqlalchemy import func, select

from directpost.store import prepared as store
from directpost.store import uploads as upload_store
from directpost.store.posts import Post
from directpost.web.routes import bulk as bulk_route
from tests.fixtures.live import AppClient, Personas, fetch_csrf
from tests.fixtures.media_files import make_bad_video, make_photo, make_video
from tests.web.api_helpers import account_of

pytestmark = pytest.mark.anyio

ZONE = "America/New_York"
File = tuple[str, tuple[str, bytes, str]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _local(days: int, hour: int) -> str:
    """A wall-clock time `days` from now in ZONE, as a CSV row writes it."""
    day = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=days)).date()
    return f"{day.isoformat()} {hour:02d}:00"


@pytest.fixture
def media(tmp_path: Path) -> dict[str, bytes]:
    """A folder's real media: two videos, two photos and a broken "video"."""
    return {
        "monday.mp4": make_video(tmp_path / "monday.mp4", seconds=1.0).read_bytes(),
        "tuesday.mp4": make_video(tmp_path / "tuesday.mp4", seconds=1.0).read_bytes(),
        "beach-1.jpg": make_photo(tmp_path / "beach-1.jpg", width=720, height=720).read_bytes(),
        "beach-2.jpg": make_photo(tmp_path / "beach-2.jpg", width=720, height=720).read_bytes(),
        "broken.mp4": make_bad_video(tmp_path / "broken.mp4").read_bytes(),
        "old.mp4": make_video(tmp_path / "old.mp4", seconds=1.0).read_bytes(),
        "stray.mp4": b"not named by any row",
    }


def good_and_bad_csv() -> str:
    """3 good rows and 2 bad ones (a time in the past, media that fails the checks)."""
    return (
        "\ufefffile;caption;time;privacy;note\n"
        f'monday.mp4;"Monday; fresh start #week";{_local(2, 9)};Everyone;first\n'
        f"tuesday.mp4;Behind the scenes;{_local(3, 18)};Only me;\n"
        f"beach-1.jpg|beach-2.jpg;Beach day;{_local(4, 12)};;\n"
        f"old.mp4;Too late;{_local(-2, 9)};Friends;\n"
        f"broken.mp4;Broken clip;{_local(5, 9)};Followers;\n"
    )


def folder_files(media: dict[str, bytes], csv_text: str) -> list[File]:
    """What a folder picker sends: each file under its folder, the CSV among them."""
    files: list[File] = [("folder", ("trip/posts.csv", csv_text.encode("utf-8"), "text/csv"))]
    for name, data in media.items():
        kind = "image/jpeg" if name.endswith(".jpg") else "video/mp4"
        files.append(("folder", (f"trip/{name}", data, kind)))
    return files


async def send(
    client: httpx2.AsyncClient, *, account_id: int, files: list[File], zone: str = ZONE
) -> httpx2.Response:
    csrf = await fetch_csrf(client, "/review/bulk")
    form = {"csrf_token": csrf, "account_id": str(account_id), "time_zone": zone}
    return await client.post("/review/bulk", data=form, files=files)


def prepared_rows(app: AppClient) -> list[store.PreparedPost]:
    with app.app.state.services.factory() as session:
        return list(session.scalars(select(store.PreparedPost).order_by(store.PreparedPost.id)))


def count(app: AppClient, model: Any) -> int:
    with app.app.state.services.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def tiktok_calls_since(app: AppClient, since: float) -> set[str]:
    asked = app.emulator.control("GET", f"/_emulator/requests?since={since}").json()["requests"]
    return {r["path"] for r in asked}


def publishes_of(app: AppClient) -> list[Any]:
    return [
        p
        for p in app.emulator.state()["publishes"]
        if p.get("client_key") == app.settings.tiktok_client_key
    ]


@pytest.fixture
async def made(personas: Personas, media: dict[str, bytes]) -> AsyncIterator[httpx2.Response]:
    """The creator's batch of 3 good and 2 bad rows, sent once."""
    _, account_id = account_of(personas.app.app, "demo-private")
    answer = await send(
        personas.creator, account_id=account_id, files=folder_files(media, good_and_bad_csv())
    )
    yield answer


async def test_good_rows_become_prepared_posts_and_bad_rows_are_reported_and_leave_nothing(
    personas: Personas, made: httpx2.Response
) -> None:
    app = personas.app
    assert made.status_code == 200, made.text
    html = made.text
    assert "3 of 5 rows are ready to review" in html
    assert html.count('data-testid="bulk-ready"') == 3
    rows = re.findall(r'data-row="(\d)"', html)
    assert rows == ["1", "2", "3", "4", "5"]
    failed = html[html.index('data-row="4"') :]
    assert "The schedule time has passed" in failed[: failed.index("</tr>")]
    broken = html[html.index('data-row="5"') :]
    assert "broken.mp4" in broken[: broken.index("</tr>")]
    assert 'data-testid="bulk-problems"' in broken[: broken.index("</tr>")]
    assert "stray.mp4" in html[html.index('data-testid="bulk-unnamed"') :]  # not kept
    assert 'data-testid="bulk-first"' in html

    person_id, account_id = account_of(app.app, "demo-private")
    made_rows = prepared_rows(app)
    assert [r.title for r in made_rows] == [
        "Monday; fresh start #week",
        "Behind the scenes",
        "Beach day",
    ]
    for row in made_rows:
        assert row.state == store.TO_REVIEW and row.post_id is None
        assert row.account_id == account_id and row.prepared_by == person_id
        assert row.prepared_by_name == "bulk: posts.csv"
        assert row.time_zone == ZONE
    assert [r.privacy_suggestion for r in made_rows] == ["PUBLIC_TO_EVERYONE", "SELF_ONLY", ""]
    assert [r.kind for r in made_rows] == ["video", "video", "photos"]
    assert made_rows[0].note == "first"
    monday = made_rows[0].schedule_suggestion
    assert monday is not None
    assert monday.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M") == _local(2, 9)
    # The bad rows left no upload behind (their bytes went too), and no post exists.
    assert count(app, upload_store.Upload) == 3
    assert count(app, Post) == 0
    assert publishes_of(app) == []
    listing = await personas.creator.get("/review")
    assert listing.text.count('data-testid="review-item"') == 3


async def test_nothing_reaches_tiktok_until_the_creator_confirms_on_the_post_page(
    personas: Personas, made: httpx2.Response
) -> None:
    app = personas.app
    since = time.time()
    creator = personas.creator
    first = prepared_rows(app)[0]
    opened = await creator.get(f"/review/{first.id}")
    assert opened.headers["location"] == f"/compose?prepared={first.id}"
    page = await creator.get(opened.headers["location"])
    assert page.status_code == 200, page.text
    html = page.text
    suggestion = html[html.index('data-testid="privacy-suggestion"') :]
    assert "Everyone" in suggestion[: suggestion.index("</p>")]
    select_html = html[html.index('id="privacy_level"') : html.index("</select>")]
    assert re.search(r'<option value="\w+"[^>]* selected', select_html) is None  # UX-2b
    assert re.search(r'id="publish"[^>]*disabled', html)
    assert f'value="{_local(2, 9).replace(" ", "T")}"' in html  # the suggested time
    assert count(app, Post) == 0
    called = tiktok_calls_since(app, since)
    assert not any("/init/" in path for path in called), called
    assert publishes_of(app) == []

    csrf = await fetch_csrf(creator, f"/compose?prepared={first.id}")
    form = {
        "csrf_token": csrf,
        "upload_id": first.upload_id,
        "title": first.title,
        "privacy_level": "SELF_ONLY",  # the creator's own choice, not the suggestion
        "consent": "on",
        "scheduled_at": _local(2, 9).replace(" ", "T"),
        "time_zone": ZONE,
    }
    answer = await creator.post(f"/review/{first.id}/confirm", data=form)
    assert answer.status_code == 303, answer.text
    assert count(app, Post) == 1
    with app.app.state.services.factory() as session:
        post = session.scalars(select(Post)).one()
        assert post.choices["privacy_level"] == "SELF_ONLY"
    assert prepared_rows(app)[0].state == store.CONFIRMED


async def test_the_same_batch_sent_again_makes_nothing_twice(
    personas: Personas, made: httpx2.Response, media: dict[str, bytes]
) -> None:
    app = personas.app
    assert made.status_code == 200
    _, account_id = account_of(app.app, "demo-private")
    again = await send(
        personas.creator, account_id=account_id, files=folder_files(media, good_and_bad_csv())
    )
    assert again.status_code == 200, again.text
    assert again.text.count("made by an earlier batch") == 3
    assert len(prepared_rows(app)) == 3
    assert count(app, upload_store.Upload) == 3


async def test_another_person_sees_none_of_it_and_cannot_use_the_creators_account(
    personas: Personas, made: httpx2.Response, media: dict[str, bytes]
) -> None:
    app = personas.app
    other = personas.other
    listing = await other.get("/review")
    assert "Behind the scenes" not in listing.text
    for row in prepared_rows(app):
        assert (await other.get(f"/review/{row.id}")).status_code == 404
    _, creators_account = account_of(app.app, "demo-private")
    refused = await send(
        other, account_id=creators_account, files=folder_files(media, good_and_bad_csv())
    )
    assert refused.status_code == 422
    assert "Choose one of your connected accounts" in refused.text
    assert len(prepared_rows(app)) == 3


async def test_thirty_one_rows_refuse_the_batch_and_make_nothing(
    personas: Personas, media: dict[str, bytes]
) -> None:
    app = personas.app
    _, account_id = account_of(app.app, "demo-private")
    lines = "".join(f"monday.mp4,post {i},,\n" for i in range(31))
    files: list[File] = [
        ("csv_file", ("many.csv", ("file,caption,time,privacy\n" + lines).encode(), "text/csv")),
        ("media", ("monday.mp4", media["monday.mp4"], "video/mp4")),
    ]
    answer = await send(personas.creator, account_id=account_id, files=files)
    assert answer.status_code == 422
    assert "more than 30 rows" in answer.text and "Nothing was made" in answer.text
    assert prepared_rows(app) == [] and count(app, upload_store.Upload) == 0


async def test_a_batch_past_the_byte_cap_is_refused_before_it_is_read(
    personas: Personas, media: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = personas.app
    _, account_id = account_of(app.app, "demo-private")
    monkeypatch.setattr(bulk_route, "MAX_BATCH_BYTES", 4096)
    files = folder_files(media, good_and_bad_csv())
    declared = await send(personas.creator, account_id=account_id, files=files)
    assert declared.status_code == 413
    assert "This batch is too large" in declared.text
    # Without a Content-Length the bytes are counted as they arrive.
    csrf = await fetch_csrf(personas.creator, "/review/bulk")
    request = personas.creator.build_request(
        "POST",
        "/review/bulk",
        data={"csrf_token": csrf, "account_id": str(account_id), "time_zone": ZONE},
        files=files,
    )
    body = request.read()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    streamed = await personas.creator.post(
        "/review/bulk",
        content=chunks(),
        headers={"content-type": request.headers["content-type"]},
    )
    assert streamed.status_code == 413, streamed.text
    assert "This batch is too large" in streamed.text
    assert prepared_rows(app) == [] and count(app, upload_store.Upload) == 0


async def test_the_form_offers_the_persons_accounts_and_asks_for_the_browser_zone(
    personas: Personas,
) -> None:
    page = await personas.creator.get("/review/bulk")
    assert page.status_code == 200
    html = page.text
    assert 'enctype="multipart/form-data"' in html
    assert re.search(
        r'<input type="file" id="bulk-folder" name="folder" multiple webkitdirectory', html
    )
    assert 'name="media" multiple' in html
    assert re.search(r'id="time_zone"[^>]*data-detect-zone', html)
    _, account_id = account_of(personas.app.app, "demo-private")
    assert f'<option value="{account_id}" selected>' in html
    assert (await personas.visitor.get("/review/bulk")).status_code in (303, 401)
    link = await personas.creator.get("/review")
    assert 'href="/review/bulk"' in link.text


def test_the_form_parser_keeps_big_files_on_disk_not_in_memory() -> None:
    """The batch may be 2 GB: Starlette's parser must spool each file part to a temporary file
    past a small size (1 MB today). A Starlette upgrade that changes this fails here."""
    from starlette.formparsers import MultiPartParser

    assert MultiPartParser.spool_max_size <= 1024 * 1024
    assert bulk_route.MAX_BATCH_BYTES == 2 * 1024**3
