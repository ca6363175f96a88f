"""escalation causes as facts, and settled alerts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KINDS = (
    "checkin_attention",
    "checkin_missed",
    "broken_channel",
    "action_overdue",
    "owner_unreachable",
    "incident_priority",
    "portfolio_sync",
    "legacy",
)
_escalations = sa.table(
    "escalations",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("reason", sa.Text),
    sa.column("evidence", sa.Text),
    sa.column("facts", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    # Alerts already raised keep their wording: shown as they were until their cause moves on.
    connection = op.get_bind()
    for row in connection.execute(sa.select(_escalations.c.id, _escalations.c.reason, _escalations.c.evidence)):
        connection.execute(
            _escalations.update()
            .where(_escalations.c.id == row.id)
            .values(kind="legacy", facts={"text": row.reason, "evidence": row.evidence})
        )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.alter_column("facts", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=40),
            type_=sa.Enum(*_KINDS, name="escalation_kind", native_enum=False, create_constraint=True, length=24),
        )
        batch_op.drop_column("reason")
        batch_op.drop_column("evidence")


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(_escalations.c.id, _escalations.c.kind, _escalations.c.facts)):
        facts = row.facts or {}
        connection.execute(
            _escalations.update()
            .where(_escalations.c.id == row.id)
            .values(reason=facts.get("text") or row.kind, evidence=facts.get("evidence"))
        )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column(
            "kind",
            existing_type=sa.Enum(*_KINDS, name="escalation_kind", native_enum=False, length=24),
            type_=sa.String(length=40),
        )
        batch_op.drop_constraint("escalation_kind", type_="check")
        batch_op.drop_column("settled_at")
        batch_op.drop_column("facts")
