"""issue_events: an issue's notes and history, as risk_events is a risk's

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 08:00:00

Issues recorded before this have their history begin with what their own row says: when
they were created (and by whom) and, for closed ones, when they were closed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issue_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name=op.f("fk_issue_events_actor_id_people")),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_issue_events_issue_id_issues"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_events")),
    )
    with op.batch_alter_table("issue_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issue_events_issue_id"), ["issue_id"], unique=False)
    op.execute(
        "INSERT INTO issue_events (issue_id, kind, actor_id, detail, created_at)"
        " SELECT id, 'created', created_by_id, '{}', created_at FROM issues ORDER BY id"
    )
    op.execute(
        "INSERT INTO issue_events (issue_id, kind, actor_id, detail, created_at)"
        " SELECT id, 'closed', NULL, '{}', closed_at FROM issues WHERE closed_at IS NOT NULL ORDER BY id"
    )


def downgrade() -> None:
    with op.batch_alter_table("issue_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issue_events_issue_id"))
    op.drop_table("issue_events")
