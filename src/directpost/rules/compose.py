"""What the Post page shows for a creator and a draft: every control, its state and its words.

The page template renders a `ComposeState` and nothing else decides what is offered, disabled,
checked or allowed; the browser sends each change back and gets the re-rendered controls, so no
rule lives in JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass

from directpost.rules import limits, texts
from directpost.rules.model import (
    PRIVACY_LABELS,
    AppPolicy,
    CreatorFacts,
    Declaration,
    Draft,
    MediaKind,
    PostMode,
    Violation,
)
from directpost.rules.validate import (
    offered_privacy_levels,
    title_limit,
    utf16_len,
    validate,
)


@dataclass(frozen=True, slots=True)
class PrivacyChoice:
    """One option of the privacy dropdown (UX-2b)."""

    value: str
    label: str
    selected: bool
    disabled: bool = False
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Toggle:
    """A checkbox on the page: whether it is shown, can be changed, is checked, and why not."""

    name: str
    label: str
    shown: bool
    checked: bool
    disabled: bool = False
    hint: str = ""


@dataclass(frozen=True, slots=True)
class TextField:
    """A text box with its UTF-16 counter (UX-2a)."""

    name: str
    label: str
    value: str
    used: int
    limit: int

    @property
    def over(self) -> bool:
        return self.used > self.limit


@dataclass(frozen=True, slots=True)
class Disclosure:
    """The commercial content disclosure section (UX-3a–c)."""

    shown: bool
    on: bool
    your_brand: Toggle
    branded_content: Toggle
    label_prompt: str | None


@dataclass(frozen=True, slots=True)
class ComposeState:
    """Everything the Post page renders. Built fresh on every render from a fresh creator_info."""

    blocked: bool
    blocked_message: str
    nickname: str
    avatar_url: str
    username: str
    media_kind: MediaKind
    mode: PostMode
    title: TextField
    description: TextField | None
    privacy_shown: bool
    privacy_options: tuple[PrivacyChoice, ...]
    privacy_note: str
    interactions: tuple[Toggle, ...]
    disclosure: Disclosure
    aigc: Toggle
    declaration: Declaration
    publish_allowed: bool
    publish_hint: str
    violations: tuple[Violation, ...]
    notices: tuple[str, ...]
    max_video_post_duration_sec: int


def compose_state(creator: CreatorFacts, draft: Draft, policy: AppPolicy) -> ComposeState:
    """The Post page for this creator and draft, with every rule applied."""
    violations = tuple(validate(creator, draft, policy))
    kind = draft.media.kind
    direct = draft.mode == "direct"
    if creator.blocked:
        return _blocked_state(creator, draft, violations)

    disclosure = _disclosure(draft, policy, kind, direct)
    notices: list[str] = []
    if not policy.audited and direct:
        notices += [texts.UNAUDITED_NOTE, texts.UNAUDITED_HOW_TO_PUBLIC]
    if not direct:
        notices.append(texts.INBOX_NOTE)
    if draft.is_aigc:
        notices.append(texts.AIGC_NOTE)

    return ComposeState(
        blocked=False,
        blocked_message="",
        nickname=creator.nickname,
        avatar_url=creator.avatar_url,
        username=creator.username,
        media_kind=kind,
        mode=draft.mode,
        title=TextField("title", "Title", draft.title, utf16_len(draft.title), title_limit(draft)),
        description=(
            TextField(
                "description",
                "Description",
                draft.description,
                utf16_len(draft.description),
                limits.PHOTO_DESCRIPTION_MAX_UTF16,
            )
            if kind == "photos"
            else None
        ),
        privacy_shown=direct,
        privacy_options=_privacy_choices(creator, draft, policy),
        privacy_note=_privacy_note(draft, policy),
        interactions=_interactions(creator, draft, kind, direct),
        disclosure=disclosure,
        aigc=Toggle("is_aigc", "AI-generated content", shown=True, checked=draft.is_aigc),
        declaration=texts.declaration(
            branded_content=direct and draft.disclose_commercial and draft.branded_content
        ),
        publish_allowed=not violations,
        publish_hint=violations[0].message if violations else "",
        violations=violations,
        notices=tuple(notices),
        max_video_post_duration_sec=creator.max_video_post_duration_sec,
    )


def _blocked_state(
    creator: CreatorFacts, draft: Draft, violations: tuple[Violation, ...]
) -> ComposeState:
    """UX-1b: the page stops here; nothing to fill in and nothing to publish."""
    hidden = Toggle("", "", shown=False, checked=False)
    return ComposeState(
        blocked=True,
        blocked_message=violations[0].message,
        nickname=creator.nickname,
        avatar_url=creator.avatar_url,
        username=creator.username,
        media_kind=draft.media.kind,
        mode=draft.mode,
        title=TextField("title", "Title", "", 0, title_limit(draft)),
        description=None,
        privacy_shown=False,
        privacy_options=(),
        privacy_note="",
        interactions=(),
        disclosure=Disclosure(False, False, hidden, hidden, None),
        aigc=hidden,
        declaration=Declaration(()),
        publish_allowed=False,
        publish_hint=violations[0].message,
        violations=violations,
        notices=(),
        max_video_post_duration_sec=creator.max_video_post_duration_sec,
    )


def _privacy_choices(
    creator: CreatorFacts, draft: Draft, policy: AppPolicy
) -> tuple[PrivacyChoice, ...]:
    branded = draft.disclose_commercial and draft.branded_content
    choices = []
    for value in offered_privacy_levels(creator, policy):
        locked = branded and value == "SELF_ONLY"
        choices.append(
            PrivacyChoice(
                value=value,
                label=PRIVACY_LABELS.get(value, value),
                selected=draft.privacy_level == value,
                disabled=locked,
                hint=texts.BRANDED_NOT_PRIVATE if locked else "",
            )
        )
    return tuple(choices)


def _privacy_note(draft: Draft, policy: AppPolicy) -> str:
    if draft.disclose_commercial and draft.branded_content:
        return texts.BRANDED_NOT_PRIVATE
    if not policy.audited:
        return texts.UNAUDITED_PRIVACY_NOTE
    return ""


def _interactions(
    creator: CreatorFacts, draft: Draft, kind: MediaKind, direct: bool
) -> tuple[Toggle, ...]:
    video = kind == "video"
    rows = (
        ("allow_comment", "Allow comment", True, draft.allow_comment, creator.comment_disabled),
        ("allow_duet", "Duet", video, draft.allow_duet, creator.duet_disabled),
        ("allow_stitch", "Stitch", video, draft.allow_stitch, creator.stitch_disabled),
    )
    return tuple(
        Toggle(
            name=name,
            label=label,
            shown=direct and shown,
            # A control the creator has turned off in TikTok is never shown as on (UX-2c).
            checked=checked and not disabled,
            disabled=disabled,
            hint=f"{label} is turned off in your TikTok settings." if disabled else "",
        )
        for name, label, shown, checked, disabled in rows
    )


def _disclosure(draft: Draft, policy: AppPolicy, kind: MediaKind, direct: bool) -> Disclosure:
    on = direct and draft.disclose_commercial
    your_brand = on and draft.your_brand
    branded_checked = on and draft.branded_content
    branded_disabled = False
    branded_hint = ""
    # A box that is already checked stays changeable, so the user can always undo it.
    if not branded_checked and not policy.audited:
        branded_disabled, branded_hint = True, texts.BRANDED_UNAVAILABLE_UNAUDITED
    elif not branded_checked and draft.privacy_level == "SELF_ONLY":
        branded_disabled, branded_hint = True, texts.BRANDED_NEEDS_VISIBILITY
    return Disclosure(
        shown=direct,
        on=on,
        your_brand=Toggle("your_brand", "Your brand", shown=on, checked=your_brand),
        branded_content=Toggle(
            "branded_content",
            "Branded content",
            shown=on,
            checked=branded_checked,
            disabled=branded_disabled,
            hint=branded_hint,
        ),
        label_prompt=(
            texts.label_prompt(kind, your_brand=your_brand, branded_content=branded_checked)
            if on
            else None
        ),
    )
