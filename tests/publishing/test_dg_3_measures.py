"""DG-3: the app's own measures are counted in memory per minute, endpoint and outcome, and
added to the database's rows by every process (an upsert that adds, on SQLite and PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from directpost.publishing.measures import (
    MeasureRecorder,
    endpoint_label,
    flush_all,
    outcome_of,
)
from directpost.store.db import create_engine_for_url, create_session_factory
from directpost.store.measures import BUCKET_COLUMNS, Measure, slot_totals
from directpost.store.migrate import upgrade_database
from directpost.tiktok import Exchange

API = "https://open.tiktokapis.com"
MINUTE = 29_000_000  # some minute since the epoch


def _clock() -> float:
    return MINUTE * 60 + 12.5


def _engine(url: str) -> Engine:
    upgrade_database(url)
    return create_engine_for_url(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'measures.db').as_posix()}"


@pytest.mark.parametrize(
    ("url", "label"),
    [
        (f"{API}/v2/post/publish/status/fetch/", "/v2/post/publish/status/fetch/"),
        (f"{API}/v2/post/publish/creator_info/query/", "/v2/post/publish/creator_info/query/"),
        (f"{API}/v2/oauth/token/", "/v2/oauth/token/"),
        (f"{API}/v2/oauth/revoke/", "/v2/oauth/revoke/"),
        ("https://open-upload.tiktokapis.com/upload/", "upload"),
        ("https://open-upload.tiktokapis.com/video/", "upload"),
        ("http://127.0.0.1:9100/upload/video/", "upload"),
    ],
)
def test_endpoint_labels_keep_api_paths_and_name_every_upload_url_upload_DG_3(
    url: str, label: str
) -> None:
    assert endpoint_label(url) == label


def test_outcomes_tell_answers_errors_server_errors_and_silence_apart_DG_3() -> None:
    def outcome(status: int | None, code: str) -> str:
        return outcome_of(Exchange("POST", f"{API}/v2/post/publish/video/init/", status, code, 0.1))

    assert outcome(200, "ok") == "ok"
    assert outcome(403, "spam_risk_too_many_posts") == "error:spam_risk_too_many_posts"
    assert outcome(429, "rate_limit_exceeded") == "error:rate_limit_exceeded"
    assert outcome(503, "internal_error") == "http_5xx"
    assert outcome(404, "") == "http_404"
    assert outcome(None, "") == "no_answer"


def _rows(engine: Engine) -> dict[tuple[str, str, str], Measure]:
    with create_session_factory(engine)() as session:
        found = session.scalars(select(Measure)).all()
        session.expunge_all()
    return {(m.name, m.label, m.outcome): m for m in found}


def _record_from_two_processes(engine: Engine) -> None:
    first = MeasureRecorder(engine, clock=_clock)
    second = MeasureRecorder(engine, clock=_clock)
    status = f"{API}/v2/post/publish/status/fetch/"
    first.after_request(Exchange("POST", status, 200, "ok", 0.03))
    first.after_request(Exchange("POST", status, 200, "ok", 0.7))
    second.after_request(Exchange("POST", status, 200, "ok", 12.0))
    second.after_request(Exchange("POST", status, 403, "spam_risk_too_many_posts", 0.2))
    second.record("page", "compose", 0.08)
    assert first.pending_count() == 2  # held in memory: nothing written per request
    assert _rows(engine) == {}
    first.flush()
    second.flush()
    first.after_request(Exchange("POST", status, 200, "ok", 0.04))
    first.close()  # a process's end writes what is left
    second.close()


def _check_merged(engine: Engine) -> None:
    rows = _rows(engine)
    ok = rows[("tiktok", "/v2/post/publish/status/fetch/", "ok")]
    assert ok.minute == MINUTE
    assert ok.count == 4  # 2 + 1 from one process, 1 from the other, merged by adding
    assert ok.seconds_sum == pytest.approx(0.03 + 0.7 + 12.0 + 0.04)
    histogram = [getattr(ok, column) for column in BUCKET_COLUMNS]
    # 30 ms and 40 ms ≤ 50 ms; 0.7 s ≤ 1 s; 12 s above the last bound.
    assert histogram == [2, 0, 0, 0, 1, 0, 0, 0, 1]
    assert (
        rows[("tiktok", "/v2/post/publish/status/fetch/", "error:spam_risk_too_many_posts")].count
        == 1
    )
    assert rows[("page", "compose", "ok")].count == 1
    with create_session_factory(engine)() as session:
        totals = slot_totals(
            session, name="tiktok", start_minute=MINUTE - 1, slots=2, step_minutes=1
        )
    assert {(t.slot, t.outcome, t.count) for t in totals} == {
        (1, "ok", 4),
        (1, "error:spam_risk_too_many_posts", 1),
    }


def test_two_recorders_flushing_to_one_sqlite_database_add_up_DG_3(sqlite_url: str) -> None:
    engine = _engine(sqlite_url)
    try:
        _record_from_two_processes(engine)
        _check_merged(engine)
    finally:
        engine.dispose()


def test_two_recorders_flushing_to_one_postgresql_database_add_up_DG_3(postgres_url: str) -> None:
    engine = _engine(postgres_url)
    try:
        _record_from_two_processes(engine)
        _check_merged(engine)
    finally:
        engine.dispose()


def test_a_failed_write_keeps_the_measures_for_the_next_flush_DG_3(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'later.db').as_posix()}"
    engine = create_engine_for_url(url)  # no table yet: the write fails
    recorder = MeasureRecorder(engine, clock=_clock)
    try:
        recorder.record("page", "compose", 0.1)
        assert recorder.flush() is False
        assert recorder.pending_count() == 1
        upgrade_database(url)  # the database is back
        flush_all()  # what a worker's stop does
        assert recorder.pending_count() == 0
        assert _rows(engine)[("page", "compose", "ok")].count == 1
    finally:
        recorder.close()
        engine.dispose()
