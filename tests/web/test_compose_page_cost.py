"""What one Post page render costs the app: SQL statements, trips to the thread pool, templates.

The page must stay cheap enough for 50 users on one process (issue 11): at most 3 SQL statements
per render (the person with their accounts, the caps' counts, the creator_info budget), plus the
lockdown gate's one read before its one TikTok request (TOS-2: counted by a spy, it is
not a SQLAlchemy statement), at most
one trip to a worker thread (all the blocking database work together), and templates compiled
once per process, never re-read outside development. Each render still asks TikTok for a fresh
creator_info (UX-1) and spends the shared budget (CAP-4): counted here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import jinja2
import pytest
from sqlalchemy import event

from directpost.web import templating
from directpost.web.app import create_app
from tests.fixtures.gate import gate_reads
from tests.fixtures.live import AppClient, api_sign_in

pytestmark = pytest.mark.anyio

MAX_STATEMENTS = 3
MAX_THREAD_HOPS = 1
NICKNAME = 'data-testid="creator-nickname"'


@contextmanager
def statements_of(app_client: AppClient) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs (budgets included: they
    share the app's engine)."""
    seen: list[str] = []
    engine = app_client.app.state.services.engine

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@contextmanager
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each function sent to a worker thread (FastAPI's sync dependencies and routes, and
    `run_in_threadpool`, all go through `anyio.to_thread.run_sync`)."""
    sent: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    yield sent


async def signed_in_and_warm(app_client: AppClient) -> None:
    """A signed-in creator whose first render (templates compiled, pools filled) is done."""
    await api_sign_in(app_client.client, open_id="demo-private")
    warm = await app_client.client.get("/compose")
    assert warm.status_code == 200, warm.text


async def test_post_page_render_sends_at_most_three_sql_statements(
    app_client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in_and_warm(app_client)
    with statements_of(app_client) as statements, gate_reads(monkeypatch) as reads:
        page = await app_client.client.get("/compose")

    assert page.status_code == 200 and NICKNAME in page.text, page.text
    assert any("rate_budget" in s for s in statements), "the render must spend the budget"
    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)
    assert reads == [False], "the lockdown switch is read before the creator_info request"


async def test_post_page_render_makes_at_most_one_thread_hop(
    app_client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in_and_warm(app_client)
    with thread_hops(monkeypatch) as hops:
        page = await app_client.client.get("/compose")

    assert page.status_code == 200 and NICKNAME in page.text, page.text
    assert len(hops) <= MAX_THREAD_HOPS, hops


async def test_jinja_environment_is_built_once_and_compiles_each_template_once(
    app_client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = templating.environment()
    other = create_app(app_client.settings)  # a second app in the same process shares it
    await other.state.services.aclose()
    assert templating.environment() is env
    assert templating.templates.env is env
    assert env.auto_reload is False  # test settings: not development

    loaded: list[str] = []
    checked: list[str] = []
    real_get_source = env.loader.get_source  # type: ignore[union-attr]

    def counting_get_source(
        environment: jinja2.Environment, name: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = real_get_source(environment, name)
        loaded.append(name)

        def counted_uptodate() -> bool:
            checked.append(name)
            return uptodate() if uptodate is not None else True

        return source, filename, counted_uptodate

    monkeypatch.setattr(env.loader, "get_source", counting_get_source)
    env.cache.clear()  # type: ignore[union-attr]  # compile afresh while counting
    await api_sign_in(app_client.client, open_id="demo-private")
    for _ in range(3):
        page = await app_client.client.get("/compose")
        assert page.status_code == 200 and NICKNAME in page.text, page.text

    assert "compose/page.html" in loaded
    assert len(loaded) == len(set(loaded)), loaded  # each template compiled once
    assert checked == []  # and never looked at again (no stat per render)


async def test_templates_reload_only_in_development(app_client: AppClient) -> None:
    env = templating.environment()
    try:
        templating.configure(app_client.settings.model_copy(update={"environment": "development"}))
        assert env.auto_reload is True
    finally:
        templating.configure(app_client.settings)
    assert env.auto_reload is False
