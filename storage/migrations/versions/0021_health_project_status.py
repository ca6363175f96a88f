"""project_health.project_status: the open portfolio counted by colour from one index

The status table and the Home tab count the open portfolio by colour on every page. With the
project's own status kept in the summary, that count reads the (project_status, rag,
confidence) index alone instead of joining every project's row.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 18:30:00

Filled from the projects here; reads and the tick keep it from then on (a project's change
marks its summary stale).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "project_status",
                sa.Enum(
                    "active",
                    "paused",
                    "closed",
                    name="health_project_status",
                    native_enum=False,
                    create_constraint=True,
                    length=24,
                ),
                nullable=False,
                server_default="active",
            )
        )
    op.execute(
        "UPDATE project_health SET project_status = "
        "(SELECT projects.status FROM projects WHERE projects.id = project_health.project_id)"
    )
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.alter_column("project_status", server_default=None)
        batch_op.create_index("ix_project_health_status_rag", ["project_status", "rag", "confidence"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.drop_index("ix_project_health_status_rag")
        batch_op.drop_constraint("health_project_status", type_="check")
        batch_op.drop_column("project_status")
