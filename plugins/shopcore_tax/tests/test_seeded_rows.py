"""The kit puts back what the migrations seeded (the tax classes) after a test with real commits, so the
tests after it find the schema as migrated (`shopcore.testing.database.truncate_all`)."""
from sqlalchemy import insert, select

from shopcore.testing.database import SEEDED_ROWS, truncate_all
from shopcore_tax.models import TaxClass


def codes(engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.scalars(select(TaxClass.code)))


def test_truncation_leaves_the_migrations_rows_and_nothing_else(committed_db, shopcore_registry):
    assert codes(committed_db) == ["reduced", "standard", "zero"]
    with committed_db.begin() as connection:
        connection.execute(insert(TaxClass).values(code="luxury", name="Luxury goods"))
    assert "luxury" in codes(committed_db)

    truncate_all(committed_db, shopcore_registry[SEEDED_ROWS])
    assert codes(committed_db) == ["reduced", "standard", "zero"]
    # Without the seeded rows the table is simply emptied (what the kit did before).
    truncate_all(committed_db)
    assert codes(committed_db) == []
    truncate_all(committed_db, shopcore_registry[SEEDED_ROWS])
    assert codes(committed_db) == ["reduced", "standard", "zero"]
