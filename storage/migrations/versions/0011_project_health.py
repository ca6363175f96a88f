"""project_health: each project's status-table row, so a page of `/pmo status` is one indexed read

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_RAGS = ("red", "amber", "green")


def upgrade() -> None:
    op.create_table(
        "project_health",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "rag",
            sa.Enum(*_RAGS, name="health_rag", native_enum=False, create_constraint=True, length=24),
            nullable=True,
        ),
        sa.Column(
            "previous_rag",
            sa.Enum(*_RAGS, name="health_previous_rag", native_enum=False, create_constraint=True, length=24),
            nullable=True,
        ),
        sa.Column("last_checkin_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_actions", sa.Integer(), nullable=False),
        sa.Column("benefits_off_trajectory", sa.Integer(), nullable=False),
        sa.Column("open_incidents", sa.Integer(), nullable=False),
        sa.Column("sort_key", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id"),
    )
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_health_as_of"), ["as_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_health_sort_key"), ["sort_key"], unique=False)
    # Every existing project starts stale: the first read or tick computes its row.
    op.execute(
        "INSERT INTO project_health (project_id, as_of, version, overdue_actions, benefits_off_trajectory, "
        "open_incidents, sort_key) SELECT id, NULL, 1, 0, 0, 0, '' FROM projects"
    )


def downgrade() -> None:
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_health_sort_key"))
        batch_op.drop_index(batch_op.f("ix_project_health_as_of"))
    op.drop_table("project_health")
