"""Cap arithmetic (CAP-1, CAP-3, CAP-5) as pure functions: from what our own records count over
the last 24 hours to what the app may do now, and the rules a post would break.

The store counts; this decides. `validate` includes `cap_violations`, so the Post page, the
publish route and the publish job refuse the same posts with the same words.
"""

from __future__ import annotations

from directpost.rules import limits, texts
from directpost.rules.model import AppPolicy, PostMode, Violation


def creator_cap(*, audited: bool, configured: int) -> int:
    """Distinct creators that may post in any rolling 24 h: the operator's figure from the audit
    estimate, at most 5 while the app is unaudited (CAP-1)."""
    return configured if audited else min(limits.UNAUDITED_CREATOR_CAP, configured)


def app_policy(
    *,
    audited: bool,
    configured_creator_cap: int,
    creators_posted: int = 0,
    creator_posted: bool = False,
    posts_started: int = 0,
    inbox_started: int = 0,
) -> AppPolicy:
    """What the app may do for one creator now, from the last 24 hours' counts."""
    return AppPolicy(
        audited=audited,
        creator_cap=creator_cap(audited=audited, configured=configured_creator_cap),
        creators_posted_24h=creators_posted,
        creator_posted_24h=creator_posted,
        posts_started_24h=posts_started,
        inbox_started_24h=inbox_started,
    )


def cap_violations(policy: AppPolicy, mode: PostMode) -> list[Violation]:
    """The caps a new post of this creator would break now (most important first)."""
    found: list[Violation] = []
    if not policy.creator_posted_24h and policy.creators_posted_24h >= policy.creator_cap:
        found.append(Violation("CAP-1", texts.creator_cap_reached(policy.creators_posted_24h)))
    if mode == "direct" and policy.posts_started_24h >= limits.POSTS_PER_CREATOR_PER_DAY:
        found.append(Violation("CAP-3", texts.daily_posts_reached(policy.posts_started_24h)))
    if mode == "inbox" and policy.inbox_started_24h >= limits.PENDING_SHARES_PER_DAY:
        found.append(Violation("CAP-5", texts.pending_shares_reached(policy.inbox_started_24h)))
    return found
