"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

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


def test_issues_recorded_before_their_history_existed_get_it_from_their_own_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'issues.sqlite3'}")
    command.upgrade(alembic_config(engine), "0017")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO people (id, slack_user_id, created_at) VALUES (1, 'U0LEAD', '2026-11-01 09:00:00');")
        )
        connection.execute(
            text(
                "INSERT INTO projects (id, key, name, status, checkin_day, checkin_time, created_at, updated_at)"
                " VALUES (1, 'CRM-2', 'Customer records', 'active', 0, '09:30', '2026-11-01', '2026-11-01')"
            )
        )
        for issue_id, closed_at in ((1, None), (2, "2026-11-20 10:00:00")):
            connection.execute(
                text(
                    "INSERT INTO issues (id, project_id, title, owner_id, severity, status, created_by_id,"
                    " created_at, closed_at) VALUES (:id, 1, 'Late', 1, 'high', :status, 1, '2026-11-02', :closed)"
                ),
                {"id": issue_id, "status": "closed" if closed_at else "open", "closed": closed_at},
            )

    upgrade_to_head(engine)

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT issue_id, kind, actor_id FROM issue_events ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "created", 1), (2, "created", 1), (2, "closed", None)]
