"""Cap arithmetic (CAP-1, CAP-3, CAP-5) as pure functions: from what our own records count over
the last 24 hours to what the app may do now, and the rules a post would break.

The store counts; this decides. `validate` includes `cap_violations`, so the Post page, the
publish route and the publish job refuse the same posts with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class DayCap:
    """One cap as it stands on the day a post is scheduled for: a plain sentence, and whether
    this post would go past it (then the page warns and says what to do, CAP-3)."""

    rule: str
    text: str
    full: bool


def day_caps(
    *,
    day: str,
    mode: PostMode,
    audited: bool,
    configured_creator_cap: int,
    creators: int,
    creator_included: bool,
    posts: int,
    inbox: int,
) -> list[DayCap]:
    """The caps of the day picked for "publish later", from what is already planned or posted
    that day (`day` is the creator's own words for it, e.g. "Tuesday 8 December").

    A warning, not a refusal: caps count over a rolling 24 hours when the post starts, and the
    job checks them again then (`cap_violations`) with the counts of that moment.
    """
    found: list[DayCap] = []
    if mode == "inbox":
        found.append(
            DayCap(
                "CAP-5",
                texts.day_inbox_planned(day, inbox),
                inbox >= limits.PENDING_SHARES_PER_DAY,
            )
        )
    else:
        found.append(
            DayCap(
                "CAP-3",
                texts.day_posts_planned(day, posts),
                posts >= limits.POSTS_PER_CREATOR_PER_DAY,
            )
        )
    cap = creator_cap(audited=audited, configured=configured_creator_cap)
    if not audited or creators >= cap:
        full = not creator_included and creators >= cap
        found.append(DayCap("CAP-1", texts.day_creators_planned(day, creators, cap), full))
    return found
