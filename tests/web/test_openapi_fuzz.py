"""Issue 15, item 10: Schemathesis against the OpenAPI document the app serves, over real HTTP.

The app runs as a real server (uvicorn in a thread) beside the emulator (a real server too), on
SQLite and on PostgreSQL. Each suite generates requests from `/openapi.json` and holds every
answer to these checks: no 500 and no undocumented 5xx (`no_server_error`), a documented status
(`status_code_conformance`), a documented media type and a body that matches its schema
(`content_type_conformance`, `response_schema_conformance`).

- signed out: every operation, every other request with no cookie at all, the rest with a
  visitor's session and its CSRF token (so requests reach the routes past the CSRF check);
- signed in: a creator with a connected account and a ready upload and post to find, who is
  also the operator (so the operator's pages are exercised past their sign-in form); the
  session cookie and its CSRF token go with every request. The operations that end the
  session or wipe the person (`SESSION_ENDING`) are left out here: after the first one every
  further request would only test "signed out" again;
- session-ending: those operations alone, each example on a fresh sign-in (a lockdown is
  lifted after each), so each one runs against a live session.

Examples are bounded (`MAX_EXAMPLES` per operation, derandomised so CI is repeatable); the
PostgreSQL runs are marked `slow` and `postgres`. Each suite prints the requests it sent and
their statuses (`-s` shows them); the figures are in docs/api-contract.md.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from directpost.publishing.lockdown import lift
from directpost.web.security import SESSION_COOKIE
from tests.fixtures.live import LiveEmulator
from tests.fixtures.media_files import make_video
from tests.web.api_helpers import served_app

#: Examples per operation and suite (derandomised: CI repeats the same requests). A deeper,
#: random hunt: DIRECTPOST_FUZZ_EXAMPLES=300 pytest tests/web/test_openapi_fuzz.py
EXPLORE = os.environ.get("DIRECTPOST_FUZZ_EXAMPLES", "")
MAX_EXAMPLES = int(EXPLORE or 40)


def no_server_error(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """Schemathesis' `not_a_server_error`, except for a 502 or 503 the operation documents:
    TikTok unreachable or paused, the creator's TikTok budget spent for the minute (CAP-4),
    the database down. Those are answers of the contract, each with a sentence saying what to
    do; a 500 (or any undocumented 5xx) is always a failure."""
    status = response.status_code
    documented = str(status) in case.operation.responses.status_codes
    if status >= 500 and not (status in (502, 503) and documented):
        raise ServerError(operation=case.operation.label, status_code=status)


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Operations that end the session or delete the person: run alone, each on a fresh sign-in.
SESSION_ENDING = [
    ("POST", "/auth/sign-out"),
    ("POST", "/me/data/delete"),
    ("POST", "/accounts/{account_id}/disconnect"),
    ("POST", "/operator/sign-out"),
    ("POST", "/operator/lockdown"),
    ("POST", "/operator/lockdown/lift"),
]
#: Each request asks for one of the app's two shapes, or leaves the choice to it.
ACCEPTS = ("*/*", "application/json", "text/html")
OPERATOR_TOKEN = "fuzz-operator-" + "x" * 32
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    # No shrinking: each step would be another round trip; the failing request is reported.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass
class FuzzTarget:
    """The app as a real server, and what the suite sent it."""

    base_url: str
    app: Any
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    _accepts: Iterator[str] = field(default_factory=lambda: itertools.cycle(ACCEPTS))

    def session(self) -> requests.Session:
        """A `requests` session that ignores proxy settings (everything stays on loopback)."""
        session = requests.Session()
        session.trust_env = False
        return session

    def signed_in(self) -> requests.Session:
        """A session signed in as demo-private (through the emulator's consent form) and as
        the operator, with its CSRF token on every request."""
        with httpx2.Client(base_url=self.base_url, timeout=30, trust_env=False) as client:
            start = client.get("/auth/tiktok/start")
            assert start.status_code == 303, start.text
            authorize = urlsplit(start.headers["location"])
            form = dict(parse_qsl(authorize.query))
            form.update({"open_id": "demo-private", "decision": "allow"})
            for scope in form.get("scope", "").split(","):
                form[f"scope:{scope}"] = "on"
            consent = httpx2.post(
                f"{authorize.scheme}://{authorize.netloc}{authorize.path}",
                data=form,
                trust_env=False,
                timeout=30,
            )
            callback = urlsplit(consent.headers["location"])
            signed = client.get(f"{callback.path}?{callback.query}")
            assert signed.status_code == 303, signed.text
            csrf = _csrf(client.get("/accounts").text)
            operator = client.post(
                "/operator/sign-in", data={"csrf_token": csrf, "token": OPERATOR_TOKEN}
            )
            assert operator.status_code == 303, operator.text
            csrf = _csrf(client.get("/accounts").text)
            cookie = client.cookies[SESSION_COOKIE]
        session = self.session()
        session.cookies.set(SESSION_COOKIE, cookie)
        session.headers["x-csrf-token"] = csrf
        return session

    def call(self, case: schemathesis.Case, session: requests.Session) -> None:
        """Send one generated request and check its answer."""
        self.sent[f"{case.method} {case.path}"] += 1
        response = case.call_and_validate(
            base_url=self.base_url,
            session=session,
            headers={"accept": next(self._accepts)},
            checks=CHECKS,
            timeout=60,
        )
        self.statuses[response.status_code] += 1

    def report(self, suite: str) -> None:
        total = sum(self.sent.values())
        print(  # the figures docs/api-contract.md quotes
            f"\n[openapi fuzz] {suite}: {total} requests over {len(self.sent)} operations; "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@contextmanager
def _running_app(
    live_emulator: LiveEmulator, data_dir: Path, database_url: str | None
) -> Iterator[FuzzTarget]:
    overrides: dict[str, Any] = {"operator_token": OPERATOR_TOKEN}
    if database_url:
        overrides["database_url"] = database_url
    with served_app(live_emulator, data_dir, **overrides) as served:
        yield FuzzTarget(base_url=served.base_url, app=served.app)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
    ]
)
def fuzz_target(
    request: pytest.FixtureRequest, live_emulator: LiveEmulator, tmp_path: Path
) -> Iterator[FuzzTarget]:
    database_url = (
        request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    )
    with _running_app(live_emulator, tmp_path, database_url) as target:
        yield target


@pytest.fixture
def api_schema(fuzz_target: FuzzTarget) -> Any:
    document = httpx2.get(f"{fuzz_target.base_url}/openapi.json", trust_env=False).json()
    return schemathesis.openapi.from_dict(document)


@pytest.fixture
def creator(fuzz_target: FuzzTarget, tmp_path: Path) -> requests.Session:
    """Signed in, with a ready upload and a queued post (ids the generator may land on)."""
    session = fuzz_target.signed_in()
    video = make_video(tmp_path / "seed.mp4", seconds=1.0).read_bytes()
    base = fuzz_target.base_url
    created = session.post(
        f"{base}/uploads",
        json={"kind": "video", "files": [{"name": "seed.mp4", "size": len(video)}]},
    )
    assert created.status_code == 201, created.text
    upload = created.json()
    file_url = f"{base}/uploads/{upload['id']}/files/{upload['files'][0]['id']}?offset=0"
    assert session.put(file_url, data=video).status_code == 200
    assert session.post(f"{base}/uploads/{upload['id']}/finish").json()["state"] == "ready"
    posted = session.post(
        f"{base}/posts",
        data={"upload_id": upload["id"], "title": "seed", "privacy_level": "SELF_ONLY"},
        headers={"accept": "application/json"},
    )
    assert posted.status_code == 201, posted.text
    return session


def fuzz(
    schema: Any, run: Callable[[schemathesis.Case], None], *, only: list[str] | None = None
) -> None:
    """Run each operation's generated requests (valid ones and malformed ones) through `run`;
    fail with every operation whose answers broke a check. `only`: these operations alone."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @FUZZ_SETTINGS
        @given(case=strategy)
        def one(case: schemathesis.Case) -> None:
            run(case)

        try:
            one()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are reported
            failures.append(f"--- {operation.label}\n{exc}")
    assert not failures, "\n".join(failures)


ENDING = [f"{method} {path}" for method, path in SESSION_ENDING]


def _all_but_ending(schema: Any) -> list[str]:
    labels = [result.ok().label for result in schema.get_all_operations()]
    return [label for label in labels if label not in ENDING]


def test_signed_out_requests_get_documented_answers_never_a_500(
    fuzz_target: FuzzTarget, api_schema: Any
) -> None:
    # Every other request carries a visitor session's CSRF token, so state-changing requests
    # get past the CSRF check to the routes themselves (the rest test the check).
    with httpx2.Client(base_url=fuzz_target.base_url, timeout=30, trust_env=False) as client:
        csrf = _csrf(client.get("/operator").text)
        cookie = client.cookies[SESSION_COOKIE]
    visitor = fuzz_target.session()
    visitor.cookies.set(SESSION_COOKIE, cookie)
    visitor.headers["x-csrf-token"] = csrf
    sessions = itertools.cycle([visitor, fuzz_target.session()])
    fuzz(api_schema, lambda case: fuzz_target.call(case, next(sessions)))


def test_signed_in_requests_get_documented_answers_never_a_500(
    fuzz_target: FuzzTarget, api_schema: Any, creator: requests.Session
) -> None:
    fuzz(
        api_schema,
        lambda case: fuzz_target.call(case, creator),
        only=_all_but_ending(api_schema),
    )


def test_session_ending_requests_get_documented_answers_never_a_500(
    fuzz_target: FuzzTarget, api_schema: Any
) -> None:
    def run(case: schemathesis.Case) -> None:
        try:
            fuzz_target.call(case, fuzz_target.signed_in())
        finally:
            lift(fuzz_target.app.state.services, by="openapi fuzz suite")

    fuzz(api_schema, run, only=ENDING)


@pytest.fixture(autouse=True)
def _print_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    target = request.node.funcargs.get("fuzz_target")
    if isinstance(target, FuzzTarget):
        target.report(request.node.name)
