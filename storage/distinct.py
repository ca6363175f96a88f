"""The distinct values of an indexed column, read by a loose index scan.

`SELECT DISTINCT column` reads every row (or every index entry) even when the column holds
a handful of values, as a workspace id or a timezone does on a large portfolio. Asking the
index instead for "the smallest value above the last one found", once per value, costs one
index probe per distinct value: the recursive query below does that in one statement, on
SQLite and PostgreSQL alike (the PostgreSQL wiki's "loose indexscan").
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session


def distinct_values(session: Session, column: InstrumentedAttribute[Any]) -> list[Any]:
    """The column's distinct values other than NULL, smallest first; `column` must lead an index."""
    return list(session.scalars(_loose_index_scan(column)))


@cache
def _loose_index_scan(column: InstrumentedAttribute[Any]) -> Select[tuple[Any]]:
    # Built once per column: building a recursive query costs more than running it.
    found = select(func.min(column).label("value")).cte("found", recursive=True)
    above_last = select(func.min(column)).where(column > found.c.value).scalar_subquery()
    found = found.union_all(select(above_last).where(found.c.value.is_not(None)))
    return select(found.c.value).where(found.c.value.is_not(None))
