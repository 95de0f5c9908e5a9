"""CAP-4 under load: a request is counted from when its answer came back, not from when its
budget was reserved. TikTok's window counts from when the request arrived, which can be seconds
after the reservation on a busy machine; counting from the reservation sent a 7th init while
TikTok still counted six (a 429 in `bench/publish_scale.py`)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from directpost.publishing.budgets import Budgets, DatabaseBudgetBackend, RedisBudgetBackend
from tests.publishing.test_publish_budgets import _database_backend, redis_backend

__all__ = ["redis_backend"]  # the fixture, shared with the other budget tests


def _check_settled_requests_count_from_their_answer(backend: object) -> None:
    now = [1000.0]
    # One request a window makes the arithmetic plain; the backends count any limit alike.
    budgets = Budgets(backend, limits={"init": 1}, clock=lambda: now[0])  # type: ignore[arg-type]
    token = "creator-" + secrets.token_hex(4)
    wait, ticket = budgets.try_reserve(token, "init")
    assert wait == 0.0 and ticket is not None
    # Its answer came back 4 s after it was reserved: TikTok may have received it as late as
    # t=1004, so it leaves TikTok's window no earlier than t=1004 + window.
    now[0] = 1004.0
    budgets.settle(ticket)
    now[0] = 1000.0 + budgets.window_s + 0.5  # past the reservation's window, not the answer's
    wait, refused = budgets.try_reserve(token, "init")
    assert refused is None
    assert wait == pytest.approx(3.5)
    now[0] = 1004.0 + budgets.window_s
    wait, ticket = budgets.try_reserve(token, "init")
    assert wait == 0.0 and ticket is not None


def _check_settling_never_moves_a_request_earlier(backend: object) -> None:
    now = [2000.0]
    budgets = Budgets(backend, limits={"init": 1}, clock=lambda: now[0])  # type: ignore[arg-type]
    token = "creator-" + secrets.token_hex(4)
    _, ticket = budgets.try_reserve(token, "init")
    assert ticket is not None
    now[0] = 1990.0  # a clock behind the reservation (another process's)
    budgets.settle(ticket)
    now[0] = 2000.0 + budgets.window_s - 1
    wait, _ = budgets.try_reserve(token, "init")
    assert wait == pytest.approx(1.0)


def test_database_budget_counts_a_request_from_its_answer_cap_4(tmp_path: Path) -> None:
    backend: DatabaseBudgetBackend
    with _database_backend(f"sqlite:///{tmp_path / 'budgets.db'}") as backend:
        _check_settled_requests_count_from_their_answer(backend)
        _check_settling_never_moves_a_request_earlier(backend)


@pytest.mark.redis
def test_redis_budget_counts_a_request_from_its_answer_cap_4(
    redis_backend: RedisBudgetBackend,
) -> None:
    _check_settled_requests_count_from_their_answer(redis_backend)
    _check_settling_never_moves_a_request_earlier(redis_backend)
