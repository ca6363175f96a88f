"""Inserting a row that may already exist, without disturbing the caller's transaction.

`INSERT ... ON CONFLICT DO NOTHING` (SQLite and PostgreSQL alike) is the lock for claims:
whoever inserts the unique values first owns them, and a loser learns it from the missing
id instead of from an IntegrityError that would force a rollback of everything the caller
did earlier in the same transaction. (SAVEPOINTs are no substitute on SQLite: pysqlite
opens no transaction before one, so releasing it would commit the caller's work.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.base import Base


def insert_once(session: Session, model: type[Base], values: dict[str, Any], *, unique: Sequence[str]) -> int | None:
    """The new row's id, or None when a row with the same `unique` columns exists already.

    On PostgreSQL a concurrent insert of the same values that is not committed yet makes
    this wait for it, then answers None if it committed (and inserts if it rolled back).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(model.id)  # type: ignore[attr-defined]
    )
    return session.scalar(statement)
