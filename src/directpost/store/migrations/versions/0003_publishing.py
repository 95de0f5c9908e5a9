"""Publishing: posts with consent records, publish attempts with per-attempt media URLs,
webhook de-duplication, shared rate budgets and per-creator publish leases.

Revision ID: 0003_publishing
Revises: 0002_uploads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_publishing"
down_revision = "0002_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_budget_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_budget_hits")),
    )
    with op.batch_alter_table("rate_budget_hits", schema=None) as batch_op:
        batch_op.create_index("ix_rate_budget_hits_key_at", ["key", "at"], unique=False)

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("open_id", sa.String(length=128), nullable=False),
        sa.Column("publish_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_events_dedupe_key")),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("open_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("log_id", sa.String(length=128), nullable=False),
        sa.Column("publish_id", sa.String(length=64), nullable=True),
        sa.Column("post_ids", sa.JSON(), nullable=False),
        sa.Column("tiktok_status", sa.String(length=32), nullable=False),
        sa.Column("publicly_available", sa.Boolean(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enqueued_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiktok_accounts.id"],
            name=op.f("fk_posts_account_id_tiktok_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_posts_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("publish_id", name=op.f("uq_posts_publish_id")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_open_id"), ["open_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_posts_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "publish_leases",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiktok_accounts.id"],
            name=op.f("fk_publish_leases_account_id_tiktok_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_publish_leases")),
    )
    op.create_table(
        "post_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("creator_info", sa.JSON(), nullable=False),
        sa.Column("declaration", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_consents_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_consents")),
    )
    with op.batch_alter_table("post_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_consents_post_id"), ["post_id"], unique=True)

    op.create_table(
        "publish_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("media_token", sa.String(length=96), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_id", sa.String(length=64), nullable=True),
        sa.Column("upload_url", sa.Text(), nullable=True),
        sa.Column("upload_done", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("log_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_publish_attempts_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_attempts")),
        sa.UniqueConstraint("media_token", name=op.f("uq_publish_attempts_media_token")),
        sa.UniqueConstraint("post_id", "number", name=op.f("uq_publish_attempts_post_id")),
    )
    with op.batch_alter_table("publish_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publish_attempts_post_id"), ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publish_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_attempts_post_id"))

    op.drop_table("publish_attempts")
    with op.batch_alter_table("post_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_consents_post_id"))

    op.drop_table("post_consents")
    op.drop_table("publish_leases")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_state_due_at")
        batch_op.drop_index(batch_op.f("ix_posts_person_id"))
        batch_op.drop_index(batch_op.f("ix_posts_open_id"))
        batch_op.drop_index(batch_op.f("ix_posts_account_id"))

    op.drop_table("posts")
    op.drop_table("webhook_events")
    with op.batch_alter_table("rate_budget_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_budget_hits_key_at")

    op.drop_table("rate_budget_hits")
