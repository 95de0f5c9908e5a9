"""The Post page, the publish route and the publish job refuse the same drafts for the same
reasons: all three ask `rules.validate` (caps included) with the same facts.

For each draft: the rules the page shows (`rules.compose_state`, as `/compose` renders it), the
rules the publish route's use case refuses with (`service.submit_post`), and the rules the job
names when it stops the same post stored without those checks (a page bypassed, or settings
that changed after consent) must be one and the same set; and the job sends nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from directpost import rules
from directpost.publishing import service, states
from directpost.publishing.drafts import draft_to_choices
from directpost.publishing.policy import posting_policy
from directpost.rules.model import CreatorFacts, Draft
from directpost.store import posts as store
from directpost.store.base import utcnow
from tests.publishing.harness import Bench

pytestmark = pytest.mark.anyio

UNAUDITED_CREATORS = ["demo-private"] + [f"alike-private-{i}" for i in range(5)]


def _store_unchecked(bench: Bench, open_id: str, draft: Draft, media: Any) -> int:
    """The post as if the page had been bypassed: stored with consent, no rule checked."""
    account_id = bench.accounts.get(open_id) or bench.link(open_id)
    now = utcnow()
    with bench.ctx.factory() as session, session.begin():
        post = store.create_post(
            session,
            person_id=bench.person_id,
            account_id=account_id,
            open_id=open_id,
            kind="video",
            mode=draft.mode,
            choices=draft_to_choices(draft),
            media=media,
            upload_id=None,
            scheduled_at=None,
            time_zone="UTC",
            state=states.QUEUED,
            due_at=now,
            creator_info={},
            declaration="",
            label="",
        )
        return post.id


async def _three_answers(
    bench: Bench, open_id: str, creator: CreatorFacts, seconds: float = 1.0, **choices: Any
) -> tuple[set[str], set[str], set[str], store.Post]:
    manifest, facts = bench.media_video(seconds=seconds)
    draft = replace(Draft(media=facts), **choices)
    if open_id not in bench.accounts:
        bench.link(open_id)
    with bench.ctx.factory() as session:
        policy = posting_policy(session, bench.settings, open_id=open_id, now=utcnow())
    page = {v.rule for v in rules.compose_state(creator, draft, policy).violations}
    with pytest.raises(service.PublishRefused) as refused:
        bench.submit(open_id, creator, media=(manifest, facts), **choices)
    route = {v.rule for v in refused.value.violations}
    post = await bench.drive(_store_unchecked(bench, open_id, draft, manifest))
    job = set(post.reason_code.split(","))
    return page, route, job, post


@pytest.mark.parametrize(
    ("open_id", "seconds", "choices", "expected"),
    [
        ("demo-60s", 90.0, {"privacy_level": "SELF_ONLY"}, {"UX-1c"}),
        (
            "demo-no-comments",
            1.0,
            {"privacy_level": "SELF_ONLY", "allow_comment": True},
            {"UX-2c"},
        ),
        (
            "demo-public",
            1.0,
            {"privacy_level": "SELF_ONLY", "disclose_commercial": True, "branded_content": True},
            {"UX-3c"},
        ),
        (
            "demo-public",
            1.0,
            {"privacy_level": "SELF_ONLY", "disclose_commercial": True},
            {"UX-3b"},
        ),
        ("demo-public", 1.0, {"privacy_level": "NOT_A_LEVEL"}, {"UX-2b"}),
    ],
)
async def test_page_route_and_job_refuse_a_draft_for_the_same_rules(
    bench: Bench, open_id: str, seconds: float, choices: dict[str, Any], expected: set[str]
) -> None:
    creator = await bench.creator_facts(open_id)
    page, route, job, post = await _three_answers(bench, open_id, creator, seconds, **choices)
    assert page == route == job == expected
    assert post.state == states.NEEDS_CONFIRMATION
    assert bench.publishes(open_id) == [], "the job sent nothing for a refused draft"


async def test_page_route_and_job_refuse_a_sixth_creator_for_the_same_cap_CAP_1(
    bench: Bench,
) -> None:
    bench.settings.app_audited = False
    bench.register(audited=False)
    for open_id in UNAUDITED_CREATORS[1:]:
        bench.emulator.control(
            "creators", {"open_id": open_id, "nickname": open_id, "private_account": True}
        )
    # What the sixth creator's Post page showed before the others posted (afterwards TikTok's
    # creator_info itself says the app reached its cap).
    sixth = UNAUDITED_CREATORS[5]
    creator = await bench.creator_facts(sixth)
    for open_id in UNAUDITED_CREATORS[:5]:
        facts = await bench.creator_facts(open_id)
        post_id = bench.submit(open_id, facts, media=bench.media_video(), privacy_level="SELF_ONLY")
        assert (await bench.drive(post_id)).state == states.PUBLISHED
    page, route, job, post = await _three_answers(bench, sixth, creator, privacy_level="SELF_ONLY")
    assert page == route == job == {"CAP-1"}
    assert post.state == states.TRY_LATER, "a cap is 'not now', never a changed setting"
    assert bench.publishes(sixth) == []
