"""Data layer: the declarative Base, the engine, `request.dbsession` joined to pyramid_tm, and the
column types and statements every plugin shares (`AwareDateTime`, `upsert`)."""
from __future__ import annotations

import contextlib
import datetime
import logging
from typing import Any, Iterable, Mapping

import transaction
from transaction.interfaces import AlreadyInTransaction
import zope.sqlalchemy
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, Result, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from shopcore.clock import UTC
from shopcore.private_files import create_private_file

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model of the core and of every plugin derives from this one Base."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The driver the shop installs (psycopg 3). Hosting platforms hand out `postgres://` (a scheme
# SQLAlchemy does not know) or `postgresql://` (which SQLAlchemy maps to psycopg2, not installed).
POSTGRESQL_DRIVER = "postgresql+psycopg"


def normalize_database_url(url: str) -> str:
    """`url` with a bare PostgreSQL scheme pointed at psycopg 3; any other URL as given."""
    if not url.startswith(("postgres:", "postgresql:")):
        return url
    return make_url("postgresql" + url[url.index(":"):]).set(drivername=POSTGRESQL_DRIVER) \
        .render_as_string(hide_password=False)


class AwareDateTime(TypeDecorator):
    """`DateTime(timezone=True)` that always gives aware UTC datetimes, on PostgreSQL and SQLite.

    SQLite stores no time zone and hands back naive values; this type writes every moment in UTC and
    reads it back as UTC. A naive value is refused when written: its time zone is unknown, and
    guessing would store a wrong moment. The schema is the same as `DateTime(timezone=True)`'s, so
    switching a column to this type needs no migration.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or not isinstance(value, datetime.datetime):
            return value
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to an AwareDateTime column; use shopcore.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upsert(session: Session, model, values: Mapping[str, Any], *, conflict: Iterable,
           update: Iterable | Mapping[str, Any] | None = None, where=None, returning: Iterable = ()) -> Result:
    """INSERT `values` into `model`'s table, or, when a row with the same `conflict` columns exists, update it.

    One statement, race-free (two requests upserting the same key both succeed, one inserting and one
    updating), on PostgreSQL and SQLite alike (`INSERT ... ON CONFLICT`):

    - `conflict`: the columns (or names) of the unique constraint or index that decides "the same row".
    - `update`: None to leave an existing row alone (`ON CONFLICT DO NOTHING`); a list of column
      names to overwrite with the values given; or a mapping of column name to a value, a SQL
      expression, or a callable `f(excluded)` building one from the values proposed for insertion
      (`{"quantity": lambda excluded: Item.quantity + excluded.quantity}`).
    - `where`: with `update`, the existing row is updated only when this condition holds (the
      statement then affects no row, which `returning` shows as no row).
    - `returning`: columns to return from the inserted or updated row.

    The result is the `Result` of `session.execute`. The session is marked as changed, so
    zope.sqlalchemy commits it even though no ORM object changed.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the shop runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"upsert is not written for {dialect}")
    statement = insert(model).values(**values)
    index_elements = [getattr(column, "key", column) for column in conflict]
    if update is None:
        statement = statement.on_conflict_do_nothing(index_elements=index_elements)
    else:
        if isinstance(update, Mapping):
            changes = {name: value(statement.excluded) if callable(value) else value
                       for name, value in update.items()}
        else:
            changes = {name: statement.excluded[name] for name in update}
        statement = statement.on_conflict_do_update(index_elements=index_elements, set_=changes, where=where)
    returning = list(returning)
    if returning:
        statement = statement.returning(*returning)
    result = session.execute(statement)
    _mark_changed(session)
    return result


def _mark_changed(session: Session) -> None:
    """Tell zope.sqlalchemy the session wrote, when it is joined to a transaction manager."""
    manager = session.info.get(TRANSACTION_MANAGER)
    if manager is not None:
        zope.sqlalchemy.mark_changed(session, transaction_manager=manager)


