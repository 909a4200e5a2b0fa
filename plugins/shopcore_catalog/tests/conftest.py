"""The catalog's tests run with the catalog alone (it needs no other plugin), and can count SQL statements."""
import pytest
from sqlalchemy import event

TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog"]


@pytest.fixture
def sql_statements(shopcore_engine):
    """Every SQL statement the app sends from now on (transaction control left out); `.clear()` to restart."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(statement)

    event.listen(shopcore_engine, "before_cursor_execute", record)
    yield statements
    event.remove(shopcore_engine, "before_cursor_execute", record)
