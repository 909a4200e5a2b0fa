"""Messaging's registry keys and the session factory of the relay and worker.

A leaf of the messaging package: `outbox` (enqueueing, dispatch) and `processing` (running a job)
both need these, and importing them from here lets `outbox` import `processing` without a cycle.
"""
from __future__ import annotations

from sqlalchemy.engine import Engine

from shopcore.db import SQLITE_WRITE_LOCK

HANDLERS = "shopcore.messaging.handlers"
OPTIONS = "shopcore.messaging.options"
PUBLISHER = "shopcore.messaging.publisher"
PERIODIC_TASKS = "shopcore.messaging.periodic_tasks"  # {name: (task, interval seconds)}


def session_factory(registry):
    """Sessions for the relay and the worker, outside any request.

    On SQLite (development) each takes the write lock when it begins: begun deferred, a job's
    transaction reads its row, runs the handler (sends the mail), and its commit could then fail with
    "database is locked" because the relay wrote meanwhile; the message would be redelivered and the
    mail sent twice. Sessions bound to a test's connection are left as they are.
    """
    factory = registry["shopcore.dbsession_factory"]

    def open_session():
        session = factory()
        if isinstance(session.bind, Engine) and session.bind.dialect.name == "sqlite":
            session.bind = session.bind.execution_options(**{SQLITE_WRITE_LOCK: True})
        return session

    return open_session


