"""The calendar page with 2,000 posts over 5 accounts, against a bare endpoint of the same app.

Three processes on loopback, as `bench/post_page.py` runs them: the TikTok emulator, the app
(one uvicorn worker, SQLite, like `make run`) and this load generator. One person signs in
through the emulator's consent flow; four more accounts are linked to them and 2,000 posts
spread over the shown month are written straight into the database (scheduled ahead of today,
published or failed before it, each with a cover), so the page reads all of them: the month
grid's statement loads every post of its ~35 days and counts every day's caps.

Measures (reported through `bench/_pairs.py`), page and bare alternated in N rounds:

1. `GET /calendar` (month) one request at a time: p95 latency (≤ 150 ms), bare p95 beside it;
2. the same for the week view (every post of 7 days listed, each with its Move form);
3. the month page's median and the app process's CPU per render (from /proc: the figure a
   busy shared machine disturbs least), the bare endpoint's beside them;
4. 4 requests at a time: month page ÷ bare req/s (for scale, no goal).

    python bench/calendar_page.py [--rounds 3]

(Not `bench/calendar.py`: run as a script, that name would hide the standard library's
`calendar`, which http.cookiejar imports.)

`BENCH_QUICK=1`: one round of short periods (~30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(ROOT))

from tests.fixtures.processes import free_port, wait_until_answers  # noqa: E402

from bench._pairs import QUICK, Measure, alternate, cpu_seconds, report  # noqa: E402
from bench.post_page import _settings_env, _spawn  # noqa: E402

POSTS = 2_000
ACCOUNTS = 5
USERS = 4
BARE = ("/healthz", '"ok"')


def _seed(database_url: str, open_id: str, today: date) -> None:
    """Four more accounts for the signed-in person, and 2,000 posts over this month's grid."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from directpost.publishing import states
    from directpost.store import posts as store
    from directpost.store.accounts import TikTokAccount
    from directpost.web.calendar_view import grid_days

    rng = random.Random(17)
    engine = create_engine(database_url)
    days, _first, _last = grid_days("month", today)
    with Session(engine) as session, session.begin():
        first = session.query(TikTokAccount).filter_by(open_id=open_id).one()
        accounts = [first]
        for i in range(ACCOUNTS - 1):
            other = TikTokAccount(
                person_id=first.person_id,
                open_id=f"{open_id}-{i}",
                display_name=f"Bench account {i + 2}",
            )
            session.add(other)
            accounts.append(other)
        session.flush()
        for n in range(POSTS):
            account = accounts[n % ACCOUNTS]
            day = days[n % len(days)]
            when = datetime(day.year, day.month, day.day, 6 + n % 15, rng.choice((0, 15, 30, 45)))
            when = when.replace(tzinfo=UTC)
            upload = f"bench{n:05d}"
            post = store.create_post(
                session,
                person_id=first.person_id,
                account_id=account.id,
                open_id=account.open_id,
                kind="photos",
                mode="direct",
                choices={"title": f"Post {n}", "privacy_level": "SELF_ONLY"},
                media=[{"key": f"uploads/{upload}/cover.jpg", "filename": "cover.jpg"}],
                upload_id=upload,
                scheduled_at=when,
                time_zone="UTC",
                state=states.SCHEDULED,
                due_at=when,
                creator_info={},
                declaration="",
                label="",
            )
            if day < today:  # as the database holds them once the day is gone
                post.state = states.FAILED if n % 10 == 0 else states.PUBLISHED
    engine.dispose()


async def _sign_in(base_url: str, emulator_url: str) -> tuple[httpx2.AsyncClient, str]:
    from tests.fixtures.live import api_sign_in

    open_id = "bench-cal-" + secrets.token_hex(4)
    async with httpx2.AsyncClient(timeout=10) as emulator:
        made = await emulator.post(
            f"{emulator_url}/_emulator/creators",
            json={"open_id": open_id, "nickname": "Bench account 1", "private_account": True},
        )
        made.raise_for_status()
    client = httpx2.AsyncClient(
        base_url=base_url, timeout=30, limits=httpx2.Limits(max_connections=USERS)
    )
    answer = await api_sign_in(client, open_id=open_id)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: HTTP {answer.status_code} {answer.text[:200]}")
    return client, open_id


async def _period(
    client: httpx2.AsyncClient, target: tuple[str, str], seconds: float, users: int
) -> tuple[list[float], int, float]:
    """`users` requests at a time for `seconds`: (latencies, errors, wall seconds)."""
    path, expect = target
    latencies: list[float] = []
    errors = 0
    began = time.perf_counter()
    stop_at = began + seconds

    async def user() -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                answer = await client.get(path)
                ok = answer.status_code == 200 and expect in answer.text
            except httpx2.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    await asyncio.gather(*(user() for _ in range(users)))
    return latencies, errors, time.perf_counter() - began


