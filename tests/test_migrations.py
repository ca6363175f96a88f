"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.base import Base
from storage.session import SchemaState, alembic_config, make_engine, schema_state, upgrade_to_head


def test_migrations_match_the_models_and_downgrade_cleanly(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")

    upgrade_to_head(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    command.downgrade(alembic_config(engine), "base")

    assert differences == []
    assert schema_state(engine) is SchemaState.PENDING  # only alembic_version is left


def test_the_test_database_is_at_head(migrated_engine):
    with migrated_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert differences == []
