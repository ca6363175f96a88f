"""project_health.confidence: the status table, Home and the digest read the latest check-in's level from the summary

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02 08:00:00

Every row is marked stale (as_of NULL), so the first read or tick recomputes it with the level.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidence", sa.String(length=24), nullable=True))
    op.execute("UPDATE project_health SET as_of = NULL, version = version + 1")


def downgrade() -> None:
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.drop_column("confidence")
