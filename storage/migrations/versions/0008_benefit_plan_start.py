"""benefits.plan_start_date: the day a benefit's plan starts (its baseline's date)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_start_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.drop_column("plan_start_date")
