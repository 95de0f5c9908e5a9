"""Which of an attempt's media files our media service sent to their last byte (bit i for file
i): a pull that TikTok reports failed before we sent them all may have failed because of us,
and is retried.

Revision ID: 0008_media_served
Revises: 0007_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_media_served"
down_revision = "0007_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publish_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("media_served", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("publish_attempts", schema=None) as batch_op:
        batch_op.drop_column("media_served")
