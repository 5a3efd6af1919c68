"""The migrations build exactly the schema the models declare (tables, columns, indexes), on
SQLite and PostgreSQL: an index added to a model but not to a migration would exist in tests
that create tables from the models and be missing in every upgraded database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import db_url_for


def test_upgraded_schema_matches_the_models(backend, tmp_path, request):
    from engine.store.db import Database
    from engine.store.migrate import upgrade
    from engine.store.models import Base

    db = Database(db_url_for(backend, tmp_path, request))
    try:
        upgrade(db)
        with db.write_engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        from alembic.script import ScriptDirectory

        from engine.store.migrate import alembic_config

        with db.write_engine.connect() as conn:
            assert (
                MigrationContext.configure(conn).get_current_revision()
                == ScriptDirectory.from_config(alembic_config(db)).get_current_head()
            )
    finally:
        db.dispose()


def test_0008_keeps_existing_incidents_open_and_links_parked_connector_calls(backend, tmp_path, request):
    """Incidents recorded before 0008 are open; one a connector call is parked on names the call's
    task (so the call's later success resolves it); the downgrade drops the new columns again."""
    import sqlalchemy as sa
    from alembic import command

    from engine.store.db import Database
    from engine.store.migrate import alembic_config

    db = Database(db_url_for(backend, tmp_path, request))
    try:
        cfg = alembic_config(db)
        command.upgrade(cfg, "0007")
        with db.write_engine.begin() as conn:
            for n, cmd in ((1, "fire_timers"), (2, "connector"), (3, "connector")):
                conn.execute(
                    sa.text(
                        "INSERT INTO incidents (id, command, message, created_at)"
                        " VALUES (:id, :cmd, 'failed', '2025-01-02 03:04:05')"
                    ),
                    {"id": n, "cmd": cmd},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO connector_jobs (task_id, instance_id, connector, status, attempts, incident_id)"
                    " VALUES ('task-a', 7, 'enterprise_db.credit', 'failed', 1, 3)"
                )
            )
        command.upgrade(cfg, "head")
        with db.write_engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, status, task_id, resolved_at, resolved_by, resolution FROM incidents ORDER BY id")
            ).all()
            assert [tuple(r) for r in rows] == [
                (1, "open", None, None, None, None),
                (2, "open", None, None, None, None),  # no call is parked on it any more
                (3, "open", "task-a", None, None, None),
            ]
            assert conn.execute(sa.text("SELECT retried_by FROM connector_jobs")).scalar_one() is None
        command.downgrade(cfg, "0007")
        with db.write_engine.connect() as conn:
            cols = {c["name"] for c in sa.inspect(conn).get_columns("incidents")}
            assert "status" not in cols and "resolution" not in cols and "created_at" in cols
            assert conn.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one() == 3
    finally:
        db.dispose()
