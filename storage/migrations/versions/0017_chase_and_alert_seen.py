"""checkin_periods.answered_seen_at, escalations.alert_seen_in_ledger_at: an idle tick reads only what may be due

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 02:20:00

The history is recorded here (every answered period, every alert in the ledger), so the
columns are NULL only for what a tick may still have to chase or post.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_checkin_periods_answered_seen_at_prompted_at", ["answered_seen_at", "prompted_at"], unique=False
        )
    op.execute(
        "UPDATE checkin_periods SET answered_seen_at = CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM checkins"
        " WHERE checkins.project_id = checkin_periods.project_id AND checkins.period = checkin_periods.period)"
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_seen_in_ledger_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_escalations_alert_seen_in_ledger_at"), ["alert_seen_in_ledger_at"], unique=False
        )
    op.execute(
        "UPDATE escalations SET alert_seen_in_ledger_at = CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM"
        " outgoing_messages WHERE outgoing_messages.idempotency_key = 'escalation:' || escalations.cause_key)"
    )


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_alert_seen_in_ledger_at"))
        batch_op.drop_column("alert_seen_in_ledger_at")
    with op.batch_alter_table("checkin_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_periods_answered_seen_at_prompted_at")
        batch_op.drop_column("answered_seen_at")
