"""What an auditor or TikTok's own checks would flag in one request: the compliance verdicts.

Pure functions over what a request carried and what the emulator remembers of the client (the
last creator_info it was answered for a creator, how often it already heard a publish's final
status). Each verdict names the rule id of spec/requirements.md and the guideline sentence it
rests on, quoted from the source documents (seeds/) or, where the guideline is long, from the
requirement catalogue. ``compliance.py`` keeps the verdicts in the log and, under ``--strict``,
turns them into errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

SELF_ONLY = "SELF_ONLY"

#: A secret shorter than this is not looked for in URLs: it would match ordinary words (an app
#: registered with the secret "secret" would be "found" in every ``client_secret=`` parameter).
#: TikTok's client secrets are 32 characters.
MIN_SECRET_LEN = 12


@dataclass(frozen=True)
class Rule:
    """One kind of verdict: the requirement it enforces and the sentence that states it."""

    kind: str
    rule: str
    title: str
    sentence: str


PRIVACY_NOT_OFFERED = Rule(
    "privacy_not_offered",
    "UX-2b",
    "privacy_level not among the options creator_info gave",
    "The options listed in the UX must follow the privacy_level_options returned in the "
    "creator_info API. (Content Sharing Guidelines, Required UX 2b)",
)
CREATOR_INFO_NOT_FETCHED = Rule(
    "creator_info_not_fetched",
    "UX-1",
    "direct post init without a fresh creator_info",
    "API Clients must retrieve the latest creator info when rendering the Post to TikTok page. "
    "(Content Sharing Guidelines, Required UX 1)",
)
INTERACTION_DISABLED = Rule(
    "interaction_disabled_by_creator",
    "UX-2c",
    "comment, duet or stitch turned on although creator_info disabled it",
    "If the creator_info API returns that one or more of these interactions have been disabled "
    "in their app settings, your UX must disable and grey out the checkbox for the interaction. "
    "(Content Sharing Guidelines, Required UX 2c)",
)
FILE_UPLOAD_OF_SERVED_MEDIA = Rule(
    "file_upload_of_served_media",
    "TECH-2",
    "FILE_UPLOAD of media the client also serves at a URL",
    "If video resources are already on API Clients' servers, do not use FILE_UPLOAD; use "
    "PULL_FROM_URL instead. (Content Sharing Guidelines, Technical Considerations 2d)",
)
BRANDED_SELF_ONLY = Rule(
    "branded_content_self_only",
    "UX-3c",
    "branded content posted with SELF_ONLY privacy",
    "If a user wants to choose Branded Content, it is important to note that it can only be "
    "configured with visibility as public/friends. (Content Sharing Guidelines, Required UX 3b)",
)
CLIENT_SECRET_EXPOSED = Rule(
    "client_secret_exposed",
    "TECH-1",
    "client_secret in a browser-facing request (Referer or query string)",
    "Maintain appropriate technical and administrative controls to ensure the security and "
    "confidentiality of client_secret. (Content Sharing Guidelines, Technical Considerations 1b)",
)
OVER_RATE_LIMIT = Rule(
    "over_rate_limit",
    "CAP-4",
    "request over the per-token rate limit",
    "Respect our API throttling limits. (Developer Guidelines, Developer Principles 5)",
)
CHUNK_RULE_BREAK = Rule(
    "chunk_rule_break",
    "TECH-2",
    "upload outside the chunk rules",
    "Uploads follow the chunk rules exactly (5–64 MB chunks, last ≤ 128 MB, ≤ 1000 chunks, "
    "sequential, resumable). (requirements TECH-2, after the Media Transfer Guide)",
)
POLLING_AFTER_FINAL = Rule(
    "polling_after_final",
    "UX-5e",
    "status/fetch polled again and again after a final status",
    "The post's status is followed by webhooks and by polling status/fetch, and shown to the "
    "user until it is final. (requirements UX-5e, after Required UX 5e)",
)

RULES: tuple[Rule, ...] = (
    PRIVACY_NOT_OFFERED,
    CREATOR_INFO_NOT_FETCHED,
    INTERACTION_DISABLED,
    FILE_UPLOAD_OF_SERVED_MEDIA,
    BRANDED_SELF_ONLY,
    CLIENT_SECRET_EXPOSED,
    OVER_RATE_LIMIT,
    CHUNK_RULE_BREAK,
    POLLING_AFTER_FINAL,
)


@dataclass(frozen=True)
class Verdict:
    """One thing flagged in one request: its rule and what exactly was seen."""

    rule: Rule
    detail: str

    def view(self) -> dict[str, str]:
        return {
            "kind": self.rule.kind,
            "rule": self.rule.rule,
            "title": self.rule.title,
            "sentence": self.rule.sentence,
            "detail": self.detail,
        }

    def message(self) -> str:
        """One line for an error answer under --strict."""
        return (
            f"[{self.rule.rule}] {self.rule.title}: {self.detail} Guideline: {self.rule.sentence}"
        )


@dataclass(frozen=True)
class CreatorInfoSeen:
    """What the last successful creator_info answer told an app about one creator, and when."""

    at: float
    privacy_level_options: tuple[str, ...]
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool

    @classmethod
    def from_answer(cls, at: float, data: dict[str, Any]) -> CreatorInfoSeen:
        return cls(
            at=at,
            privacy_level_options=tuple(data.get("privacy_level_options") or ()),
            comment_disabled=bool(data.get("comment_disabled")),
            duet_disabled=bool(data.get("duet_disabled")),
            stitch_disabled=bool(data.get("stitch_disabled")),
        )


def direct_post_verdicts(
    post_info: Any, *, photo: bool, seen: CreatorInfoSeen | None, now: float, window_s: float
) -> list[Verdict]:
    """What a direct-post init breaks, given the last creator_info answered for its creator.

    A missing ``disable_*`` field counts as the interaction turned on (TikTok's default), so an
    app must send ``true`` for each interaction creator_info disabled. Photo posts have comments
    only.
    """
    if not isinstance(post_info, dict):
        return []  # the backend answers invalid_params; there is no choice to judge
    found: list[Verdict] = []
    if seen is None:
        found.append(
            Verdict(
                CREATOR_INFO_NOT_FETCHED,
                "No creator_info was answered to this app for this creator before the init.",
            )
        )
    elif now - seen.at > window_s:
        found.append(
            Verdict(
                CREATOR_INFO_NOT_FETCHED,
                f"The last creator_info for this creator was answered {now - seen.at:.0f} s "
                f"before the init (more than {window_s:.0f} s).",
            )
        )
    level = post_info.get("privacy_level")
    if not isinstance(level, str):
        found.append(Verdict(PRIVACY_NOT_OFFERED, "The init names no privacy_level."))
    elif seen is not None and level not in seen.privacy_level_options:
        found.append(
            Verdict(
                PRIVACY_NOT_OFFERED,
                f"privacy_level {level} is not in the last creator_info options "
                f"{list(seen.privacy_level_options)}.",
            )
        )
    if seen is not None:
        disabled = [("comment", seen.comment_disabled)]
        if not photo:
            disabled += [("duet", seen.duet_disabled), ("stitch", seen.stitch_disabled)]
        turned_on = [
            name for name, off in disabled if off and post_info.get(f"disable_{name}") is not True
        ]
        if turned_on:
            found.append(
                Verdict(
                    INTERACTION_DISABLED,
                    f"creator_info said {', '.join(turned_on)} disabled, but the init leaves "
                    + " and ".join(f"disable_{name}" for name in turned_on)
                    + " false or unset.",
                )
            )
    if post_info.get("brand_content_toggle") is True and level == SELF_ONLY:
        found.append(
            Verdict(BRANDED_SELF_ONLY, "brand_content_toggle is true with privacy_level SELF_ONLY.")
        )
    return found


def exposed_secret_verdicts(
    query_string: bytes, referer: str | None, secrets: list[tuple[str, str]]
) -> list[Verdict]:
    """The client secrets (``(client_key, secret)`` pairs) found in a URL a browser could see."""
    places: list[tuple[str, str]] = []
    if query_string:
        places.append(("the query string", _decoded(query_string.decode("latin-1"))))
    if referer:
        places.append(("the Referer header", _decoded(referer)))
    found: list[Verdict] = []
    for client_key, secret in secrets:
        if len(secret) < MIN_SECRET_LEN:
            continue
        for where, text in places:
            if secret in text:
                found.append(
                    Verdict(
                        CLIENT_SECRET_EXPOSED,
                        f"The client_secret of app {client_key} was in {where}.",
                    )
                )
    return found


def _decoded(text: str) -> str:
    """The text and its URL-decoded form, so an encoded secret is found too."""
    if "%" in text or "+" in text:
        return text + "\n" + unquote_plus(text)
    return text


def polling_verdict(
    final_answers: int, since_last_s: float | None, *, allowance: int, spacing_s: float
) -> Verdict | None:
    """A status/fetch of a publish whose final status was already answered ``final_answers``
    times, ``since_last_s`` after the previous fetch of it.

    Two repeats are tolerated (a webhook and a poll can cross; a person may ask the command
    line again); after that, a fetch within
    ``spacing_s`` of the previous one is polling faster than needed. A client waiting for a
    public post id that moderation has not given yet may ask again, but no faster than that.
    """
    if final_answers <= allowance or since_last_s is None or since_last_s >= spacing_s:
        return None
    return Verdict(
        POLLING_AFTER_FINAL,
        f"This publish's final status was already answered {final_answers} times; the fetch "
        f"came {since_last_s:.1f} s after the previous one.",
    )


def rate_limit_verdict(endpoint: str, limit: int | None) -> Verdict:
    per = f"{limit} per minute" if limit else "its limit"
    return Verdict(OVER_RATE_LIMIT, f"{endpoint} over {per} for this access token (429).")


def upload_refusal_verdict(status: int, reason: str) -> Verdict:
    """A chunk the upload host refused (400 malformed or wrong size, 416 out of order)."""
    return Verdict(CHUNK_RULE_BREAK, f"The upload host answered {status}: {reason.strip()}")
