"""The Post page against a bare endpoint of the same app: throughput, latency, CPU, growth.

Three processes on loopback: the TikTok emulator, the app (one uvicorn worker, SQLite, like
`make run`), and this load generator. Creators sign in through the emulator's consent flow,
each with its own cookie jar. Every `GET /compose` makes the app ask the emulator for a fresh
creator_info (UX-1) and spend the shared creator_info budget (CAP-4); `GET /healthz` (the bare
endpoint) touches neither the database nor TikTok.

Measures (reported through `bench/_pairs.py`):

1. closed loop, 50 users: page and bare alternated in N rounds; ratio page/bare req/s (≥ 0.5);
2. open loop, 50 users with think time at an offered 50 renders/s: p99 latency, measured from
   each request's scheduled moment, so a slow answer cannot hide the requests it delayed (≤ 100
   ms); the bare endpoint under the same schedule is shown beside it;
3. the app process's CPU per render, from /proc/<pid>/stat over the open-loop periods (≤ 6 ms);
4. growth: the page alone at 1, 50 and 200 users (closed loop), in the JSON extra `growth`.

The creator_info limit (20/min per token, as at TikTok) is raised for this run, both in the
emulator and in the app's shared budget (still spent and recorded on every render): the
benchmark measures the page's own cost, not how fast TikTok says "slow down".

    python bench/post_page.py [--rounds 3] [--app-src DIR] [--profile FILE]

`BENCH_QUICK=1`: one round, short periods, growth at 1 and 50 users only (~40 s). `--app-src`
runs the app from another source tree (a same-run baseline of older code); `--profile` writes a
cProfile of the app process (its CPU figures are then inflated by the profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(ROOT))

from tests.fixtures.processes import free_port, wait_until_answers  # noqa: E402

from bench._pairs import QUICK, Measure, alternate, report  # noqa: E402

PAGE = ("/compose", 'data-testid="creator-nickname"')
BARE = ("/healthz", '"ok"')
USERS = 50
OFFERED_RPS = 50.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def serve_emulator(port: int) -> None:
    """Subprocess entry: the emulator with creator_info's per-token limit lifted."""
    from directpost.emulator.config import EmulatorConfig
    from directpost.emulator.server import serve

    config = EmulatorConfig()
    config.rate_limits = {**config.rate_limits, "creator_info": 1_000_000}
    serve("127.0.0.1", port, config)


def serve_app(port: int) -> None:
    """Subprocess entry: the app from DIRECTPOST_* settings in the environment."""
    from directpost.config import Settings
    from directpost.store.migrate import upgrade_database
    from directpost.web.app import create_app
    from directpost.web.server import serve_in_foreground

    settings = Settings(_env_file=None)
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    # The shared creator_info budget (CAP-4) is still spent and recorded on every render, as in
    # production; only its limit is lifted, like the emulator's, for this measurement.
    app.state.services.budgets.limits["creator_info"] = 1_000_000
    profile_to = os.environ.get("POST_PAGE_PROFILE")
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        # Served exactly as `directpost serve` / `make run` serve it (socket options included).
        serve_in_foreground(app, "127.0.0.1", port, log_level="warning")
    except KeyboardInterrupt:  # the benchmark's way of stopping it (see `_run`)
        pass
    finally:
        if profiler is not None and profile_to:
            profiler.disable()
            profiler.dump_stats(profile_to)


