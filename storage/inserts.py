"""`INSERT ... ON CONFLICT DO NOTHING` on SQLite and PostgreSQL alike.

A unique key is how two instances agree who does something once (sends a message, opens a
check-in period). Inserting with ON CONFLICT DO NOTHING asks that question without an
error: the caller's transaction, and every row it added before, stays intact. Catching an
IntegrityError instead would leave only a rollback of the whole transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.base import Base


def insert_unless_taken(
    session: Session, model: type[Base], values: dict[str, Any], unique_columns: Sequence[str]
) -> int | None:
    """Insert one row; its id, or None when a row with the same unique columns exists.

    On PostgreSQL a concurrent, not yet committed insert of the same key makes this wait
    for that transaction: then it inserts (the other rolled back) or returns None.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=list(unique_columns)).returning(model.id)  # type: ignore[attr-defined]
    )
    return session.scalar(statement)
