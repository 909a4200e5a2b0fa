"""The test database: where it is, a fresh schema per allow-list, and the per-test transaction.

- `database_url`: SHOPCORE_TEST_DATABASE_URL (a PostgreSQL database, created if missing), or `sqlite`
  for a SQLite file in a temporary folder (what an unset variable also gives, noted in the summary).
- `db_connection`: one transaction per test, rolled back after it; the app's sessions join it.
- `committed_db`: real commits (concurrency tests); every table is emptied after the test.
- `count_queries`: the SQL statements the app sends inside a block.
"""
from __future__ import annotations

import contextlib
import graphlib
import os

import pytest
from sqlalchemy import Integer, MetaData, Table, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from shopcore.testing.services import not_tested, service_url

# Registry key of the rows the app's migrations seeded (`seeded_rows`), put back after every truncation.
SEEDED_ROWS = "shopcore.testing.seeded_rows"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if os.environ.get("SHOPCORE_TEST_DATABASE_URL", "") == "sqlite":
        # Asked for explicitly (CI's second pass): the embedded database is what is tested.
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'shopcore-test.sqlite'}"
    url = service_url("SHOPCORE_TEST_DATABASE_URL")
    if url is None:
        not_tested.append("PostgreSQL (SHOPCORE_TEST_DATABASE_URL): tests ran on SQLite")
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'shopcore-test.sqlite'}"
    ensure_postgres_database(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    url = service_url("SHOPCORE_TEST_REDIS_URL")
    if url is None:
        not_tested.append("Redis (SHOPCORE_TEST_REDIS_URL): cache ran in process memory")
    return url


def ensure_postgres_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                    {"name": target.database}).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def reset_schema(engine) -> None:
    """Drop every table (from an earlier run or another allow-list) before migrating afresh."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            # Children first: with foreign keys on, SQLite checks them when it drops a parent.
            for table in children_first(connection, inspect(connection).get_table_names()):
                connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))


def children_first(connection, tables: list[str]) -> list[str]:
    """`tables` ordered so that a table comes before every table it references."""
    inspector = inspect(connection)
    parents = {table: {fk["referred_table"] for fk in inspector.get_foreign_keys(table)} - {table}
               for table in tables}
    return [table for table in reversed(list(graphlib.TopologicalSorter(parents).static_order()))
            if table in parents]


def seeded_rows(engine) -> dict[str, list[dict]]:
    """The rows the migrations wrote (read right after migrating, such as the tax plugin's classes), by
    table: `truncate_all` puts them back, so a test with real commits leaves the schema as migrated."""
    with engine.connect() as connection:
        found = {}
        for table in inspect(connection).get_table_names():
            if table == "alembic_version":
                continue
            rows = [dict(row._mapping) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
            if rows:
                found[table] = rows
        return found


def truncate_all(engine, seeded: dict[str, list[dict]] | None = None) -> None:
    """Empty every table but alembic's (what `committed_db` does after a test), then write `seeded`
    (`seeded_rows`) back, sequences moved past their ids."""
    with engine.begin() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        if not tables:
            return
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            # Children before parents, or a RESTRICT foreign key refuses the delete.
            for table in children_first(connection, tables):
                connection.execute(text(f'DELETE FROM "{table}"'))
        seeded = {table: rows for table, rows in (seeded or {}).items() if table in tables}
        for name in reversed(children_first(connection, list(seeded))):  # parents first
            table = Table(name, MetaData(), autoload_with=connection)
            connection.execute(table.insert(), seeded[name])
            if postgresql:
                for column in table.columns:
                    if not isinstance(column.type, Integer):
                        continue  # only integer columns have sequences
                    connection.execute(text(
                        "SELECT setval(pg_get_serial_sequence(:table, :column), max_id) FROM "
                        f'(SELECT max("{column.name}") AS max_id FROM "{name}") AS ids '
                        "WHERE pg_get_serial_sequence(:table, :column) IS NOT NULL AND max_id IS NOT NULL"),
                        {"table": f'"{name}"', "column": column.name})


class SessionFactorySwitch:
    """The app's session factory, switchable per test; apps built on one registry item share it."""

    def __init__(self, factory):
        self.default = self.current = factory

    def __call__(self, **kwargs):
        return self.current(**kwargs)


@contextlib.contextmanager
def joined_transaction(registry, engine):
    """A connection in a transaction that the app's sessions join (commits become savepoint releases);
    rolled back when the block ends."""
    connection = engine.connect()
    outer = connection.begin()
    switch = registry["shopcore.dbsession_factory"]
    switch.current = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield connection
    finally:
        switch.current = switch.default
        outer.rollback()
        connection.close()


@pytest.fixture
def db_connection(shopcore_registry, shopcore_engine):
    """A connection in a transaction that is rolled back after the test; the app's sessions join it.

    Commits inside the app become savepoint releases, so every request sees the data of the
    previous ones and nothing outlives the test.
    """
    with joined_transaction(shopcore_registry, shopcore_engine) as connection:
        yield connection


@pytest.fixture
def committed_db(shopcore_registry, shopcore_engine):
    """For tests that need real commits (concurrency): the real engine, every table emptied after."""
    yield shopcore_engine
    truncate_all(shopcore_engine, shopcore_registry.get(SEEDED_ROWS))


@pytest.fixture
def count_queries(shopcore_engine):
    """`with count_queries() as statements:` records the SQL the app sends, savepoints left out.

    For tests asserting that an endpoint makes a fixed number of queries, whatever the data.
    """

    @contextlib.contextmanager
    def counting():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        event.listen(shopcore_engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(shopcore_engine, "before_cursor_execute", record)

    return counting
