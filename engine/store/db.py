"""Database engines and sessions: one session per request or command, explicit transactions.

SQLite: WAL, synchronous=NORMAL, and two engines on the same file — commands open their
transaction with BEGIN IMMEDIATE so two writers never both read-then-upgrade (which SQLite
answers with "database is locked" mid-transaction), while reads stay concurrent.
PostgreSQL: pooled engines (reads in autocommit); commands lock the instance row with SELECT … FOR
UPDATE.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_engine(url: str, immediate: bool | None) -> SAEngine:
    """``immediate``: True for commands, False for reads, None for single statements in
    autocommit (no BEGIN at all)."""
    engine = create_engine(url, connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    if immediate is not None:

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    def __init__(self, url: str, pool_size: int = 5):
        self.url = url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        if self.dialect == "sqlite":
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.autocommit_engine = _sqlite_engine(url, immediate=None)
        else:
            self.write_engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
            # Reads run in autocommit: under READ COMMITTED each statement takes its own snapshot
            # anyway, so a read transaction buys no consistency and costs a BEGIN and a ROLLBACK
            # round trip per request. Same pool as the writes, so that a request's command can run
            # on the connection its token lookup already checked out (see write()).
            self.read_engine = self.autocommit_engine = self.write_engine.execution_options(
                isolation_level="AUTOCOMMIT"
            )
        # Set by the web app on PostgreSQL: the connection of the current request, or None outside
        # one. A request's reads and its command then share the connection its token lookup
        # used — one pool checkout and one pre-ping per request instead of two or more.
        self.request_connection = None  # see use_request_connection()
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        # Long reads (exports, reports) stream rows through a server-side cursor, which needs a
        # transaction; REPEATABLE READ also gives them one snapshot from first row to last.
        # (SQLite: a deferred read transaction is already one snapshot.)
        self._snapshot = (
            self._read
            if self.dialect == "sqlite"
            else sessionmaker(
                self.write_engine.execution_options(isolation_level="REPEATABLE READ"), expire_on_commit=False
            )
        )

    def use_request_connection(self, current) -> None:
        """``current()``: the connection of the current request, or None outside one."""
        self.request_connection = current

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self):
        """A command's transaction: commits on success, rolls back on any exception."""
        shared = self.request_connection() if self.request_connection else None
        if shared is not None and not shared.in_transaction():
            # The request's own connection, switched out of autocommit for this transaction
            # (psycopg sets that on the client: no round trip) and back for the reads after it.
            shared.execution_options(isolation_level="READ COMMITTED")
            try:
                with Session(shared, expire_on_commit=False) as session:
                    with session.begin():
                        yield session
            finally:
                if not shared.invalidated:
                    shared.execution_options(isolation_level="AUTOCOMMIT")
            return
        with self._write() as session:
            with session.begin():
                yield session

    @contextmanager
    def read(self, snapshot: bool = False):
        """A read session; ``snapshot`` for a long or streamed read that must see one state."""
        shared = self.request_connection() if (self.request_connection and not snapshot) else None
        if shared is not None:
            with Session(shared, expire_on_commit=False) as session:
                with session.begin():
                    yield session
            return
        with (self._snapshot if snapshot else self._read)() as session:
            with session.begin():
                yield session

    @contextmanager
    def connection(self):
        """A plain connection for a one-statement read on every request (the token lookup): no
        ORM session to set up and tear down."""
        shared = self.request_connection() if self.request_connection else None
        if shared is not None:
            yield shared
            # End the transaction SQLAlchemy began around the statement (autocommit: nothing goes
            # to the server), so that a command can take the connection next (write()).
            shared.commit()
            return
        with self.autocommit_engine.connect() as conn:
            yield conn

    def session(self) -> Session:
        return self._read()

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.autocommit_engine is not self.read_engine:
            self.autocommit_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()
