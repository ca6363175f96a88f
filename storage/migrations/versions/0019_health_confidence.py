"""project_health.confidence, and indexes for "my projects": a status page reads what it shows

The status table, Home and the digest read the latest check-in's level from the summary;
projects.sponsor_id, projects.lead_id and project_members.person_id are indexed, so a sponsor's
or lead's table is found by index rather than by a scan of the portfolio.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 08:00:00

Every summary row is marked stale (as_of NULL), so the first read or tick recomputes it with the level.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidence", sa.String(length=24), nullable=True))
    op.execute("UPDATE project_health SET as_of = NULL, version = version + 1")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index("ix_projects_sponsor_id", ["sponsor_id"], unique=False)
        batch_op.create_index("ix_projects_lead_id", ["lead_id"], unique=False)
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.create_index("ix_project_members_person_id", ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_index("ix_project_members_person_id")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_lead_id")
        batch_op.drop_index("ix_projects_sponsor_id")
    with op.batch_alter_table("project_health", schema=None) as batch_op:
        batch_op.drop_column("confidence")
