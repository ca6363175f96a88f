"""absences: several spells away per person, replacing people.away_from/away_until

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_people = sa.table(
    "people",
    sa.column("id", sa.Integer),
    sa.column("away_from", sa.Date),
    sa.column("away_until", sa.Date),
)
_absences = sa.table(
    "absences",
    sa.column("person_id", sa.Integer),
    sa.column("first_day", sa.Date),
    sa.column("last_day", sa.Date),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_absences_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absences_person_id"), ["person_id"], unique=False)
    connection = op.get_bind()
    # The one absence each person had becomes their first row; when it was entered is not known.
    migrated_at = datetime.now(timezone.utc)
    rows = connection.execute(
        sa.select(_people.c.id, _people.c.away_from, _people.c.away_until).where(
            _people.c.away_from.is_not(None), _people.c.away_until.is_not(None)
        )
    ).all()
    if rows:
        connection.execute(
            _absences.insert(),
            [
                {"person_id": row.id, "first_day": row.away_from, "last_day": row.away_until, "created_at": migrated_at}
                for row in rows
            ],
        )
    # A plain ALTER TABLE, not a batch copy: on SQLite, copying `people` would mean dropping a
    # table every other one refers to, which its foreign keys refuse.
    op.drop_column("people", "away_until")
    op.drop_column("people", "away_from")


def downgrade() -> None:
    op.add_column("people", sa.Column("away_from", sa.Date(), nullable=True))
    op.add_column("people", sa.Column("away_until", sa.Date(), nullable=True))
    connection = op.get_bind()
    # One column pair holds one absence: each person keeps the latest one they have.
    latest: dict[int, tuple] = {}
    for row in connection.execute(
        sa.select(_absences.c.person_id, _absences.c.first_day, _absences.c.last_day).order_by(_absences.c.first_day)
    ):
        latest[row.person_id] = (row.first_day, row.last_day)
    for person_id, (first, last) in latest.items():
        connection.execute(_people.update().where(_people.c.id == person_id).values(away_from=first, away_until=last))
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absences_person_id"))
    op.drop_table("absences")
