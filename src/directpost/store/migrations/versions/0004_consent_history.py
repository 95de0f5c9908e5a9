"""Consents are a history: a post keeps every consent the creator gave (UX-5c).

Revision ID: 0004_consent_history
Revises: 0003_publishing
"""

from __future__ import annotations

from alembic import op

revision = "0004_consent_history"
down_revision = "0003_publishing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One consent per post was enforced by a unique index; confirming again now adds a row.
    with op.batch_alter_table("post_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_consents_post_id"))
        batch_op.create_index(batch_op.f("ix_post_consents_post_id"), ["post_id"], unique=False)


def downgrade() -> None:
    # Back to one consent per post: the latest of each post stays.
    op.execute(
        "DELETE FROM post_consents WHERE id NOT IN "
        "(SELECT max(id) FROM post_consents GROUP BY post_id)"
    )
    with op.batch_alter_table("post_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_consents_post_id"))
        batch_op.create_index(batch_op.f("ix_post_consents_post_id"), ["post_id"], unique=True)
