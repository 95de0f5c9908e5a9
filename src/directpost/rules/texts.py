"""The words the Post page must show, in one place.

Strings quoted in TikTok's Content Sharing Guidelines are mandatory wording (requirements.md):
they are written here once and used by both the page and the server checks. They are English
source strings; the web layer passes them through gettext when it renders them (DG-2).
"""

from __future__ import annotations

from typing import Final

from directpost.rules.limits import PENDING_SHARES_PER_DAY, POSTS_PER_CREATOR_PER_DAY
from directpost.rules.model import Declaration, Link, MediaKind

MUSIC_USAGE_URL: Final = "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en"
BRANDED_CONTENT_POLICY_URL: Final = "https://www.tiktok.com/legal/page/global/bc-policy/en"

#: UX-3b: hover text of the disabled publish button.
DISCLOSURE_NEEDS_CHOICE: Final = (
    "You need to indicate if your content promotes yourself, a third party, or both."
)
#: UX-3c: hover text of the disabled "Only me" option once Branded content is checked.
BRANDED_NOT_PRIVATE: Final = "Branded content visibility cannot be set to private."
#: UX-3c: note beside the disabled "Branded content" box while "Only me" is selected.
BRANDED_NEEDS_VISIBILITY: Final = (
    "Branded content visibility can't be private: choose another audience to use it."
)
#: UX-3c while unaudited: only "Only me" may be posted, so branded content is impossible.
BRANDED_UNAVAILABLE_UNAUDITED: Final = (
    "Branded content visibility can't be private, and this app can only post privately "
    "until TikTok has audited it."
)

#: UX-1b: the creator cannot post now.
TRY_AGAIN_LATER: Final = (
    "TikTok says this account cannot post right now. Nothing has been sent. Please try again later."
)
BLOCKED_REASONS: Final[dict[str, str]] = {
    "spam_risk_too_many_posts": "This account has reached TikTok's limit of posts for today.",
    "spam_risk_user_banned_from_posting": "TikTok is not letting this account post at the moment.",
    "reached_active_user_cap": "This app has reached TikTok's daily limit of posting accounts.",
}

#: CAP-2: what an unaudited app means for the creator, and how to go public later.
UNAUDITED_NOTE: Final = (
    "This app has not been audited by TikTok yet, so every post is visible only to you "
    "(\u201cOnly me\u201d) and only private TikTok accounts can post."
)
UNAUDITED_HOW_TO_PUBLIC: Final = (
    "To make a post public later: in the TikTok app, first set your account to public, "
    "then change the post\u2019s privacy to \u201cEveryone\u201d."
)
UNAUDITED_PRIVACY_NOTE: Final = (
    "Until this app is audited by TikTok, posts can only be visible to you (\u201cOnly me\u201d)."
)
UNAUDITED_ACCOUNT_PUBLIC: Final = (
    "Your TikTok account is public. Until this app is audited, only private accounts can "
    "post: in the TikTok app, go to Settings and privacy \u2192 Privacy and turn on "
    "\u201cPrivate account\u201d, then reload this page."
)

INBOX_NOTE: Final = (
    "The post goes to your TikTok inbox as a draft: you finish the caption, privacy and "
    "settings in the TikTok app, where you can also post it."
)
AIGC_NOTE: Final = "TikTok will show \u201cCreator labeled as AI-generated\u201d on the post."
#: UX-5d: said once a post is sent (the post page's template holds the same words for gettext;
#: tests/terminal/test_terminal_texts.py keeps the two equal).
PROCESSING_NOTICE: Final = (
    "Your post has been sent. It may take a few minutes for TikTok to process it and for it "
    "to be visible on your profile."
)


def label_prompt(kind: MediaKind, *, your_brand: bool, branded_content: bool) -> str | None:
    """UX-3a: the label the post will get, or None when no commercial box is checked."""
    noun = "photo" if kind == "photos" else "video"
    if branded_content:
        return f"Your {noun} will be labeled as 'Paid partnership'"
    if your_brand:
        return f"Your {noun} will be labeled as 'Promotional content'"
    return None


def declaration(*, branded_content: bool) -> Declaration:
    """UX-2d / UX-4: the consent sentence; it names the Branded Content Policy when needed."""
    music = Link("Music Usage Confirmation", MUSIC_USAGE_URL)
    if branded_content:
        return Declaration(
            (
                "By posting, you agree to TikTok's ",
                Link("Branded Content Policy", BRANDED_CONTENT_POLICY_URL),
                " and ",
                music,
                ".",
            )
        )
    return Declaration(("By posting, you agree to TikTok's ", music, "."))


# --- caps (CAP-1, CAP-3, CAP-5): one sentence each, for the page, the route and the job ----------


def creator_cap_reached(creators: int) -> str:
    """CAP-1: the app's rolling 24-hour creator cap is used up."""
    return (
        f"{creators} different accounts have already posted through this app in the last 24 "
        "hours, the most TikTok allows it. Nothing has been sent; try again tomorrow."
    )


def daily_posts_reached(posts: int) -> str:
    """CAP-3: this creator's daily posting cap is used up."""
    return (
        f"This account has already posted {posts} times through this app in the last 24 hours, "
        "TikTok's daily limit. Nothing has been sent; try again tomorrow."
    )


def pending_shares_reached(shares: int) -> str:
    """CAP-5: this creator's inbox holds the most pending drafts TikTok allows."""
    return (
        f"{shares} drafts were already sent to this account's TikTok inbox in the last 24 hours, "
        "the most TikTok allows. Post or delete them in the TikTok app, then try again tomorrow."
    )


def _posts(n: int) -> str:
    return "1 post" if n == 1 else f"{n} posts"


def day_posts_planned(day: str, posts: int) -> str:
    """CAP-3 on the day picked for "publish later"."""
    cap = POSTS_PER_CREATOR_PER_DAY
    if posts >= cap:
        return (
            f"{day} already has {_posts(posts)} for this account, TikTok's daily limit: this "
            "post would be refused at its time. Pick another day."
        )
    return (
        f"{day}: {_posts(posts) if posts else 'no other posts'} planned for this account. "
        f"TikTok allows about {cap} a day for each account."
    )


def day_inbox_planned(day: str, drafts: int) -> str:
    """CAP-5 on the day picked for "publish later"."""
    cap = PENDING_SHARES_PER_DAY
    if drafts >= cap:
        return (
            f"{day} already has {drafts} drafts for this account's inbox, the most TikTok "
            "allows in a day: this one would be refused at its time. Pick another day."
        )
    return f"{day}: {drafts} of {cap} inbox drafts TikTok allows in a day for this account."


def day_creators_planned(day: str, creators: int, cap: int) -> str:
    """CAP-1 on the day picked for "publish later"."""
    if creators >= cap:
        return (
            f"{day} already has posts from {creators} accounts, the most this app may post "
            f"for in a day ({cap}). Posts from those accounts still go; a post from another "
            "account that day would be refused at its time."
        )
    return (
        f"{day}: {creators} of the {cap} accounts this app may post for in a day have posts "
        "planned."
    )
