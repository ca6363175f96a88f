"""milestones, dependencies on them, monthly cost reports, and a check-in's confidence level

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("forecast_date", sa.Date(), nullable=False),
        sa.Column("actual_date", sa.Date(), nullable=True),
        sa.Column("slipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "milestone_dependencies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("milestone_id", sa.Integer(), sa.ForeignKey("milestones.id", ondelete="CASCADE"), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=False),
        sa.Column("notified_forecast", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "milestone_id"),
    )
    op.create_index("ix_milestone_dependencies_milestone_id", "milestone_dependencies", ["milestone_id"])
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidence", sa.String(length=24), nullable=True))
    op.create_table(
        "cost_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("budget_whole_life", sa.Numeric(18, 2), nullable=True),
        sa.Column("budget_year", sa.Numeric(18, 2), nullable=True),
        sa.Column("actual_to_date", sa.Numeric(18, 2), nullable=True),
        sa.Column("forecast_outturn", sa.Numeric(18, 2), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "month"),
    )


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_column("confidence")
    op.drop_table("cost_reports")
    op.drop_index("ix_milestone_dependencies_milestone_id", table_name="milestone_dependencies")
    op.drop_table("milestone_dependencies")
    op.drop_table("milestones")
