"""`/metrics`: every family appears after real traffic through the app to the live emulator
(sign-in, Post page renders, a TikTok error injected by the emulator's fault control, a budget
wait, a post queued, webhook deliveries), only for the operator's token; and in multiprocess
mode one scrape adds up every process's counts."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from directpost import tiktok
from directpost.store.migrate import upgrade_database
from directpost.web.app import create_app
from tests.fixtures.live import (
    AppClient,
    LiveEmulator,
    api_sign_in,
    fetch_csrf,
    make_app_settings,
    register_with_emulator,
)
from tests.fixtures.media_files import make_video
from tests.web.helpers import upload_ready_video

pytestmark = pytest.mark.anyio

PUBLIC = "http://127.0.0.1:8996"  # ASGI only: nothing listens here
CREATOR_INFO = "/v2/post/publish/creator_info/query/"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def metered_app(live_emulator: LiveEmulator, tmp_path: Path) -> AsyncIterator[AppClient]:
    """The app in-process with an operator token, its TikTok client on the live emulator."""
    settings = make_app_settings(
        tmp_path,
        emulator_url=live_emulator.base_url,
        public_base_url=PUBLIC,
        operator_token=secrets.token_urlsafe(24),
    )
    upgrade_database(settings.resolved_database_url)
    register_with_emulator(live_emulator, settings, webhooks=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=PUBLIC, timeout=30
        ) as client,
    ):
        yield AppClient(client=client, app=app, settings=settings, emulator=live_emulator)


def _parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _scrape(app: AppClient) -> Samples:
    token = app.settings.operator_token.get_secret_value()
    answer = await app.client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return _parse(answer.text)


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _webhook(app: AppClient, body: bytes, *, secret: str | None = None) -> dict[str, str]:
    secret = secret or app.settings.tiktok_client_secret.get_secret_value()
    return {
        "TikTok-Signature": tiktok.sign(body, secret, timestamp=int(time.time())),
        "content-type": "application/json",
    }


async def test_metrics_is_refused_without_the_operator_token(metered_app: AppClient) -> None:
    client = metered_app.client
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert "directpost_" not in wrong.text
    await _scrape(metered_app)  # the token opens it


async def test_metrics_does_not_exist_without_an_operator_token(app_client: AppClient) -> None:
    answer = await app_client.client.get("/metrics", headers={"authorization": "Bearer x"})
    assert answer.status_code == 404
    assert "directpost_" not in answer.text


async def test_each_metric_family_counts_real_traffic(
    metered_app: AppClient, tmp_path: Path
) -> None:
    app, client = metered_app, metered_app.client
    before = await _scrape(app)

    # Sign-in: the OAuth token exchange and user info at TikTok, answered.
    assert (await api_sign_in(client, open_id="demo-private")).status_code == 303
    # The Post page once while TikTok answers creator_info with an error code of its own.
    app.emulator.control(
        "POST",
        "/_emulator/faults",
        json={"endpoint": "creator_info", "error": "spam_risk_too_many_pending_share"},
    )
    try:
        faulted = await client.get("/compose", headers={"accept": "text/html"})
    finally:
        app.emulator.control("DELETE", "/_emulator/faults")
    assert faulted.status_code != 200
    # One creator_info a minute: the next render must wait for the budget (CAP-4).
    app.app.state.services.budgets.limits["creator_info"] = 1
    waited = await client.get("/compose", headers={"accept": "text/html"})
    assert "Wait a minute" in waited.text
    app.app.state.services.budgets.limits["creator_info"] = 20
    rendered = await client.get("/compose", headers={"accept": "text/html"})
    assert rendered.status_code == 200

    # A post queued (no worker runs here: it stays due), and its page by its route template.
    csrf = await fetch_csrf(client, "/posts")
    upload_id = await upload_ready_video(client, csrf, make_video(tmp_path / "v.mp4", seconds=1))
    posted = await client.post(
        "/posts",
        data={
            "csrf_token": csrf,
            "upload_id": upload_id,
            "title": "counted",
            "privacy_level": "SELF_ONLY",
        },
    )
    assert posted.status_code == 303, posted.text
    assert (await client.get(posted.headers["location"])).status_code == 200
    assert (await client.get("/no-such-page-123")).status_code == 404

    # Webhooks: applied once, then the same delivery again, then a forged one.
    body = json.dumps(
        {
            "client_key": app.settings.tiktok_client_key,
            "event": "post.publish.failed",
            "create_time": int(time.time()),
            "user_openid": "demo-private",
            "content": json.dumps({"publish_id": "v_pub_unknown", "reason": "x"}),
        }
    ).encode()
    headers = _webhook(app, body)
    for expected in (200, 200):
        answer = await client.post("/webhooks/tiktok", content=body, headers=headers)
        assert answer.status_code == expected, answer.text
    forged = await client.post(
        "/webhooks/tiktok", content=body, headers=_webhook(app, body, secret="not-the-secret")
    )
    assert forged.status_code == 400

    after = await _scrape(app)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    # HTTP requests by route template and status, with latency.
    assert grew("directpost_http_requests_total", method="GET", route="/compose", status="200")
    assert grew("directpost_http_requests_total", method="POST", route="/posts", status="303")
    assert grew(
        "directpost_http_requests_total", method="GET", route="/posts/{post_id}", status="200"
    )
    assert grew("directpost_http_requests_total", method="GET", route="<unmatched>", status="404")
    assert not any(
        name == "directpost_http_requests_total" and dict(labels)["route"].startswith("/posts/1")
        for name, labels in after
    ), "a path, not its route template, became a label"
    assert grew("directpost_http_request_duration_seconds_count", method="GET", route="/compose")
    assert grew(
        "directpost_http_request_duration_seconds_bucket",
        method="GET",
        route="/compose",
        le="+Inf",
    )

    # TikTok requests by endpoint, outcome and TikTok's error code, with latency.
    assert grew(
        "directpost_tiktok_requests_total",
        endpoint=CREATOR_INFO,
        outcome="error",
        code="spam_risk_too_many_pending_share",
    )
    assert grew(
        "directpost_tiktok_requests_total", endpoint="/v2/oauth/token/", outcome="ok", code=""
    )
    assert grew(
        "directpost_tiktok_request_duration_seconds_count", endpoint=CREATOR_INFO, outcome="error"
    )

    # Budget waits.
    assert grew("directpost_budget_waits_total", family="creator_info") >= 1
    assert grew("directpost_budget_wait_seconds_count", family="creator_info") >= 1

    # Webhook deliveries by outcome.
    assert grew("directpost_webhook_deliveries_total", outcome="applied") == 1
    assert grew("directpost_webhook_deliveries_total", outcome="duplicate") == 1
    assert grew("directpost_webhook_deliveries_total", outcome="rejected") == 1

    # The database's figures, read at scrape time.
    assert _value(after, "directpost_database_up") == 1
    assert _value(after, "directpost_posts", state="queued") == 1
    assert _value(after, "directpost_queue_depth") == 1
    assert _value(after, "directpost_queue_oldest_due_age_seconds") >= 0
    assert ("directpost_queue_oldest_due_age_seconds", frozenset()) in after
    assert ("directpost_posts_oldest_active_update_age_seconds", frozenset()) in after
    assert _value(after, "directpost_lockdown_active") == 0


_CHILD = textwrap.dedent(
    """
    import sys
    from directpost.publishing.telemetry import record_webhook_delivery
    for _ in range(int(sys.argv[1])):
        record_webhook_delivery("applied")
    """
)
_SCRAPER = textwrap.dedent(
    """
    import sys
    from directpost.config import Settings
    from directpost.publishing.wiring import build_services
    from directpost.web.metrics import exposition
    services = build_services(Settings(_env_file=None))
    sys.stdout.write(exposition(services).decode())
    services.engine.dispose()
    """
)


def test_multiprocess_mode_adds_up_every_processs_counts(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    data_dir = tmp_path / "data"
    database_url = f"sqlite:///{(data_dir / 'directpost.db').as_posix()}"
    data_dir.mkdir()
    upgrade_database(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTPOST_")}
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        DIRECTPOST_DATA_DIR=str(data_dir),
        DIRECTPOST_DATABASE_URL=database_url,
    )
    for count in ("2", "3"):  # two processes, as two workers on one machine
        subprocess.run([sys.executable, "-c", _CHILD, count], env=env, check=True, timeout=60)
    scraped = subprocess.run(
        [sys.executable, "-c", _SCRAPER],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    samples = _parse(scraped)
    assert _value(samples, "directpost_webhook_deliveries_total", outcome="applied") == 5
    assert _value(samples, "directpost_database_up") == 1


DOCS = Path(__file__).resolve().parents[2] / "docs" / "prometheus"


async def test_the_example_scrape_config_and_alerts_are_valid_and_name_real_metrics(
    metered_app: AppClient,
) -> None:
    scrape = yaml.safe_load((DOCS / "scrape.yml").read_text(encoding="utf-8"))
    (job,) = scrape["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert "alerts.yml" in scrape["rule_files"]

    alerts = yaml.safe_load((DOCS / "alerts.yml").read_text(encoding="utf-8"))
    rules = [rule for group in alerts["groups"] for rule in group["rules"]]
    assert {"DirectpostPostStuck", "DirectpostQueueBehind", "DirectpostTikTokErrorRate"} <= {
        rule["alert"] for rule in rules
    }
    for rule in rules:
        assert rule["expr"] and rule["for"] and rule["labels"]["severity"], rule
        assert rule["annotations"]["summary"], rule

    token = metered_app.settings.operator_token.get_secret_value()
    text = (
        await metered_app.client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    ).text
    exported = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    named = {name for rule in rules for name in re.findall(r"directpost_\w+", rule["expr"])}
    # A counter's family is exported as `x`; its samples (and rules) say `x_total`.
    missing = {
        name for name in named if name not in exported and name[: -len("_total")] not in exported
    }
    assert not missing, f"alert rules name metrics the app does not export: {missing}"
