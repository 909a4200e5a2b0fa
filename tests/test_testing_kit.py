"""The test kit as a plugin author gets it: a project of its own (no shopcore source tree, no ini of the
shop's) whose suites choose different allow-lists in one pytest run, each getting its own freshly
migrated schema, with the plugins' fixtures and no third-party deprecation warnings.

The project runs in a pytest subprocess on a SQLite file of its own, so it never touches this run's
database.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

# A suite of the catalog alone, one of catalog + cart (chosen in the test module itself, at module
# scope), then the catalog alone again: collected in this order, so the run switches twice.
FILES = {
    "pytest.ini": """
        [pytest]
        addopts = -p no:cacheprovider -p no:randomly
        filterwarnings = error
    """,
    "test_a_catalog/conftest.py": """
        import pytest


        @pytest.fixture(scope="session")
        def shopcore_plugins():
            return ["catalog"]
    """,
    "test_a_catalog/test_first.py": """
        def test_catalog_alone(shopcore_registry, customer_app, make_product):
            assert [plugin.name for plugin in shopcore_registry["shopcore.plugins"]] == ["catalog"]
            product = make_product(name="Lamp", price="12.50")
            assert customer_app.get(f"/api/products/{product}/").json["price"] == "12.50"
            customer_app.get("/api/cart/", status=404)


        def test_rolled_back(testapp):
            assert testapp.get("/api/products/").json["count"] == 0
    """,
    "test_b_cart/test_cart.py": """
        import pytest
        from sqlalchemy import inspect


        @pytest.fixture(scope="module")
        def shopcore_plugins():
            return ["catalog", "cart"]


        def test_catalog_and_cart(shopcore_engine, customer_app, make_product):
            assert "cart_items" in inspect(shopcore_engine).get_table_names()
            product = make_product()
            customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 2}, status=201)
            assert customer_app.get("/api/cart/").json["total_items"] == 2
    """,
    "test_c_catalog_again/conftest.py": """
        import pytest


        @pytest.fixture(scope="session")
        def shopcore_plugins():
            return ["catalog"]
    """,
    "test_c_catalog_again/test_again.py": '''
        import warnings

        from sqlalchemy import inspect


        def test_fresh_schema_for_the_catalog(shopcore_engine, testapp):
            assert "cart_items" not in inspect(shopcore_engine).get_table_names()
            assert testapp.get("/api/products/").json["count"] == 0


        def test_third_party_deprecations_are_quiet():
            # What dogpile.cache's Redis backend says on every cache write with redis-py 5+.
            warnings.warn_explicit("Call to deprecated setex. (Use 'set' instead.)", DeprecationWarning,
                                   "redis.py", 1, module="dogpile.cache.backends.redis")
    ''',
}


def run_project(tmp_path, *args: str) -> subprocess.CompletedProcess:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    # Its own SQLite database and no Redis: this run's services stay this run's.
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("SHOPCORE_", "PYTEST_"))}
    environ["SHOPCORE_TEST_DATABASE_URL"] = "sqlite"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=300)


def test_suites_with_different_allow_lists_in_one_run(tmp_path):
    result = run_project(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout
    assert "warning" not in result.stdout.lower(), result.stdout


def test_third_party_warnings_show_when_the_suite_asks(tmp_path):
    result = run_project(tmp_path, "-o", "shopcore_third_party_warnings=true", "-k", "quiet")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Call to deprecated setex" in result.stdout, result.stdout
