"""Prepared posts, personal access tokens, account members and invitations (issue 18); a post
remembers who prepared it.

Revision ID: 0010_prepared_posts
Revises: 0009_notifications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_prepared_posts"
down_revision = "0009_notifications"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("api_tokens", "person_id", "people", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_api_tokens_person_id"), "api_tokens", ["person_id"])
    op.create_table(
        "account_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("account_members", "account_id", "tiktok_accounts", "CASCADE"),
        _fk("account_members", "person_id", "people", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_members")),
        sa.UniqueConstraint("account_id", "person_id", name="uq_account_members_account_person"),
    )
    op.create_index(op.f("ix_account_members_account_id"), "account_members", ["account_id"])
    op.create_index(op.f("ix_account_members_person_id"), "account_members", ["person_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("invites", "account_id", "tiktok_accounts", "CASCADE"),
        _fk("invites", "created_by", "people", "CASCADE"),
        _fk("invites", "accepted_by", "people", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invites_token_hash")),
    )
    op.create_index(op.f("ix_invites_account_id"), "invites", ["account_id"])
    op.create_table(
        "prepared_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("prepared_by", sa.Integer(), nullable=True),
        sa.Column("prepared_by_name", sa.String(length=200), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("privacy_suggestion", sa.String(length=40), nullable=False),
        sa.Column("schedule_suggestion", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _fk("prepared_posts", "account_id", "tiktok_accounts", "CASCADE"),
        _fk("prepared_posts", "prepared_by", "people", "SET NULL"),
        _fk("prepared_posts", "upload_id", "uploads", "SET NULL"),
        _fk("prepared_posts", "post_id", "posts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepared_posts")),
        sa.UniqueConstraint("prepared_by", "idempotency_key", name="uq_prepared_posts_idempotency"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_prepared_posts_account_id"), "prepared_posts", ["account_id"])
    op.create_index(op.f("ix_prepared_posts_prepared_by"), "prepared_posts", ["prepared_by"])
    op.create_index("ix_prepared_posts_account_state", "prepared_posts", ["account_id", "state"])
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepared_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_notifications_prepared_id_prepared_posts"),
            "prepared_posts",
            ["prepared_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepared_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_posts_prepared_by_people"),
            "people",
            ["prepared_by"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_posts_prepared_by_people"), type_="foreignkey")
        batch_op.drop_column("prepared_by")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_notifications_prepared_id_prepared_posts"), type_="foreignkey"
        )
        batch_op.drop_column("prepared_id")
    op.drop_table("prepared_posts")
    op.drop_table("invites")
    op.drop_table("account_members")
    op.drop_table("api_tokens")
