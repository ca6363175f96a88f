"""prompt_schedule, and indexes that let an idle tick read only what is due

`prompt_schedule` keeps, per project, when the check-in prompt job must next look at it
(NULL: at the next tick), so the job reads the projects whose cadence instant has come
rather than every project. The reminders' and the misses' chase each get an index that
leads with their own "not yet done" column, and people.timezone is indexed for the nudge
pass's distinct timezones.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 14:30:00

Every existing project gets a row with check_at NULL: the first tick looks at each once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_schedule",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id"),
    )
    with op.batch_alter_table("prompt_schedule", schema=None) as batch_op:
        batch_op.create_index("ix_prompt_schedule_check_at", ["check_at"], unique=False)
    op.execute("INSERT INTO prompt_schedule (project_id, check_at, version) SELECT id, NULL, 1 FROM projects")
    with op.batch_alter_table("checkin_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_periods_answered_seen_at_prompted_at")
        batch_op.create_index(
            "ix_checkin_periods_reminder_chase", ["reminded_at", "answered_seen_at", "prompted_at"], unique=False
        )
        batch_op.create_index(
            "ix_checkin_periods_miss_chase", ["missed_at", "answered_seen_at", "prompted_at"], unique=False
        )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index("ix_people_timezone", ["timezone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index("ix_people_timezone")
    with op.batch_alter_table("checkin_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_periods_miss_chase")
        batch_op.drop_index("ix_checkin_periods_reminder_chase")
        batch_op.create_index(
            "ix_checkin_periods_answered_seen_at_prompted_at", ["answered_seen_at", "prompted_at"], unique=False
        )
    with op.batch_alter_table("prompt_schedule", schema=None) as batch_op:
        batch_op.drop_index("ix_prompt_schedule_check_at")
    op.drop_table("prompt_schedule")
