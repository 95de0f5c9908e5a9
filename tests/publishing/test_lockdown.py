"""TOS-2 on the server: `directpost lockdown` stops all traffic to TikTok at once, from every
process, revokes every stored token at TikTok and deletes it, holds every post that has not
ended (nothing lost), and `--lift` brings the app back.

The emulator keeps a log of every request an app sent it (`GET /_emulator/requests`): that log,
not the app's own word, shows that nothing left after the switch.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from directpost.publishing import lockdown, pipeline, service, states
from directpost.publishing.gate import LockdownActive, TikTokHooks
from directpost.publishing.wiring import Services, build_services, tiktok_client_factory
from directpost.rules.model import Draft, MediaFacts
from directpost.store import accounts
from directpost.store import lockdown as switch
from directpost.store import posts as store
from tests.fixtures.environment import child_environment
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

#: The requests the lockdown itself sends: revocations (and a refresh before one, if needed).
LOCKDOWN_OWN = ("/v2/oauth/revoke/", "/v2/oauth/token/")
WORKER_THREADS = 4


def _cli(bench: Bench, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "directpost.cli", *args],
        env=child_environment(bench.settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _requests_since(bench: Bench, since: float) -> list[dict[str, Any]]:
    answer = bench.emulator.control(f"requests?since={since}", method="GET")
    return list(answer["requests"])


def _app_tokens(bench: Bench) -> list[dict[str, Any]]:
    key = bench.settings.tiktok_client_key
    return [t for t in bench.emulator.state()["tokens"] if t["client_key"] == key]


def _posts_by_state(bench: Bench) -> dict[str, int]:
    with bench.ctx.factory() as session:
        rows = session.execute(select(store.Post.state, func.count()).group_by(store.Post.state))
        return {str(state): int(count) for state, count in rows}


def _stored_tokens(bench: Bench) -> int:
    with bench.ctx.factory() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    (accounts.TikTokAccount.access_token_enc.is_not(None))
                    | (accounts.TikTokAccount.refresh_token_enc.is_not(None))
                )
            )
            or 0
        )


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


async def _sign_in_and_confirm_again(
    bench: Bench, open_id: str, post_id: int, media: tuple[list[dict[str, Any]], MediaFacts]
) -> None:
    """After the lift: the creator signs in again and confirms the held post as it was."""
    bench.link(open_id)
    fresh = await bench.creator_facts(open_id)
    with bench.ctx.factory() as session, session.begin():
        service.reconfirm_post(
            session,
            settings=bench.settings,
            person_id=bench.person_id,
            post_id=post_id,
            creator=fresh,
            draft=replace(Draft(media=media[1]), privacy_level="PUBLIC_TO_EVERYONE"),
        )


async def test_tos_2_lockdown_stops_a_worker_process_mid_burst_within_one_request(
    bench: Bench, services: Services
) -> None:
    creators = [f"lock-{i}" for i in range(20)]
    media = bench.media_video()
    for open_id in creators:
        bench.emulator.control("creators", {"open_id": open_id, "private_account": False})
        facts = await bench.creator_facts(open_id)
        for _ in range(3):  # within each creator's init budget: only the threads pace the burst
            bench.submit(open_id, facts, media=media, privacy_level="PUBLIC_TO_EVERYONE")
    total = sum(_posts_by_state(bench).values())
    assert total == 60

    worker = subprocess.Popen(  # noqa: ASYNC220 (a real worker process, watched from here)
        [sys.executable, "-m", "directpost.cli", "worker", "--threads", str(WORKER_THREADS)],
        env=child_environment(bench.settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Mid-burst: some posts have reached TikTok, most are still on their way.
        _wait(lambda: len(bench.publishes()) >= 6, 60, "the burst to start")
        # The switch alone, as any process on any machine sets it: nothing else is done yet
        # (no post held, no token revoked), so only the gate can stop the worker.
        with services.factory() as session, session.begin():
            switch.start_lockdown(session, by="tester", reason="suspected key leak")
        flag_at = time.time()  # committed: every gate check from now on sees it
        time.sleep(2.0)  # noqa: ASYNC251 (the worker is another process): it would send now
        assert worker.poll() is None, "the worker must outlive a lockdown"
        sent_after = _requests_since(bench, flag_at)
        # Each worker thread may have had one request past the gate when the switch went on.
        assert len(sent_after) <= WORKER_THREADS, sent_after
        # A job refused by the gate holds its post itself (the rest wait for the command).
        held_by_jobs = _posts_by_state(bench).get(states.HELD, 0)
        assert held_by_jobs > 0

        # The command finishes the lockdown: holds the posts, revokes and deletes the tokens.
        result = _cli(bench, "lockdown", "--by", "tester")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Lockdown was already on" in result.stdout
        after = [r for r in _requests_since(bench, flag_at) if r["path"] not in LOCKDOWN_OWN]
        assert len(after) <= WORKER_THREADS, after

        # Every stored token revoked at TikTok (the emulator) and deleted here.
        tokens = _app_tokens(bench)
        assert {t["open_id"] for t in tokens} >= set(creators)
        assert all(t["revoked"] for t in tokens), [t for t in tokens if not t["revoked"]]
        assert _stored_tokens(bench) == 0
        assert f"{len(creators)} revoked at TikTok" in result.stdout

        # Nothing lost: every post is still here, held or already at an end TikTok reported.
        by_state = _posts_by_state(bench)
        assert sum(by_state.values()) == total
        assert by_state.get(states.HELD, 0) > 0
        assert not set(by_state) & (set(states.DUE_STATES) | states.ACTIVE_STATES), by_state
        held_by_command = by_state[states.HELD] - held_by_jobs
        assert f"Posts held: {held_by_command}\n" in result.stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode(errors="replace")


async def test_tos_2_lift_brings_the_app_back_and_a_held_post_is_sent_once(
    bench: Bench, services: Services
) -> None:
    open_id = "lock-lift"
    bench.emulator.control("creators", {"open_id": open_id, "private_account": False})
    facts = await bench.creator_facts(open_id)
    media = bench.media_video()
    post_id = bench.submit(open_id, facts, media=media, privacy_level="PUBLIC_TO_EVERYONE")

    report = await lockdown.lock_down(services, by="tester")
    assert (report.posts_held, report.tokens_revoked, report.tokens_deleted) == (1, 1, 1)
    held = bench.post(post_id)
    assert held.state == states.HELD
    assert "operator stopped all publishing" in held.reason_text
    # A job that finds it now does nothing: the post is held, nothing is sent.
    since = time.time()
    await bench.drive(post_id)
    assert _requests_since(bench, since) == []

    result = _cli(bench, "lockdown", "--lift", "--by", "tester")
    assert result.returncode == 0, result.stderr
    assert "lifted by tester" in result.stdout
    with bench.ctx.factory() as session:
        assert switch.active_lockdown(session) is None
        assert switch.recent_lockdowns(session)[0].lifted_by == "tester"

    # The creator signs in again and confirms the held post: it is sent, once.
    await _sign_in_and_confirm_again(bench, open_id, post_id, media)
    done = await bench.drive(post_id)
    assert done.state == states.PUBLISHED, done.reason_text
    assert len(bench.publishes(open_id)) == 1


async def test_tos_2_a_held_post_tiktok_already_had_is_followed_not_sent_again(
    bench: Bench, services: Services
) -> None:
    open_id = "lock-twice"
    bench.emulator.control("creators", {"open_id": open_id, "private_account": False})
    bench.emulator.control("progression", {"mode": "polls", "value": 1000})
    facts = await bench.creator_facts(open_id)
    media = bench.media_video()
    post_id = bench.submit(open_id, facts, media=media, privacy_level="PUBLIC_TO_EVERYONE")
    await pipeline.advance(bench.ctx, post_id)  # the init is answered: TikTok has it
    assert bench.post(post_id).state == states.PROCESSING
    await lockdown.lock_down(services, by="tester")
    assert bench.post(post_id).state == states.HELD
    lockdown.lift(services, by="tester")
    await _sign_in_and_confirm_again(bench, open_id, post_id, media)
    await pipeline.advance(bench.ctx, post_id)
    # The publish TikTok already had is followed; no second init left.
    assert bench.post(post_id).state == states.PROCESSING
    assert len(bench.publishes(open_id)) == 1


async def test_tos_2_the_gate_refuses_every_request_of_every_client_while_locked(
    bench: Bench, services: Services
) -> None:
    open_id = "lock-gate"
    bench.emulator.control("creators", {"open_id": open_id})
    token = bench.emulator.token(open_id, client_key=bench.settings.tiktok_client_key)
    # A client as every process builds it: the gate reads the switch before each request.
    make = tiktok_client_factory(bench.settings, hooks=TikTokHooks(services.engine))
    async with make() as client:
        await client.creator_info(access_token=token)  # open: it goes
        with services.factory() as session, session.begin():
            switch.start_lockdown(session, by="tester")
        since = time.time()
        with pytest.raises(LockdownActive):
            await client.creator_info(access_token=token)
        with pytest.raises(LockdownActive):
            await client.refresh_token(refresh_token="anything")
        assert _requests_since(bench, since) == []
        lockdown.lift(services, by="tester")
        await client.creator_info(access_token=token)  # lifted: it goes again


async def test_tos_2_a_revocation_that_fails_is_reported_and_the_token_still_deleted(
    bench: Bench,
) -> None:
    open_id = "lock-fail"
    bench.emulator.control("creators", {"open_id": open_id})
    bench.link(open_id)
    bench.emulator.control("faults", {"endpoint": "revoke", "status": 503, "count": 10})
    try:
        started = time.monotonic()
        result = _cli(bench, "lockdown", "--by", "tester")
    finally:
        bench.emulator.control("faults", method="DELETE")
    assert result.returncode == 1
    assert "revocation FAILED for lock-fail" in result.stderr
    assert "developer portal" in result.stderr
    assert "Traceback" not in result.stderr
    assert _stored_tokens(bench) == 0
    assert time.monotonic() - started < 60
    with bench.ctx.factory() as session:
        on = switch.active_lockdown(session)
    assert on is not None
    failures = on.report["failures"]
    assert isinstance(failures, list) and failures[0]["account_id"] == bench.accounts[open_id]
    assert "lock-fail" not in str(on.report)  # the record outlives a purge: no TikTok names
    # Still locked: a second run finds nothing left to revoke and says so.
    again = _cli(bench, "lockdown")
    assert "Lockdown was already on" in again.stdout
    assert "0 revoked at TikTok" in again.stdout


async def test_tos_2_lift_without_a_lockdown_says_so(bench: Bench) -> None:
    result = _cli(bench, "lockdown", "--lift")
    assert result.returncode == 0
    assert "No lockdown is on" in result.stdout


@pytest.fixture
def services(bench: Bench) -> Iterator[Services]:
    """The services a `directpost lockdown` process builds for the bench's settings."""
    built = build_services(bench.settings)
    yield built
    built.engine.dispose()
