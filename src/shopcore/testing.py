"""pytest plugin for the core's tests and for plugin authors: a migrated database, one rolled-back
transaction per test, a webtest app, real Redis and broker URLs when the environment gives them.

Environment:
- SHOPCORE_TEST_DATABASE_URL: a PostgreSQL URL (the database is created if missing and its schema
  rebuilt from migrations once per run), or `sqlite` for a SQLite file in a temporary folder (what
  an unset variable also gives, with a warning in the summary).
- SHOPCORE_TEST_REDIS_URL: Redis for cache, revocation and rate limits (flushed before each test).
- SHOPCORE_TEST_BROKER_URL: a Kombu broker URL for the messaging tests.
- SHOPCORE_TEST_REQUIRE_SERVICES=1 (set by .ci/run): a missing or unreachable service fails the run
  instead of skipping the tests that need it.
- SHOPCORE_TEST_PLUGINS: the allow-list the suite runs with (default: every shop plugin installed).

A plugin's own tests override the `shopcore_plugins` fixture to run with their allow-list.
"""
from __future__ import annotations

import contextlib
import graphlib
import http.client
import json
import os
import socket
import socketserver
import threading
from pathlib import Path
from urllib.parse import urlparse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import pytest
import transaction
from pyramid.request import Request, apply_request_extensions
from pyramid.threadlocal import manager as threadlocal_manager
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from shopcore.plugins import discover

SHOP_PLUGINS = ("catalog", "cart", "orders", "notifications")
REPO_ROOT = Path(__file__).resolve().parents[2]
_skipped_services: list[str] = []


def services_required() -> bool:
    return os.environ.get("SHOPCORE_TEST_REQUIRE_SERVICES", "") == "1"


def service_url(variable: str) -> str | None:
    """The URL of a real service for tests, or None (and a loud skip) when not given."""
    url = os.environ.get(variable, "")
    if not url:
        if services_required():
            pytest.fail(f"{variable} is not set but SHOPCORE_TEST_REQUIRE_SERVICES=1", pytrace=False)
        return None
    parsed = urlparse(url.replace("+psycopg", ""))
    host, port = parsed.hostname or "127.0.0.1", parsed.port
    if port is not None:
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            message = f"{variable}={url} is unreachable: {exc}"
            if services_required():
                pytest.fail(message, pytrace=False)
            _skipped_services.append(message)
            return None
    return url


def require_service(variable: str) -> str:
    url = service_url(variable)
    if url is None:
        _skipped_services.append(f"{variable} not set")
        pytest.skip(f"needs {variable}")
    return url


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgresql_only: needs PostgreSQL itself (row locks, ...); deselected, not skipped, "
                   "when the run's database is SQLite, whose own pass proves the rest")


def testing_postgresql() -> bool:
    return os.environ.get("SHOPCORE_TEST_DATABASE_URL", "").startswith("postgresql")


def pytest_collection_modifyitems(config, items):
    if testing_postgresql():
        return
    postgresql_only = [item for item in items if item.get_closest_marker("postgresql_only")]
    if postgresql_only:
        config.hook.pytest_deselected(items=postgresql_only)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql_only")]
        _skipped_services.append(f"{len(postgresql_only)} PostgreSQL-only tests deselected: the run's database "
                                 f"is SQLite (they run when SHOPCORE_TEST_DATABASE_URL is PostgreSQL)")


def pytest_terminal_summary(terminalreporter):
    if _skipped_services:
        terminalreporter.section("shopcore: services not tested", sep="!")
        for line in sorted(set(_skipped_services)):
            terminalreporter.write_line(f"NOT TESTED IN THIS RUN: {line}")


# --- settings and database ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    """The allow-list for this run; plugin authors override this fixture."""
    chosen = os.environ.get("SHOPCORE_TEST_PLUGINS")
    if chosen is not None:
        return chosen.replace(",", " ").split()
    installed = discover()
    return [name for name in SHOP_PLUGINS if name in installed]


