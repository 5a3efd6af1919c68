"""Create or upgrade the schema with Alembic (migrations in engine/store/migrations)."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from engine.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.write_engine
    return cfg


@contextmanager
def _exclusive(db: Database):
    # Several API and worker processes start at once; only one may migrate at a time.
    if db.is_postgres:
        with db.write_engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(7254001)"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(7254001)"))
                conn.commit()
    else:
        path = str(db.write_engine.url.database or "")
        if not path or path == ":memory:":
            yield
            return
        with open(path + ".migrate.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(db: Database) -> None:
    with _exclusive(db):
        command.upgrade(alembic_config(db), "head")
