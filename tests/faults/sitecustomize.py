"""Fault injection for the tests that kill processes mid-transaction. Loaded only by processes
the tests start with this folder on PYTHONPATH (``tests/faults.py: fault_env``); never part of the
service.

- ``SIJI_TEST_COMMIT_DELAY=<seconds>``: every write transaction sleeps just before its COMMIT,
  after all its statements ran, so that a SIGKILL lands inside transactions.
- ``SIJI_TEST_PAUSE_BEFORE_COMMIT=<seconds>`` (with ``SIJI_TEST_PAUSE_MARKER=<file>``): a
  transaction that fires timers flushes, writes the fired timer ids to the marker file and sleeps
  inside the still-open transaction, so a test can SIGKILL a timer worker mid-firing.
"""

import logging
import os
import time

_delay = float(os.environ.get("SIJI_TEST_COMMIT_DELAY") or 0)
_pause = float(os.environ.get("SIJI_TEST_PAUSE_BEFORE_COMMIT") or 0)

if _delay > 0 or _pause > 0:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    if _delay > 0:

        @event.listens_for(Engine, "commit")
        def _slow_commit(conn):
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":  # reads share the pool
                time.sleep(_delay)

    if _pause > 0:
        _marker = os.environ.get("SIJI_TEST_PAUSE_MARKER")

        @event.listens_for(Session, "before_commit")
        def _pause_firing(session):
            session.flush()  # the firing's writes reach the database, uncommitted
            fired = sorted(session.info.pop("fired_timers", ()))
            if not fired:
                return
            if _marker:
                with open(_marker, "a", encoding="utf-8") as f:
                    f.write(" ".join(map(str, fired)) + "\n")
            logging.getLogger("siji.tests").warning("test pause: %s s before committing timer(s) %s", _pause, fired)
            time.sleep(_pause)