# session.info key: the transaction manager a session was registered with (`session_for_transaction`).
TRANSACTION_MANAGER = "shopcore.transaction_manager"
# session.info key: the app registry of a request's session, for session event listeners that act on
# the app's services after a commit (the accounts tell the revocation store which users changed).
REGISTRY = "shopcore.registry"


def make_engine(settings: Mapping[str, Any]) -> Engine:
    url = normalize_database_url(settings["sqlalchemy.url"])
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        # One file shared by threads of one process; checkout is race-free through conditional UPDATEs.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": settings.get("shopcore.db.connect_timeout", 5)}
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 10
        kwargs["pool_timeout"] = settings.get("shopcore.db.connect_timeout", 5)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            event.listen(engine, "do_connect", _sqlite_private_file(database))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_private_file(database: str):
    """Before each connect: a missing database file is created 0600 (SQLite would make it with the
    umask's mode, 0644 usually; its -wal and -shm files take the database file's mode)."""

    def create(_dialect, _record, _cargs, _cparams) -> None:
        create_private_file(database)

    return create


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # pysqlite's own implicit BEGIN comes late and not before SAVEPOINT, so a SAVEPOINT would open
    # (and its RELEASE commit) a transaction of its own; SQLAlchemy emits BEGIN itself instead.
    dbapi_connection.isolation_level = None


# Execution option set on a writing request's connection: on SQLite its transaction takes the write lock
# when it begins. Begun deferred, it would read first (the user, the cart) and then fail at once with
# "database is locked" whenever another request had committed meanwhile: SQLite cannot turn a stale
# read snapshot into a writer, and busy_timeout does not help then. Reads stay concurrent (WAL).
SQLITE_WRITE_LOCK = "shopcore_sqlite_write_lock"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sqlite_begin(connection) -> None:
    immediate = connection.get_execution_options().get(SQLITE_WRITE_LOCK)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def schema_change_transaction(engine: Engine):
    """A connection in a transaction for schema changes (migrations), committed when the block ends.

    On SQLite a migration that changes a constraint copies the table and drops the old one (alembic's
    batch mode), and with foreign keys on, dropping a table deletes the rows that reference it (ON
    DELETE CASCADE): an order's lines would go with the old orders table. So, as SQLite's own
    procedure for such changes says, foreign keys are switched off before the transaction begins
    (the pragma does nothing inside one), every reference is checked before it commits, and they are
    switched on again afterwards. Other databases change schemas in place.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the schema change leaves {len(broken)} row(s) referencing rows that do "
                                           f"not exist (first: table {broken[0][0]}, row {broken[0][1]})")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_for_transaction(session_factory: sessionmaker, transaction_manager) -> Session:
    """A session whose commit and rollback follow the transaction manager."""
    session = session_factory()
    zope.sqlalchemy.register(session, transaction_manager=transaction_manager)
    session.info[TRANSACTION_MANAGER] = transaction_manager
    return session


def _request_dbsession(request) -> Session:
    session = session_for_transaction(request.registry["shopcore.dbsession_factory"], request.tm)
    session.info[REGISTRY] = request.registry
    if request.method not in SAFE_METHODS and session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={SQLITE_WRITE_LOCK: True})
    return session


class _PendingTransaction:
    """What `LazyTransactionManager.begin` returns: a note or an attribute given to it waits for the
    transaction; anything else makes the transaction begin and is asked of it."""

    __slots__ = ("_manager", "_notes", "_attributes")

    def __init__(self, manager: "LazyTransactionManager"):
        object.__setattr__(self, "_manager", manager)
        object.__setattr__(self, "_notes", [])
        object.__setattr__(self, "_attributes", {})

    def note(self, text) -> None:
        if self._manager._pending is self:
            self._notes.append(text)
        else:
            self._manager.get().note(text)

    def __setattr__(self, name: str, value) -> None:
        if self._manager._pending is self:
            self._attributes[name] = value
        else:
            setattr(self._manager.get(), name, value)

    def __getattr__(self, name: str):
        if name in self._attributes and self._manager._pending is self:
            return self._attributes[name]
        return getattr(self._manager.get(), name)

    def _apply(self, txn) -> None:
        for name, value in self._attributes.items():
            setattr(txn, name, value)
        for text in self._notes:
            txn.note(text)


class LazyTransactionManager(transaction.TransactionManager):
    """pyramid_tm's explicit manager, whose transaction begins only when something first needs it.

    pyramid_tm begins a transaction for every request and commits it at the end. A request that never
    uses it (a cached GET: no database session, no after-commit hook) then creates, commits and frees
    an empty transaction for nothing. Here `begin()` only marks the request as inside a transaction;
    the first `get()` (a session joining it, a hook added, a savepoint, a doom) really begins it, and
    `commit()` or `abort()` of one that never began does nothing. Outside `begin()`, `get()` still
    refuses (explicit mode), as before.
    """

    def __init__(self):
        super().__init__(explicit=True)
        self._pending: _PendingTransaction | None = None

    def begin(self):
        if self._pending is not None:
            raise AlreadyInTransaction()
        if self._txn is not None:
            return super().begin()  # raises AlreadyInTransaction (explicit mode)
        self._pending = _PendingTransaction(self)
        return self._pending

    def get(self):
        pending = self._pending
        if pending is not None:
            self._pending = None
            pending._apply(super().begin())
        return super().get()

    def isDoomed(self) -> bool:
        return False if self._pending is not None else super().isDoomed()

    def commit(self):
        if self._pending is not None:
            self._pending = None  # nothing used it: nothing to commit
            return None
        return super().commit()

    def abort(self):
        if self._pending is not None:
            self._pending = None
            return None
        return super().abort()


def lazy_transaction_manager(request) -> LazyTransactionManager:
    """`tm.manager_hook`: each request's transaction manager."""
    return LazyTransactionManager()


