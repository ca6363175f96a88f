"""benefits: measure, unit, baseline, target and target date may wait (a benefit not yet measurable)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("measure", sa.String(200)),
    ("unit", sa.String(40)),
    ("baseline", sa.Numeric(18, 4)),
    ("target", sa.Numeric(18, 4)),
    ("target_date", sa.Date()),
)


def upgrade() -> None:
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        for name, column_type in _COLUMNS:
            batch_op.alter_column(name, existing_type=column_type, nullable=True)


def downgrade() -> None:
    # The older schema needs every column: a benefit not yet measurable keeps its name as its
    # measure and gets a flat plan (target = baseline = 0 by the day it was added), which the
    # older trajectory rule never counts off track.
    benefits = sa.table(
        "benefits",
        sa.column("name", sa.String()),
        sa.column("measure", sa.String()),
        sa.column("unit", sa.String()),
        sa.column("baseline", sa.Numeric()),
        sa.column("target", sa.Numeric()),
        sa.column("target_date", sa.Date()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.execute(benefits.update().where(benefits.c.measure.is_(None)).values(measure=benefits.c.name))
    op.execute(benefits.update().where(benefits.c.unit.is_(None)).values(unit=""))
    op.execute(benefits.update().where(benefits.c.baseline.is_(None)).values(baseline=0))
    op.execute(benefits.update().where(benefits.c.target.is_(None)).values(target=benefits.c.baseline))
    op.execute(
        benefits.update()
        .where(benefits.c.target_date.is_(None))
        .values(target_date=sa.func.date(benefits.c.created_at))
    )
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        for name, column_type in _COLUMNS:
            batch_op.alter_column(name, existing_type=column_type, nullable=False)