_APP_ALLOW_LIST = pytest.StashKey[object]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Each suite's own `shopcore_plugins` gets its own app, also when several suites share one run.

    pytest caches a session fixture whatever override of `shopcore_plugins` a later test sees, so a
    plugin suite choosing its allow-list would get the app (and schema) of whichever suite ran first
    (`make test` runs every suite in one session). When a test's allow-list fixture is not the one
    the cached app was built from, the app's session fixtures are torn down here (as pytest does for
    a parametrized one) and built again, on a fresh schema, for the new allow-list.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None or "shopcore_settings" not in info.names_closure:
        return
    chosen = info.name2fixturedefs["shopcore_plugins"][-1]
    built = item.config.stash.get(_APP_ALLOW_LIST, None)
    if built is not None and built is not chosen:
        for fixturedef in info.name2fixturedefs["shopcore_settings"]:
            fixturedef.finish(item._request)
    item.config.stash[_APP_ALLOW_LIST] = chosen


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if os.environ.get("SHOPCORE_TEST_DATABASE_URL", "") == "sqlite":
        # Asked for explicitly (CI's second pass): the embedded database is what is tested.
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'shopcore-test.sqlite'}"
    url = service_url("SHOPCORE_TEST_DATABASE_URL")
    if url is None:
        path = tmp_path_factory.mktemp("db") / "shopcore-test.sqlite"
        _skipped_services.append("PostgreSQL (SHOPCORE_TEST_DATABASE_URL): tests ran on SQLite")
        return f"sqlite:///{path}"
    ensure_postgres_database(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    url = service_url("SHOPCORE_TEST_REDIS_URL")
    if url is None:
        _skipped_services.append("Redis (SHOPCORE_TEST_REDIS_URL): cache ran in process memory")
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


@pytest.fixture(scope="session")
def shopcore_settings(database_url, redis_url, shopcore_plugins, tmp_path_factory) -> dict:
    """Settings of the app under test; tests may copy and change them for an app of their own."""
    var = tmp_path_factory.mktemp("var")
    settings = {
        "shopcore.env": "testing",
        "shopcore.secret": "test-secret-" + "x" * 40,
        "sqlalchemy.url": database_url,
        "shopcore.plugins": " ".join(shopcore_plugins),
        "shopcore.redis_url": redis_url or "",
        "shopcore.broker_url": "",
        "shopcore.mail.backend": "file",
        "shopcore.mail.dir": str(var / "mail"),
        # Page links start at the base URL; WebTest's own host, so a test can follow them.
        "shopcore.base_url": "http://localhost",
        "shopcore.openapi.validate_responses": "true",
        # Cheap Argon2 keeps the many test logins fast; the accounts tests check the real defaults.
        "shopcore.accounts.argon2.time_cost": "1",
        "shopcore.accounts.argon2.memory_cost": "8192",
        "shopcore.accounts.argon2.parallelism": "1",
    }
    return settings


def make_test_configurator(settings: dict, extra_includes: tuple = (), **registry_items):
    """The app's configurator with the environment ignored, so only `settings` decide."""
    from shopcore import make_configurator

    return make_configurator(settings, registry_items=registry_items, environ={},
                             extra_includes=extra_includes)


@pytest.fixture(scope="session")
def shopcore_engine(shopcore_settings):
    from shopcore.db import make_engine

    engine = make_engine(shopcore_settings)
    reset_schema(engine)
    yield engine
    engine.dispose()


class SessionFactorySwitch:
    """The app's session factory, switchable per test; apps built on one registry item share it."""

    def __init__(self, factory):
        self.default = self.current = factory

    def __call__(self, **kwargs):
        return self.current(**kwargs)


@pytest.fixture(scope="session")
def shopcore_config(shopcore_settings, shopcore_engine):
    from shopcore.db import make_session_factory
    from shopcore.migrate import upgrade

    config = make_test_configurator(shopcore_settings, **{
        "shopcore.engine": shopcore_engine,
        "shopcore.dbsession_factory": SessionFactorySwitch(make_session_factory(shopcore_engine)),
    })
    upgrade(config.registry)
    return config


@pytest.fixture(scope="session")
def shopcore_registry(shopcore_config):
    return shopcore_config.registry


@pytest.fixture(scope="session")
def wsgi_app(shopcore_config):
    return shopcore_config.make_wsgi_app()


def clear_caches(registry) -> None:
    region = registry.get("shopcore.cache_region")
    regions = {id(region): region} if region is not None else {}
    for namespace in registry.get("shopcore.cache_namespaces", {}).values():
        regions[id(namespace.region)] = namespace.region
    for item in regions.values():
        item.invalidate(hard=True)


@pytest.fixture(autouse=True)
def _fresh_services(request):
    """Each test starts with empty Redis and caches, whatever the previous test left."""
    if "shopcore_registry" not in request.fixturenames:
        yield
        return
    registry = request.getfixturevalue("shopcore_registry")
    url = registry.settings["shopcore.redis_url"]
    if url:
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
    clear_caches(registry)
    rate_limits = registry.get("shopcore.accounts.rate_limits")
    if rate_limits is not None:
        rate_limits.reset()  # counts kept in process memory when there is no Redis
    yield


@pytest.fixture
def db_connection(shopcore_registry, shopcore_engine):
    """A connection in a transaction that is rolled back after the test; the app's sessions join it.

    Commits inside the app become savepoint releases, so every request sees the data of the
    previous ones and nothing outlives the test.
    """
    connection = shopcore_engine.connect()
    outer = connection.begin()
    switch = shopcore_registry["shopcore.dbsession_factory"]
    switch.current = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield connection
    finally:
        switch.current = switch.default
        outer.rollback()
        connection.close()


@pytest.fixture
def committed_db(shopcore_registry, shopcore_engine):
    """For tests that need real commits (concurrency): the real engine, every table emptied after."""
    yield shopcore_engine
    truncate_all(shopcore_engine)


def truncate_all(engine) -> None:
    with engine.begin() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        if not tables:
            return
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            # Children before parents, or a RESTRICT foreign key refuses the delete.
            for table in children_first(connection, tables):
                connection.execute(text(f'DELETE FROM "{table}"'))


@contextlib.contextmanager
def request_context(registry, path: str = "/"):
    """A real request with its own transaction manager, for calling services without HTTP.

    The transaction commits when the block ends without error and aborts otherwise.
    """
    request = Request.blank(path)
    request.registry = registry
    apply_request_extensions(request)
    request.tm = transaction.TransactionManager(explicit=True)
    threadlocal_manager.push({"registry": registry, "request": request})
    request.tm.begin()
    try:
        yield request
    except BaseException:
        request.tm.abort()
        raise
    else:
        request.tm.commit()
    finally:
        threadlocal_manager.pop()


@pytest.fixture
def make_request(shopcore_registry, db_connection):
    """`with make_request() as request:` — services run in a committed (savepoint) transaction."""
    return lambda path="/": request_context(shopcore_registry, path)


@pytest.fixture
def testapp(wsgi_app, db_connection):
    import webtest

    return webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def count_queries(shopcore_engine):
    """`with count_queries() as statements:` records the SQL the app sends, savepoints left out.

    For tests asserting that an endpoint makes a fixed number of queries, whatever the data.
    """

    @contextlib.contextmanager
    def counting():
        from sqlalchemy import event

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


@pytest.fixture
def register_extension(shopcore_registry):
    """`register_extension(point, implementation, order=0)`: a decision hook for this test only.

    Goes through `config.add_extension`, exactly as a plugin's includeme would.
    """
    from pyramid.config import Configurator

    added = []

    def register(point: str, implementation, order: int = 0) -> None:
        config = Configurator(registry=shopcore_registry)
        config.add_extension(point, implementation, order=order)
        config.commit()
        added.append((point, implementation))

    yield register
    points = shopcore_registry.get("shopcore.extensions", {})
    for point, implementation in added:
        points[point] = [entry for entry in points[point] if entry[-1] is not implementation]


# --- a live server and simultaneous clients, for concurrency tests -------------------------------------

class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Room for every client of the concurrency tests to connect at once.
    request_queue_size = 128


class LiveServer:
    """A client of the live server: each request on its own connection, as separate clients would."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, token: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, dict]:
        """(status, JSON body, headers) of one request on its own connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = None if body is None else json.dumps(body)
            all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            if payload is not None:
                all_headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            text = response.read()
            return response.status, (json.loads(text) if text else {}), dict(response.getheaders())
        finally:
            connection.close()


@pytest.fixture
def live_server(wsgi_app, committed_db):
    """The app served over real HTTP on 127.0.0.1, a thread per request, committing for real.

    For concurrency tests: create data with `request_context(shopcore_registry)` (real commits);
    `committed_db` empties every table afterwards.
    """
    server = _ThreadingWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(wsgi_app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def run_together():
    """`run_together(count, work)`: `work(i)` in `count` threads started at once; results in order."""
    return run_in_threads


def run_in_threads(count: int, work) -> list:
    """Run `work(i)` in `count` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # reported by the test, not lost in a thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


# --- users and logged-in clients ------------------------------------------------------------------

def user_factory(open_request):
    """`make(username, is_admin=False, email=None, password=...)` -> user id, written in `open_request()`."""
    from shopcore.accounts.services import create_user

    def make(username: str, *, is_admin: bool = False, email: str | None = None,
             password: str = "correct horse battery") -> int:
        with open_request() as request:
            user = create_user(request, username=username, email=email or f"{username}@example.com",
                               password=password, is_admin=is_admin)
            return user.id

    return make


@pytest.fixture
def make_user(make_request):
    """`make_user("alice", is_admin=False, password=...)` creates a user and returns its id."""
    return user_factory(make_request)


@pytest.fixture
def make_committed_request(shopcore_registry, committed_db):
    """`with make_committed_request() as request:` like `make_request`, but the block really commits.

    For concurrency tests (with `live_server` or threads): `committed_db` empties every table afterwards.
    """
    return lambda path="/": request_context(shopcore_registry, path)


@pytest.fixture
def make_committed_user(make_committed_request):
    """`make_user`, committed for real (for concurrency tests); `token_for(user_id)` logs it in."""
    return user_factory(make_committed_request)


@pytest.fixture
def token_for(shopcore_registry):
    """`token_for(user_id)` -> {"access", "refresh"} for a user, as login would give."""
    from shopcore.accounts.tokens import issue_token_pair

    def issue(user_id: int) -> dict[str, str]:
        with request_context(shopcore_registry) as request:
            return issue_token_pair(request, user_id)

    return issue


class AuthenticatedApp:
    """A webtest app that sends a user's bearer token with every request."""

    def __init__(self, app, token: str, user_id: int):
        self.app = app
        self.token = token
        self.user_id = user_id

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def __getattr__(self, name):
        method = getattr(self.app, name)
        if name not in ("get", "post", "put", "patch", "delete", "head", "options",
                        "post_json", "put_json", "patch_json", "delete_json"):
            return method

        def call(url, *args, headers=None, **kwargs):
            return method(url, *args, headers=self._headers(headers), **kwargs)

        return call


@pytest.fixture
def customer(make_user) -> int:
    return make_user("customer")


@pytest.fixture
def admin(make_user) -> int:
    return make_user("admin", is_admin=True)


@pytest.fixture
def customer_app(testapp, customer, token_for) -> AuthenticatedApp:
    return AuthenticatedApp(testapp, token_for(customer)["access"], customer)


@pytest.fixture
def other_customer_app(testapp, make_user, token_for) -> AuthenticatedApp:
    user_id = make_user("othercustomer")
    return AuthenticatedApp(testapp, token_for(user_id)["access"], user_id)


@pytest.fixture
def admin_app(testapp, admin, token_for) -> AuthenticatedApp:
    return AuthenticatedApp(testapp, token_for(admin)["access"], admin)


# --- catalog data, through the catalog plugin's service ----------------------------------------------

def _require_catalog(registry) -> None:
    if "catalog" not in {manifest.name for manifest in registry["shopcore.plugins"]}:
        pytest.skip("needs the catalog plugin: add 'catalog' to this suite's shopcore_plugins allow-list")


@pytest.fixture
def make_category(shopcore_registry, make_request):
    """`make_category(name=None, parent=None, **fields)` creates a category and returns its id."""
    _require_catalog(shopcore_registry)
    made = iter(range(1, 1_000_000))

    def make(name: str | None = None, parent: int | None = None, **fields) -> int:
        with make_request() as request:
            catalog = request.find_service(name="catalog")
            return catalog.create_category(name or f"Category {next(made)}", parent=parent, **fields).id

    return make


def product_factory(open_request):
    """`make(name="Product", price="10.00", stock=10, ...)` -> product id, written in `open_request()`."""

    def make(name: str = "Product", price="10.00", stock: int = 10, category: int | None = None,
             is_active: bool = True, **fields) -> int:
        with open_request() as request:
            catalog = request.find_service(name="catalog")
            return catalog.create_product(name, price, stock=stock, category=category, is_active=is_active,
                                          **fields).id

    return make


@pytest.fixture
def make_product(shopcore_registry, make_request):
    """`make_product(name="Product", price="10.00", stock=10, category=None, is_active=True)` -> its id."""
    _require_catalog(shopcore_registry)
    return product_factory(make_request)


@pytest.fixture
def make_committed_product(shopcore_registry, make_committed_request):
    """`make_product`, committed for real (for concurrency tests)."""
    _require_catalog(shopcore_registry)
    return product_factory(make_committed_request)
