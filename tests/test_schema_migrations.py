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