def _spawn(entry: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    code = f"import bench.post_page as b; b.{entry}({port})"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces: skip past it
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def _sign_in(base_url: str, emulator_url: str) -> httpx2.AsyncClient:
    """A client with its own session, signed in as a new private creator."""
    from tests.fixtures.live import api_sign_in

    open_id = "bench-" + secrets.token_hex(5)
    async with httpx2.AsyncClient(timeout=10) as emulator:
        made = await emulator.post(
            f"{emulator_url}/_emulator/creators",
            json={"open_id": open_id, "nickname": f"Bench {open_id}", "private_account": True},
        )
        made.raise_for_status()
    client = httpx2.AsyncClient(
        base_url=base_url, timeout=30, limits=httpx2.Limits(max_connections=4)
    )
    answer = await api_sign_in(client, open_id=open_id)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: HTTP {answer.status_code} {answer.text[:200]}")
    return client


@dataclass
class Period:
    """What one measured period saw: latencies of good answers, errors, wall time, app CPU."""

    latencies: list[float]
    errors: int
    seconds: float
    cpu_s: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s * 1000 / len(self.latencies) if self.latencies else float("nan")


async def _ask(client: httpx2.AsyncClient, path: str, expect: str) -> bool:
    try:
        answer = await client.get(path)
    except httpx2.HTTPError:
        return False
    return answer.status_code == 200 and expect in answer.text


async def _measured(app_pid: int, run: Callable[[], Awaitable[tuple[list[float], int]]]) -> Period:
    cpu_before, began = _cpu_seconds(app_pid), time.perf_counter()
    latencies, errors = await run()
    took, cpu_after = time.perf_counter() - began, _cpu_seconds(app_pid)
    return Period(latencies, errors, took, cpu_after - cpu_before)


async def closed_loop(
    app_pid: int, clients: list[httpx2.AsyncClient], target: tuple[str, str], seconds: float
) -> Period:
    """Each user asks again as soon as its answer is in, for `seconds`."""
    path, expect = target

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        stop_at = time.perf_counter() + seconds

        async def user(client: httpx2.AsyncClient) -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                if await _ask(client, path, expect):
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        await asyncio.gather(*(user(c) for c in clients))
        return latencies, errors

    return await _measured(app_pid, run)


async def open_loop(
    app_pid: int,
    clients: list[httpx2.AsyncClient],
    target: tuple[str, str],
    seconds: float,
    *,
    rate: float,
    seed: int,
) -> Period:
    """Each user asks on its own schedule (exponential think time, all users together `rate`
    a second), whatever the answers do; latency counts from the scheduled moment, so requests
    delayed behind a slow one are counted as late (no coordinated omission)."""
    path, expect = target
    per_user = rate / len(clients)

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        start = time.perf_counter()
        stop_at = start + seconds

        async def user(client: httpx2.AsyncClient, rng: random.Random) -> None:
            nonlocal errors
            due = start + rng.expovariate(per_user)
            while due < stop_at:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if await _ask(client, path, expect):
                    latencies.append(time.perf_counter() - due)
                else:
                    errors += 1
                due += rng.expovariate(per_user)

        await asyncio.gather(
            *(user(c, random.Random(seed * 1000 + i)) for i, c in enumerate(clients))
        )
        return latencies, errors

    return await _measured(app_pid, run)


def _settings_env(data_dir: str, emulator_url: str, app_url: str) -> tuple[Any, dict[str, str]]:
    from cryptography.fernet import Fernet
    from tests.fixtures.live import make_app_settings

    settings = make_app_settings(Path(data_dir), emulator_url=emulator_url, public_base_url=app_url)
    env = {
        "DIRECTPOST_ENVIRONMENT": "test",
        "DIRECTPOST_DATA_DIR": data_dir,
        "DIRECTPOST_DATABASE_URL": settings.resolved_database_url,
        "DIRECTPOST_TIKTOK_CLIENT_KEY": settings.tiktok_client_key,
        "DIRECTPOST_TIKTOK_CLIENT_SECRET": settings.tiktok_client_secret.get_secret_value(),
        "DIRECTPOST_TIKTOK_AUTH_BASE_URL": emulator_url,
        "DIRECTPOST_TIKTOK_API_BASE_URL": emulator_url,
        "DIRECTPOST_PUBLIC_BASE_URL": app_url,
        "DIRECTPOST_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DIRECTPOST_SESSION_SECRET": secrets.token_urlsafe(32),
    }
    return settings, env


def _check_errors(label: str, periods: list[Period]) -> None:
    errors = sum(p.errors for p in periods)
    if errors:
        print(f"warning: {label}: {errors} failed requests", flush=True)


async def _run(rounds: int, app_src: str | None, profile: str | None) -> None:
    from directpost.web.server import emulator_app_registration

    closed_s, open_s, growth_s = (3.0, 5.0, 3.0) if QUICK else (6.0, 8.0, 5.0)
    growth_users = (1, 50) if QUICK else (1, 50, 200)
    emulator_port, app_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    with tempfile.TemporaryDirectory(prefix="bench-post-page-") as data_dir:
        settings, env = _settings_env(data_dir, emulator_url, app_url)
        if app_src:
            env["PYTHONPATH"] = os.pathsep.join([app_src, os.environ.get("PYTHONPATH", "")])
        if profile:
            env["POST_PAGE_PROFILE"] = profile  # made absolute by `main`
        emulator = _spawn("serve_emulator", emulator_port, {})
        app = _spawn("serve_app", app_port, env)
        clients: list[httpx2.AsyncClient] = []
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
            # One at a time: concurrent sign-in callbacks fail on SQLite ("database is
            # locked": the callback reads, then writes, and SQLite cannot upgrade that read).
            signing_in = time.perf_counter()
            while len(clients) < max(growth_users):
                clients.append(await _sign_in(app_url, emulator_url))
            print(
                f"{len(clients)} users signed in in {time.perf_counter() - signing_in:.1f} s",
                flush=True,
            )
            users = clients[:USERS]
            # Warm up both paths (imports, template compilation, connection pools).
            await closed_loop(app.pid, users, PAGE, 1.0)
            await closed_loop(app.pid, users, BARE, 1.0)

            closed: dict[str, list[Period]] = {"page": [], "bare": []}

            def closed_round(name: str, target: tuple[str, str]) -> Callable[[], float]:
                def one() -> float:
                    period = asyncio.run_coroutine_threadsafe(
                        closed_loop(app.pid, users, target, closed_s), loop
                    ).result()
                    closed[name].append(period)
                    return period.rps

                return one

            opened: dict[str, list[Period]] = {"page": [], "bare": []}

            def open_round(name: str, target: tuple[str, str]) -> Callable[[], float]:
                def one() -> float:
                    seed = len(opened[name])  # the same schedule for page and bare in a round
                    period = asyncio.run_coroutine_threadsafe(
                        open_loop(app.pid, users, target, open_s, rate=OFFERED_RPS, seed=seed),
                        loop,
                    ).result()
                    opened[name].append(period)
                    return period.percentile_ms(0.99)

                return one

            # `alternate` is synchronous: it drives the load on this loop from a worker thread.
            loop = asyncio.get_running_loop()
            page_rps, bare_rps, rps_ratios = await asyncio.to_thread(
                alternate,
                rounds,
                baseline=closed_round("bare", BARE),
                project=closed_round("page", PAGE),
            )
            page_p99, bare_p99, _ratios = await asyncio.to_thread(
                alternate,
                rounds,
                baseline=open_round("bare", BARE),
                project=open_round("page", PAGE),
            )
            growth = []
            for n in growth_users:
                period = await closed_loop(app.pid, clients[:n], PAGE, growth_s)
                growth.append(
                    {
                        "users": n,
                        "rps": round(period.rps, 1),
                        "p50_ms": round(period.percentile_ms(0.5), 2),
                        "p99_ms": round(period.percentile_ms(0.99), 2),
                        "cpu_ms_per_render": round(period.cpu_ms_per_request, 2),
                        "errors": period.errors,
                    }
                )
        finally:
            for client in clients:
                await client.aclose()
            # SIGINT, not SIGTERM, for the app: uvicorn re-raises the signal it stopped on, and
            # only SIGINT's default (KeyboardInterrupt) lets `serve_app` write its profile.
            app.send_signal(signal.SIGINT)
            emulator.terminate()
            for process in (app, emulator):
                process.wait(30)
    _check_errors("closed loop", closed["page"] + closed["bare"])
    _check_errors("open loop", opened["page"] + opened["bare"])
    measures = [
        Measure(
            f"closed loop {USERS} users: page ÷ bare",
            "req/s",
            page_rps,
            bare_rps,
            rps_ratios,
            goal=(">=", 0.5),
        ),
        Measure(
            f"open loop {USERS} users, {OFFERED_RPS:g}/s offered: page p99",
            "ms",
            page_p99,
            bare_p99,  # the bare endpoint under the same schedule, for scale (no ratio goal)
            goal=("<=", 100.0),
        ),
        Measure(
            "app CPU per render (open loop)",
            "ms",
            [p.cpu_ms_per_request for p in opened["page"]],
            [p.cpu_ms_per_request for p in opened["bare"]],
            goal=("<=", 6.0),
        ),
    ]
    print("growth (page alone, closed loop):")
    for row in growth:
        print(
            f"  {row['users']:>4} users: {row['rps']} req/s, p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, {row['cpu_ms_per_render']} ms CPU/render"
        )
    report("post_page", measures, growth=growth, quick=QUICK)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=1 if QUICK else 3)
    parser.add_argument("--app-src", help="run the app from this source tree (a baseline)")
    parser.add_argument("--profile", help="write a cProfile of the app process to this file")
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    profile = str(Path(args.profile).resolve()) if args.profile else None
    asyncio.run(_run(args.rounds, args.app_src, profile))


if __name__ == "__main__":
    main()
