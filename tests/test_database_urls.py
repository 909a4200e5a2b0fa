"""Database URLs as hosting platforms hand them out work as given, on the driver the shop installs."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shopcore.db import make_engine, normalize_database_url
from shopcore.testing import require_service


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p%40ss@db.example:5432/shop", "postgresql+psycopg://u:p%40ss@db.example:5432/shop"),
    ("postgresql://u@db.example/shop?sslmode=require", "postgresql+psycopg://u@db.example/shop?sslmode=require"),
    ("postgresql+psycopg://u@db.example/shop", "postgresql+psycopg://u@db.example/shop"),
    ("postgresql+psycopg2://u@db.example/shop", "postgresql+psycopg2://u@db.example/shop"),
    ("sqlite:////var/lib/shop.sqlite", "sqlite:////var/lib/shop.sqlite"),
])
def test_bare_postgresql_schemes_get_psycopg_3(given, expected):
    assert normalize_database_url(given) == expected


@pytest.mark.postgresql_only
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_an_engine_from_a_platform_url_connects(scheme):
    url = make_url(require_service("SHOPCORE_TEST_DATABASE_URL"))
    given = url.set(drivername=scheme).render_as_string(hide_password=False)
    engine = make_engine({"sqlalchemy.url": given})
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()
