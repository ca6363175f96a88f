"""Engines, sessions and the schema's migration state.

Nothing here runs at import time: the CLI and the tests build an engine from settings.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from storage import (
    audit,
    health,
    models,  # noqa: F401  (every table on Base.metadata, for rebuild_schema)
)
from storage.base import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = Callable[[], Session]


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        # The app serves requests on several threads; SQLite waits for the write lock
        # instead of failing at once, and enforces foreign keys only when asked.
        engine = create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(database_url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # 1 MiB of page cache per connection instead of 2: each of a worker's pooled connections
    # keeps its own, and the OS caches the file for all of them anyway.
    cursor.execute("PRAGMA cache_size=-1000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    audit.install(factory)  # every change made through these sessions is on the audit trail
    health.install(factory)  # and marks the status summary of the projects it touches stale
    return factory


@contextmanager
def unit_of_work(session_factory: SessionFactory) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    session = session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_is_reachable(session_factory: SessionFactory) -> bool:
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "not reachable" to a health check
        return False


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py uses this engine rather than building its own from a URL.
    config.attributes["engine"] = engine
    return config


class SchemaState(enum.Enum):
    EMPTY = "empty"
    CURRENT = "current"
    PENDING = "pending"


def schema_state(engine: Engine) -> SchemaState:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        if not inspect(connection).get_table_names():
            return SchemaState.EMPTY
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaState.CURRENT if current == head else SchemaState.PENDING


def upgrade_to_head(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")


def rebuild_schema(engine: Engine) -> None:
    """Drop every table, and Alembic's record of them, then migrate from scratch.

    For test and benchmark databases only: it destroys whatever the database holds.
    """
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade_to_head(engine)


class PendingMigrations(Exception):
    pass


def prepare_schema(engine: Engine, *, auto_migrate: bool) -> None:
    """Create the schema on an empty database; refuse to run on an out-of-date one."""
    state = schema_state(engine)
    if state is SchemaState.EMPTY or (state is SchemaState.PENDING and auto_migrate):
        upgrade_to_head(engine)
    elif state is SchemaState.PENDING:
        raise PendingMigrations(
            "the database has migrations pending: run `pmo-bot db upgrade` (or set AUTO_MIGRATE=true)"
        )