def _p95_ms(latencies: list[float]) -> float:
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


async def _run(rounds: int) -> None:
    seconds = 3.0 if QUICK else 8.0
    emulator_port, app_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    today = datetime.now(UTC).date()
    month = ("/calendar?tz=UTC&view=month&date=" + today.isoformat(), 'class="cal-grid"')
    week = ("/calendar?tz=UTC&view=week&date=" + today.isoformat(), 'class="cal-grid"')
    errors = 0
    with tempfile.TemporaryDirectory(prefix="bench-calendar-") as data_dir:
        from directpost.web.server import emulator_app_registration

        settings, env = _settings_env(data_dir, emulator_url, app_url)
        emulator = _spawn("serve_emulator", emulator_port, {})
        app = _spawn("serve_app", app_port, env)
        client: httpx2.AsyncClient | None = None
        try:
            wait_until_answers(f"{emulator_url}/_emulator/state")
            httpx2.post(
                f"{emulator_url}/_emulator/apps",
                json=emulator_app_registration(
                    settings,
                    client_key=settings.tiktok_client_key,
                    secret=settings.tiktok_client_secret.get_secret_value(),
                ),
                timeout=10,
            ).raise_for_status()
            wait_until_answers(f"{app_url}/healthz")
            client, open_id = await _sign_in(app_url, emulator_url)
            seeding = time.perf_counter()
            await asyncio.to_thread(_seed, settings.resolved_database_url, open_id, today)
            print(
                f"{POSTS} posts over {ACCOUNTS} accounts seeded in "
                f"{time.perf_counter() - seeding:.1f} s",
                flush=True,
            )
            page = await client.get(month[0])
            shown = page.text.count('class="cal-post"')
            print(f"month page: {len(page.content) // 1024} KiB, {shown} posts listed", flush=True)
            for target in (month, week, BARE):  # warm: templates compiled, pools filled
                await _period(client, target, 1.0, 1)

            loop = asyncio.get_running_loop()
            assert client is not None
            signed_in = client

            medians: dict[str, list[float]] = {"month": [], "week": [], "bare": []}
            cpu_ms: dict[str, list[float]] = {"month": [], "week": [], "bare": []}

            def p95_of(name: str, target: tuple[str, str]) -> float:
                nonlocal errors
                cpu_before = cpu_seconds(app.pid)
                latencies, failed, _took = asyncio.run_coroutine_threadsafe(
                    _period(signed_in, target, seconds, 1), loop
                ).result()
                errors += failed
                if latencies:
                    cpu_ms[name].append((cpu_seconds(app.pid) - cpu_before) * 1000 / len(latencies))
                    medians[name].append(sorted(latencies)[len(latencies) // 2] * 1000)
                return _p95_ms(latencies)

            def rps_of(target: tuple[str, str]) -> float:
                nonlocal errors
                latencies, failed, took = asyncio.run_coroutine_threadsafe(
                    _period(signed_in, target, seconds, USERS), loop
                ).result()
                errors += failed
                return len(latencies) / took

            month_p95, bare_p95, _r1 = await asyncio.to_thread(
                alternate,
                rounds,
                baseline=lambda: p95_of("bare", BARE),
                project=lambda: p95_of("month", month),
            )
            week_p95, bare_p95_w, _r2 = await asyncio.to_thread(
                alternate,
                rounds,
                baseline=lambda: p95_of("bare", BARE),
                project=lambda: p95_of("week", week),
            )
            month_rps, bare_rps, rps_ratios = await asyncio.to_thread(
                alternate, rounds, baseline=lambda: rps_of(BARE), project=lambda: rps_of(month)
            )
        finally:
            if client is not None:
                await client.aclose()
            app.send_signal(signal.SIGINT)
            emulator.terminate()
            for process in (app, emulator):
                process.wait(30)
    if errors:
        print(f"warning: {errors} failed requests", flush=True)
    measures = [
        Measure(
            f"month page, {POSTS} posts / {ACCOUNTS} accounts: p95 (1 at a time)",
            "ms",
            month_p95,
            bare_p95,  # the bare endpoint measured in the same run, for scale
            goal=("<=", 150.0),
        ),
        Measure("week page: p95 (1 at a time)", "ms", week_p95, bare_p95_w, goal=("<=", 150.0)),
        Measure("month page: median (1 at a time)", "ms", medians["month"], medians["bare"]),
        Measure("app CPU per month render (1 at a time)", "ms", cpu_ms["month"], cpu_ms["bare"]),
        Measure(f"month page ÷ bare, {USERS} at a time", "req/s", month_rps, bare_rps, rps_ratios),
    ]
    report("calendar_page", measures, posts=POSTS, accounts=ACCOUNTS, quick=QUICK, errors=errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=1 if QUICK else 3)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    asyncio.run(_run(args.rounds))


if __name__ == "__main__":
    main()
