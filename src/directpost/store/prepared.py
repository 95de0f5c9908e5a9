"""Prepared posts (issue 18): media with suggested words, privacy and time, made by a script,
a teammate or an AI agent for one account, waiting for the creator to review them.

A prepared post is not a post: it consents to nothing and publishes nothing. It becomes a post
only when the account's owner confirms it on the Post page (UX-5c); its `post_id` then points
to that post. Its states: `to_review` → `confirmed` | `rejected` (by the owner, with a reason
the preparer reads) | `withdrawn` (by the preparer, while still to review) | `expired` (nobody reviewed it in time).

Idempotency: a create carries a key; the same person sending the same key again gets the
prepared post the first request made (a unique index makes two concurrent retries one row).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from directpost.store.accounts import TikTokAccount
from directpost.store.base import Base, UTCDateTime, utcnow
from directpost.store.posts import Post
from directpost.store.team import AccountMember

TO_REVIEW: Final = "to_review"
CONFIRMED: Final = "confirmed"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"
#: Nobody reviewed it within `publishing.prepared.REVIEW_WITHIN`: its media went.
EXPIRED: Final = "expired"
STATES: Final = (TO_REVIEW, CONFIRMED, REJECTED, WITHDRAWN, EXPIRED)


class PreparedPost(Base):
    """One prepared post (see the module docstring)."""

    __tablename__ = "prepared_posts"
    __table_args__ = (
        UniqueConstraint("prepared_by", "idempotency_key", name="uq_prepared_posts_idempotency"),
        Index("ix_prepared_posts_account_state", "account_id", "state"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("tiktok_accounts.id", ondelete="CASCADE"), index=True
    )
    #: Who prepared it (the owner, or a member); None once that person deleted their data.
    prepared_by: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: Shown to the owner: "prepared by <name>" (a token's name, a teammate's nickname).
    prepared_by_name: Mapped[str] = mapped_column(String(200), default="")
    upload_id: Mapped[str | None] = mapped_column(
        ForeignKey("uploads.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: A suggestion only: shown as text on the Post page, never chosen for the creator (UX-2b).
    privacy_suggestion: Mapped[str] = mapped_column(String(40), default="")
    schedule_suggestion: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default=TO_REVIEW)
    #: The owner's reason for rejecting it (read by the preparer).
    reason: Mapped[str] = mapped_column(Text, default="")
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), nullable=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: SHA-256 of the create request's body: the same key with another body is refused.
    request_digest: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def by_idempotency_key(session: Session, *, person_id: int, key: str) -> PreparedPost | None:
    return session.scalar(
        select(PreparedPost).where(
            PreparedPost.prepared_by == person_id, PreparedPost.idempotency_key == key
        )
    )


def _visible_to(person_id: int):  # type: ignore[no-untyped-def]
    """The rows a person may see: all of their own accounts' prepared posts, and what they
    prepared themselves for an account still granted to them (USE-2)."""
    owned = select(TikTokAccount.id).where(TikTokAccount.person_id == person_id)
    granted = select(AccountMember.account_id).where(AccountMember.person_id == person_id)
    return or_(
        PreparedPost.account_id.in_(owned),
        (PreparedPost.prepared_by == person_id) & PreparedPost.account_id.in_(granted),
    )


def get_visible(session: Session, *, person_id: int, prepared_id: int) -> PreparedPost | None:
    """One prepared post the person may see, or None (also for someone else's: same answer)."""
    return session.scalar(
        select(PreparedPost).where(PreparedPost.id == prepared_id, _visible_to(person_id))
    )


def get_for_owner(session: Session, *, person_id: int, prepared_id: int) -> PreparedPost | None:
    """One prepared post of an account the person owns (only the owner decides), or None."""
    return session.scalar(
        select(PreparedPost)
        .join(TikTokAccount, TikTokAccount.id == PreparedPost.account_id)
        .where(PreparedPost.id == prepared_id, TikTokAccount.person_id == person_id)
    )


def list_visible(
    session: Session,
    *,
    person_id: int,
    state: str | None = None,
    account_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[PreparedPost]:
    """Newest first; `before_id` pages on."""
    query = select(PreparedPost).where(_visible_to(person_id))
    if state is not None:
        query = query.where(PreparedPost.state == state)
    if account_id is not None:
        query = query.where(PreparedPost.account_id == account_id)
    if before_id is not None:
        query = query.where(PreparedPost.id < before_id)
    return list(session.scalars(query.order_by(PreparedPost.id.desc()).limit(limit)))


def to_review_count_of(
    person_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ScalarSelect[int]:
    """Prepared posts waiting for the person (the header's "To review" badge), as a subquery
    read beside the person by a page's one statement."""
    owned = select(TikTokAccount.id).where(TikTokAccount.person_id == person_id)
    return (
        select(func.count(PreparedPost.id))
        .where(
            PreparedPost.state == TO_REVIEW, PreparedPost.account_id.in_(owned.scalar_subquery())
        )
        .correlate_except(PreparedPost, TikTokAccount)
        .scalar_subquery()
    )


def to_review_count(session: Session, *, owner_id: int) -> int:
    """How many prepared posts wait for this owner (the header's badge)."""
    return int(
        session.scalar(
            select(func.count(PreparedPost.id))
            .join(TikTokAccount, TikTokAccount.id == PreparedPost.account_id)
            .where(TikTokAccount.person_id == owner_id, PreparedPost.state == TO_REVIEW)
        )
        or 0
    )


def by_post(session: Session, *, post_id: int) -> PreparedPost | None:
    return session.scalar(select(PreparedPost).where(PreparedPost.post_id == post_id))


def by_upload(session: Session, *, upload_id: str) -> PreparedPost | None:
    """The prepared post whose media this upload is, if any (its upload is not for deleting)."""
    return session.scalar(select(PreparedPost).where(PreparedPost.upload_id == upload_id))


def _post_visible_to(person_id: int):  # type: ignore[no-untyped-def]
    """Posts a person may read through the API: their own, and those made from what they
    prepared for someone else's account (they are told how it ended, they may look)."""
    return or_(Post.person_id == person_id, Post.prepared_by == person_id)


def visible_posts(session: Session, *, person_id: int, limit: int = 100) -> list[Post]:
    return list(
        session.scalars(
            select(Post)
            .where(_post_visible_to(person_id))
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(limit)
        )
    )


def visible_post(session: Session, *, person_id: int, post_id: int) -> Post | None:
    return session.scalar(select(Post).where(Post.id == post_id, _post_visible_to(person_id)))


def unreviewed_since(session: Session, *, before: datetime, limit: int = 100) -> list[PreparedPost]:
    """Prepared posts still to review, made before `before` (oldest first)."""
    return list(
        session.scalars(
            select(PreparedPost)
            .where(PreparedPost.state == TO_REVIEW, PreparedPost.created_at < before)
            .order_by(PreparedPost.id)
            .limit(limit)
        )
    )
