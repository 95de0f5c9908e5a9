"""The compliance policy as pure functions: what the Post page shows and which rules a draft breaks.

`compose_state(creator, draft, policy)` gives every control of the Post page with its state and
words; `validate(creator, draft, policy)` gives the rules a draft breaks, for the server to
enforce when the page is bypassed. Both read the same rules, so page and server agree.
"""

from __future__ import annotations

from directpost.rules.caps import DayCap, app_policy, cap_violations, creator_cap, day_caps
from directpost.rules.compose import (
    ComposeState,
    Disclosure,
    PrivacyChoice,
    TextField,
    Toggle,
    compose_state,
)
from directpost.rules.model import (
    NO_MEDIA,
    POSTING_BLOCKED_CODES,
    PRIVACY_LABELS,
    PRIVACY_LEVELS,
    AppPolicy,
    CreatorFacts,
    Declaration,
    Draft,
    Link,
    MediaFacts,
    MediaKind,
    PostMode,
    PrivacyLevel,
    Violation,
)
from directpost.rules.validate import offered_privacy_levels, title_limit, utf16_len, validate

__all__ = [
    "NO_MEDIA",
    "POSTING_BLOCKED_CODES",
    "PRIVACY_LABELS",
    "PRIVACY_LEVELS",
    "AppPolicy",
    "ComposeState",
    "CreatorFacts",
    "DayCap",
    "Declaration",
    "Disclosure",
    "Draft",
    "Link",
    "MediaFacts",
    "MediaKind",
    "PostMode",
    "PrivacyChoice",
    "PrivacyLevel",
    "TextField",
    "Toggle",
    "Violation",
    "app_policy",
    "cap_violations",
    "compose_state",
    "creator_cap",
    "day_caps",
    "offered_privacy_levels",
    "title_limit",
    "utf16_len",
    "validate",
]