def includeme(config) -> None:
    settings = config.get_settings()
    settings["tm.manager_hook"] = "shopcore.db.lazy_transaction_manager"
    settings.setdefault("tm.annotate_user", False)
    config.include("pyramid_tm")
    if "shopcore.engine" not in config.registry:
        config.registry["shopcore.engine"] = make_engine(settings)
    if "shopcore.dbsession_factory" not in config.registry:
        config.registry["shopcore.dbsession_factory"] = make_session_factory(config.registry["shopcore.engine"])
    config.add_request_method(_request_dbsession, "dbsession", reify=True)


def json_rows(dialect: str, columns: Iterable, where) -> Any:
    """A correlated scalar subquery giving the rows of `columns` that match `where` as a JSON list of
    lists (`[]` when none), read back as Python lists: one query can then carry a row's children
    (a product's variants on a list page) instead of one query per child table.

    Numeric columns come back as strings (exact decimals; a JSON number would be read as a float),
    JSON columns as their value, booleans as true/false on PostgreSQL and 1/0 on SQLite (pass them
    through `bool`). The order of the rows is not defined: sort them in Python.
    """
    from sqlalchemy import JSON, Numeric, String, cast, func, literal_column, select, type_coerce

    def as_json_value(column):
        if isinstance(column.type, Numeric) or isinstance(getattr(column.type, "impl", None), Numeric):
            return cast(column, String)
        if isinstance(column.type, JSON) and dialect == "sqlite":
            return func.json(column)  # embedded as JSON, not as a string holding JSON
        return column

    values = [as_json_value(column) for column in columns]
    if dialect == "postgresql":
        aggregate = func.coalesce(func.json_agg(func.json_build_array(*values)), literal_column("'[]'::json"))
    elif dialect == "sqlite":
        aggregate = func.coalesce(func.json_group_array(func.json_array(*values)), literal_column("'[]'"))
    else:  # pragma: no cover - the shop runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"json_rows is not written for {dialect}")
    return type_coerce(select(aggregate).where(where).scalar_subquery(), JSON)
