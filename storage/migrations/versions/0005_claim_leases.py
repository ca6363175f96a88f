"""claims are leases: pending ledger rows get the instant their claim runs out

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# bot.services.outbox.CLAIM_LEASE, as it was when this ran.
LEASE_MINUTES = 10


def upgrade() -> None:
    # Rows left pending by a sender that died before this release had no lease: give them one
    # that has run out, so the next tick's retry job sends what was lost.
    outgoing = sa.table(
        "outgoing_messages",
        sa.column("status", sa.String),
        sa.column("next_attempt_at", sa.DateTime),
        sa.column("created_at", sa.DateTime),
    )
    op.execute(
        outgoing.update()
        .where(outgoing.c.status == "pending", outgoing.c.next_attempt_at.is_(None))
        .values(next_attempt_at=outgoing.c.created_at)
    )


def downgrade() -> None:
    # Nothing to undo: older code ignores next_attempt_at on pending rows.
    pass
