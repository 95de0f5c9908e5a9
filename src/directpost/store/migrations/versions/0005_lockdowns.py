"""Lockdowns (TOS-2): the switch every process reads before each TikTok request.

Revision ID: 0005_lockdowns
Revises: 0004_consent_history
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_lockdowns"
down_revision = "0004_consent_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lockdowns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lockdowns")),
    )
    with op.batch_alter_table("lockdowns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lockdowns_lifted_at"), ["lifted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lockdowns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lockdowns_lifted_at"))
    op.drop_table("lockdowns")
