"""coaching notes: conversations the PMO planned or offered, with their chased follow-up

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaching_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("planned_by_id", sa.Integer(), nullable=False),
        sa.Column("with_person_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("follow_up_action_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["planned_by_id"], ["people.id"], name=op.f("fk_coaching_notes_planned_by_id_people")),
        sa.ForeignKeyConstraint(
            ["with_person_id"], ["people.id"], name=op.f("fk_coaching_notes_with_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_coaching_notes_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_coaching_notes_escalation_id_escalations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_action_id"],
            ["actions.id"],
            name=op.f("fk_coaching_notes_follow_up_action_id_actions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_notes")),
    )
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coaching_notes_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coaching_notes_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_notes_created_at"))
        batch_op.drop_index(batch_op.f("ix_coaching_notes_project_id"))
    op.drop_table("coaching_notes")
