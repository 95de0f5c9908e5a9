"""The Post page under 50 concurrent signed-in users, against a bare endpoint of the same app.

Three processes on loopback: the TikTok emulator, the app (one uvicorn worker, SQLite, like
`make run`), and this load generator. 50 creators sign in through the emulator's consent flow,
each with its own cookie jar; then each user requests `GET /compose` in a closed loop for the
measured period (every request makes the app ask the emulator for creator_info, UX-1), and then
`GET /healthz` the same way (the bare endpoint: no database, no TikTok call).

The creator_info limit (20/min per token, as at TikTok) is raised for this run, both in the
emulator and in the app's shared budget (which is still spent and recorded on every render): the
benchmark measures the page's own cost, not how fast TikTok says "slow down".

    python bench/post_page.py [--users 50] [--seconds 10]

Prints figures per endpoint; the last line is one JSON object:
{"users", "seconds", "page": {"rps", "p50_ms", "p99_ms", "errors"}, "bare": {...},
 "single_user": {"page_p50_ms", "bare_p50_ms"}, "rps_ratio", "p50_ratio"}  (ratio = page / bare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_emulator(port: int) -> None:
    """Subprocess entry: the emulator with creator_info's per-token limit lifted."""
    from directpost.emulator.config import EmulatorConfig
    from directpost.emulator.server import serve

    config = EmulatorConfig()
    config.rate_limits = {**config.rate_limits, "creator_info": 1_000_000}
    serve("127.0.0.1", port, config)


def serve_app(port: int) -> None:
    """Subprocess entry: the app from DIRECTPOST_* settings in the environment."""
    from dataclasses import replace

    from directpost.config import Settings
    from directpost.publishing.budgets import LIMITS, Budgets, DatabaseBudgetBackend
    from directpost.store.migrate import upgrade_database
    from directpost.web.app import create_app
    from directpost.web.server import serve_in_foreground

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    upgrade_database(settings.resolved_database_url)
    app = create_app(settings)
    # The shared creator_info budget (CAP-4) is still spent and recorded on every render, as in
    # production; only its limit is lifted, like the emulator's, for this measurement.
    services = app.state.services
    app.state.services = replace(
        services,
        budgets=Budgets(
            DatabaseBudgetBackend(services.factory),
            limits={**LIMITS, "creator_info": 1_000_000},
        ),
    )
    # Served exactly as `directpost serve` / `make run` serve it (socket options included).
    serve_in_foreground(app, "127.0.0.1", port, log_level="warning")


def _spawn(entry: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    code = f"import bench.post_page as b; b.{entry}({port})"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )


def _wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx2.get(url, timeout=2).status_code < 500:
                return
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up within {timeout} s")
        time.sleep(0.1)


async def _sign_in(base_url: str, emulator_url: str) -> httpx2.AsyncClient:
    """A client with its own session, signed in as a new private creator."""
    from tests.fixtures.live import api_sign_in

    open_id = "bench-" + secrets.token_hex(5)
    httpx2.post(
        f"{emulator_url}/_emulator/creators",
        json={"open_id": open_id, "nickname": f"Bench {open_id}", "private_account": True},
        timeout=10,
    ).raise_for_status()
    client = httpx2.AsyncClient(
        base_url=base_url, timeout=30, limits=httpx2.Limits(max_connections=4)
    )
    answer = await api_sign_in(client, open_id=open_id)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: HTTP {answer.status_code} {answer.text[:200]}")
    return client


async def _load(
    clients: list[httpx2.AsyncClient], path: str, seconds: float, expect: str
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def user(client: httpx2.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            answer = await client.get(path)
            elapsed = time.perf_counter() - started
            if answer.status_code == 200 and expect in answer.text:
                latencies.append(elapsed)
            else:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(user(c) for c in clients))
    took = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": round(len(ordered) / took, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2) if ordered else None,
    }


async def _run(users: int, seconds: float) -> dict[str, Any]:
    from cryptography.fernet import Fernet
    from tests.fixtures.live import make_app_settings

    from directpost.web.server import emulator_app_registration

    emulator_port, app_port = _free_port(), _free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    with tempfile.TemporaryDirectory(prefix="bench-post-page-") as data_dir:
        settings = make_app_settings(
            Path(data_dir), emulator_url=emulator_url, public_base_url=app_url
        )
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
        processes = [
            _spawn("serve_emulator", emulator_port, {}),
            _spawn("serve_app", app_port, env),
        ]
        clients: list[httpx2.AsyncClient] = []
        try:
            _wait_until_up(f"{emulator_url}/_emulator/state")
            httpx2.post(
                f"{emulator_url}/_emulator/apps",
                json=emulator_app_registration(
                    settings,
                    client_key=settings.tiktok_client_key,
                    secret=settings.tiktok_client_secret.get_secret_value(),
                ),
                timeout=10,
            ).raise_for_status()
            _wait_until_up(f"{app_url}/healthz")
            clients = [await _sign_in(app_url, emulator_url) for _ in range(users)]
            # Warm up both paths (imports, template compilation, connection pools).
            await _load(clients, "/compose", 1.0, 'data-testid="creator-nickname"')
            await _load(clients, "/healthz", 1.0, "ok")
            page = await _load(clients, "/compose", seconds, 'data-testid="creator-nickname"')
            bare = await _load(clients, "/healthz", seconds, "ok")
            # One user alone: the latency of a request when nothing queues (shows per-request
            # stalls such as Nagle + delayed ACK, which the 50-user throughput hides).
            single_page = await _load(
                clients[:1], "/compose", 3.0, 'data-testid="creator-nickname"'
            )
            single_bare = await _load(clients[:1], "/healthz", 3.0, "ok")
        finally:
            for client in clients:
                await client.aclose()
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)
    return {
        "users": users,
        "seconds": seconds,
        "page": page,
        "bare": bare,
        "single_user": {"page_p50_ms": single_page["p50_ms"], "bare_p50_ms": single_bare["p50_ms"]},
        "rps_ratio": round(page["rps"] / bare["rps"], 3) if bare["rps"] else None,
        "p50_ratio": round(page["p50_ms"] / bare["p50_ms"], 2)
        if page["p50_ms"] and bare["p50_ms"]
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    result = asyncio.run(_run(args.users, args.seconds))
    for name in ("page", "bare"):
        figures = result[name]
        label = "GET /compose (fresh creator_info)" if name == "page" else "GET /healthz (bare)"
        print(
            f"{label}: {figures['rps']} req/s, p50 {figures['p50_ms']} ms, "
            f"p99 {figures['p99_ms']} ms, {figures['requests']} ok, {figures['errors']} errors"
        )
    print(f"page/bare: throughput ratio {result['rps_ratio']}, p50 ratio {result['p50_ratio']}")
    single = result["single_user"]
    print(
        f"one user alone: page p50 {single['page_p50_ms']} ms, bare p50 {single['bare_p50_ms']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
