"""The app's own measures (DG-3): counts and latency histograms per minute, from every process.

Revision ID: 0006_measures
Revises: 0005_lockdowns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_measures"
down_revision = "0005_lockdowns"
branch_labels = None
depends_on = None

#: The latency histogram's columns (`store.measures.BUCKET_COLUMNS`), written out here so this
#: migration keeps creating the same table whatever the model becomes.
_BUCKETS = ("h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8")


def upgrade() -> None:
    op.create_table(
        "measures",
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=80), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seconds_sum", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _BUCKETS),
        sa.PrimaryKeyConstraint("minute", "name", "label", "outcome", name=op.f("pk_measures")),
    )


def downgrade() -> None:
    op.drop_table("measures")
