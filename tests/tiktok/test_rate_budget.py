"""Per-token sliding-minute budgets (creator_info 20, init 6, status 30)."""

from __future__ import annotations

import asyncio

import pytest

from directpost.tiktok import InMemoryBudgetBackend, RateBudget, budget_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_default_budgets_are_tiktoks_documented_limits() -> None:
    clock = Clock()
    budget = RateBudget(clock=clock, sleep=clock.sleep)
    for family, limit in (("creator_info", 20), ("init", 6), ("status", 30)):
        assert all(budget.try_acquire("tok", family) == 0.0 for _ in range(limit))
        assert budget.try_acquire("tok", family) > 0


def test_the_window_slides_rather_than_resetting_each_minute() -> None:
    clock = Clock()
    budget = RateBudget(limits={"init": 6}, clock=clock, sleep=clock.sleep)
    for i in range(6):
        clock.now = 1000.0 + i * 10  # one init every 10 s
        assert budget.try_acquire("t", "init") == 0.0
    clock.now = 1055.0
    assert budget.try_acquire("t", "init") == pytest.approx(5.0)  # the first one leaves at 1060
    clock.now = 1060.0
    assert budget.try_acquire("t", "init") == 0.0
    assert budget.try_acquire("t", "init") > 0


def test_budgets_are_per_token_and_per_family() -> None:
    clock = Clock()
    budget = RateBudget(limits={"init": 1, "status": 1}, clock=clock, sleep=clock.sleep)
    assert budget.try_acquire("a", "init") == 0.0
    assert budget.try_acquire("b", "init") == 0.0
    assert budget.try_acquire("a", "status") == 0.0
    assert budget.try_acquire("a", "init") > 0


def test_acquire_waits_until_a_slot_frees() -> None:
    clock = Clock()
    budget = RateBudget(limits={"status": 2}, clock=clock, sleep=clock.sleep)
    budget.acquire("t", "status")
    budget.acquire("t", "status")
    budget.acquire("t", "status")
    assert sum(clock.slept) == pytest.approx(60.0)


def test_async_acquire_waits_with_the_async_sleep() -> None:
    clock = Clock()

    async def asleep(seconds: float) -> None:
        clock.sleep(seconds)

    budget = RateBudget(limits={"init": 1}, clock=clock, async_sleep=asleep)

    async def go() -> None:
        await budget.acquire_async("t", "init")
        await budget.acquire_async("t", "init")

    asyncio.run(go())
    assert clock.slept == [pytest.approx(60.0)]


def test_one_backend_is_shared_by_every_budget_object() -> None:
    clock = Clock()
    backend = InMemoryBudgetBackend()
    first = RateBudget(limits={"init": 1}, backend=backend, clock=clock)
    second = RateBudget(limits={"init": 1}, backend=backend, clock=clock)
    assert first.try_acquire("t", "init") == 0.0
    assert second.try_acquire("t", "init") > 0


def test_unknown_families_are_refused_and_keys_hide_the_token() -> None:
    with pytest.raises(ValueError, match="unknown budget family"):
        RateBudget().try_acquire("t", "uploads")
    key = budget_key("act.secret-token")
    assert "secret" not in key and key == budget_key("act.secret-token") != budget_key("act.other")


def test_a_client_with_a_budget_waits_instead_of_spending_a_429() -> None:
    from directpost.tiktok import TikTokClient

    from .fake_tiktok import FakeTikTok, SyncASGITransport, ok

    fake = FakeTikTok()
    clock = Clock()
    budget = RateBudget(
        limits={"creator_info": 2, "init": 6, "status": 30}, clock=clock, sleep=clock.sleep
    )
    data = {"creator_nickname": "n", "privacy_level_options": ["SELF_ONLY"]}
    for _ in range(3):
        fake.reply("/v2/post/publish/creator_info/query/", 200, ok(data))
    with TikTokClient(
        client_key="k",
        client_secret="s",
        api_base_url="http://api.test",
        transport=SyncASGITransport(fake.app),
        budget=budget,
    ) as client:
        for _ in range(3):
            client.creator_info(access_token="act.same")
    assert clock.slept == [pytest.approx(60.0)]
    assert len(fake.requests) == 3


def test_an_async_client_with_a_budget_waits_for_the_init_budget() -> None:
    from directpost.tiktok import AsyncTikTokClient, PullFromUrlSource, VideoPostInfo

    from .fake_tiktok import FakeTikTok, async_transport, ok

    fake = FakeTikTok()
    clock = Clock()

    async def asleep(seconds: float) -> None:
        clock.sleep(seconds)

    budget = RateBudget(limits={"init": 1}, clock=clock, async_sleep=asleep)
    for i in range(2):
        fake.reply("/v2/post/publish/video/init/", 200, ok({"publish_id": f"p{i}"}))

    async def go() -> list[str]:
        async with AsyncTikTokClient(
            client_key="k",
            client_secret="s",
            api_base_url="http://api.test",
            transport=async_transport(fake),
            budget=budget,
        ) as client:
            return [
                (
                    await client.init_video(
                        access_token="act.x",
                        post_info=VideoPostInfo(privacy_level="SELF_ONLY"),
                        source=PullFromUrlSource("https://m.example/v.mp4"),
                    )
                ).publish_id
                for _ in range(2)
            ]

    assert asyncio.run(go()) == ["p0", "p1"]
    assert clock.slept == [pytest.approx(60.0)]
