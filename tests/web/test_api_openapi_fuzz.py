"""Issue 18: Schemathesis against the prepared-posts API's own document, `/api/v1/openapi.json`.

The same harness as tests/web/test_openapi_fuzz.py (the app as a real server beside the
emulator; each answer held to: no 500 and no undocumented 5xx, a documented status, a documented
media type, a body that matches its schema), here with a personal access token of both scopes
on every request. Its owner is signed in with a connected account and has a ready upload, a
prepared post and a post, so valid requests find something. The per-token rate limit is raised
for the run (the 429 itself is tested in test_api_prepared_posts.py); SQLite by default, the
PostgreSQL run is marked slow.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import requests
import schemathesis

from directpost.store.base import utcnow
from tests.fixtures.live import LiveEmulator
from tests.fixtures.media_files import make_video
from tests.web.api_helpers import API, BOTH, account_of, served_app
from tests.web.test_openapi_fuzz import OPERATOR_TOKEN, FuzzTarget, fuzz


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
    ]
)
def api_target(
    request: pytest.FixtureRequest, live_emulator: LiveEmulator, tmp_path: Path
) -> Iterator[FuzzTarget]:
    database_url = (
        request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    )
    overrides: dict[str, Any] = {
        "operator_token": OPERATOR_TOKEN,  # FuzzTarget.signed_in signs in as the operator too
        "api_rate_per_minute": 100_000,
        "api_upload_rate_per_minute": 1_000_000,
    }
    if database_url:
        overrides["database_url"] = database_url
    with served_app(live_emulator, tmp_path, **overrides) as served:
        yield FuzzTarget(base_url=served.base_url, app=served.app)


def _token_session(target: FuzzTarget, tmp_path: Path) -> requests.Session:
    """A session with a token of both scopes whose owner has a connected account, a ready
    upload, a prepared post and a post; it sends the token and never the cookie."""
    from directpost.store import team

    page = target.signed_in()  # connects demo-private
    _, account_id = account_of(target.app, "demo-private")
    with target.app.state.services.factory() as db, db.begin():
        person_id, _ = account_of(target.app, "demo-private")
        secret = team.create_token(
            db, person_id=person_id, name="fuzz", scopes=BOTH, now=utcnow()
        ).secret
    api = target.session()
    api.headers["authorization"] = f"Bearer {secret}"
    base = f"{target.base_url}{API}"
    video = make_video(tmp_path / "seed.mp4", seconds=1.0).read_bytes()

    def ready_upload() -> dict[str, Any]:
        created = api.post(
            f"{base}/uploads",
            json={
                "account_id": account_id,
                "kind": "video",
                "files": [{"name": "s.mp4", "size": len(video)}],
            },
        )
        assert created.status_code == 201, created.text
        upload: dict[str, Any] = created.json()
        put = api.put(
            f"{target.base_url}{upload['files'][0]['url']}", params={"offset": 0}, data=video
        )
        assert put.status_code == 200, put.text
        done = api.post(f"{base}/uploads/{upload['id']}/finish")
        assert done.json()["state"] == "ready", done.text
        return upload

    prepared = api.post(
        f"{base}/prepared-posts",
        json={"account_id": account_id, "upload_id": ready_upload()["id"], "title": "seed"},
    )
    assert prepared.status_code == 201, prepared.text
    ready_upload()  # one more, for the generator to prepare or delete
    upload = ready_upload()
    posted = page.post(
        f"{target.base_url}/posts",
        data={"upload_id": upload["id"], "title": "seed", "privacy_level": "SELF_ONLY"},
        headers={"accept": "application/json"},
    )
    assert posted.status_code == 201, posted.text
    return api


def test_api_requests_get_documented_answers_never_a_500(
    api_target: FuzzTarget, tmp_path: Path
) -> None:
    api = _token_session(api_target, tmp_path)
    document = httpx2.get(f"{api_target.base_url}{API}/openapi.json", trust_env=False).json()
    schema = schemathesis.openapi.from_dict(document)
    token = api.headers["authorization"]
    turns = itertools.cycle([True, True, True, False])

    def run(case: schemathesis.Case) -> None:
        # Schemathesis makes up a bearer token (or none) from the security scheme: most cases
        # carry the real one so they reach the routes; every fourth keeps its own.
        if next(turns):
            case.headers = {**(case.headers or {}), "Authorization": token}
        api_target.call(case, api)

    try:
        fuzz(schema, run)
    finally:
        api_target.report("api v1")
