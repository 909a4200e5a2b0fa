"""Fixtures of the reliability and security suite: an app of its own on the test database, a shop with
real objects of two customers and an admin, the merged spec's operations, and a TCP proxy that can
really cut a service off (refuse, or swallow, connections) and let it back.

Test modules are not importable here (importlib mode), so helpers are handed out as fixtures.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field

import pytest
import webtest

from shopcore.testing import clear_caches, default_plugins, make_test_configurator, request_context
from shopcore.plugins import discover
from shopcore.testing.database import joined_transaction
from shopcore_catalog.api import CatalogService

PASSWORD = "correct horse battery staple"
CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# Cheap password hashing and generous limits: the suite makes many users and logs in often; the
# limits themselves are proven with small rates by the rate-limit tests.
FAST_SETTINGS = {
    "shopcore.accounts.argon2.time_cost": "1",
    "shopcore.accounts.argon2.memory_cost": "1024",
    "shopcore.accounts.argon2.parallelism": "1",
    "shopcore.accounts.rate.login_ip": "100000/minute",
    "shopcore.accounts.rate.login_account": "100000/minute",
    "shopcore.accounts.rate.login_account_address": "100000/minute",
    "shopcore.accounts.rate.reset_ip": "100000/minute",
    "shopcore.accounts.rate.reset_account": "100000/minute",
    "shopcore.accounts.rate.reset_confirm_ip": "100000/minute",
    "shopcore.accounts.rate.register_ip": "100000/minute",
    # With the tax plugin enabled, the seed's text address is taxed at this country's rates (none here).
    "shopcore.tax.default_country": "DE",
}


@pytest.fixture(scope="session")
def fast_settings() -> dict:
    return dict(FAST_SETTINGS)


# --- the merged spec's operations, known when tests are collected ---------------------------------

def suite_plugins() -> list[str]:
    """This suite's allow-list: SHOPCORE_TEST_PLUGINS if set, else every installed plugin, so an
    operation a new plugin adds is fuzzed and attacked without a word here."""
    if os.environ.get("SHOPCORE_TEST_PLUGINS") is not None:
        return default_plugins()
    return sorted(discover())


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return suite_plugins()


@functools.cache
def collected_app() -> tuple[dict, frozenset[tuple[str, str]]]:
    """The merged spec of an app with this run's plugins, and its admin-only writes ((METHOD, path) of
    every other method than GET whose view's permission no customer holds), built once to parametrize
    tests by operation."""
    with tempfile.TemporaryDirectory() as folder:
        settings = {"shopcore.env": "testing", "shopcore.secret": "collect-" + "x" * 40,
                    "sqlalchemy.url": "sqlite://", "shopcore.plugins": " ".join(suite_plugins()),
                    "shopcore.mail.dir": folder}
        config = make_test_configurator(settings)
        spec = config.registry["shopcore.openapi_spec"]
        admin_writes = admin_only_writes(config.registry)
        config.registry["shopcore.engine"].dispose()
        return spec, admin_writes


def collected_spec() -> dict:
    return collected_app()[0]


def admin_only_writes(registry) -> frozenset[tuple[str, str]]:
    """(METHOD, route pattern) of the app's views of other methods than GET and HEAD that a logged-in
    customer may not call: their permission is held by admins alone (Pyramid's introspector and the
    shop's ACL, as `config.grant_permission` left it)."""
    from pyramid.authorization import ACLHelper, Authenticated, Everyone
    from pyramid.security import NO_PERMISSION_REQUIRED

    class Root:
        __acl__ = registry["shopcore.acl"]

    introspector = registry.introspector
    patterns = {entry["introspectable"]["name"]: entry["introspectable"]["pattern"]
                for entry in introspector.get_category("routes")}
    customer = [Everyone, Authenticated, "user:0"]
    found = set()
    for entry in introspector.get_category("views"):
        view = entry["introspectable"]
        methods = view["request_methods"]
        if not view["route_name"] or not methods:
            continue
        permissions = [related["value"] for related in entry["related"] if related.category_name == "permissions"]
        permission = permissions[0] if permissions else None
        if permission in (None, NO_PERMISSION_REQUIRED) or ACLHelper().permits(Root, customer, permission):
            continue
        for method in (methods,) if isinstance(methods, str) else methods:
            if method not in ("GET", "HEAD"):
                found.add((method, patterns[view["route_name"]]))
    return frozenset(found)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str
    spec: dict = field(compare=False, repr=False)

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security"))

    @property
    def path_parameters(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    @property
    def has_body(self) -> bool:
        return "requestBody" in self.spec

    @property
    def media_types(self) -> set[str]:
        return set(self.spec.get("requestBody", {}).get("content", {}))

    @property
    def has_form_body(self) -> bool:
        """A `multipart/form-data` body (an upload): the JSON body tests leave it to the form tests."""
        return "multipart/form-data" in self.media_types

    @property
    def can_be_wrong(self) -> bool:
        """Whether the spec forbids anything a client sends here besides the token (parameters, a body)."""
        return bool(self.spec.get("parameters") or self.has_body)

    def url(self, **ids) -> str:
        """The path with its parameter filled: `id=` fills whichever path parameter there is (an order's
        id, a provider's name), as each path here has one."""
        if "id" in ids and len(ids) == 1:
            return self.path.format(**{name: ids["id"] for name in self.path_parameters})
        return self.path.format(**ids)

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id})"


def spec_operations(spec: dict) -> list[Operation]:
    out = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                operation = dict(item[method])
                if "parameters" in item:
                    operation["parameters"] = item["parameters"] + operation.get("parameters", [])
                out.append(Operation(operation["operationId"], method.upper(), path, operation))
    return out


def pytest_generate_tests(metafunc):
    """`operation` (every operation of the merged spec) and subsets of it: `secured_operation`
    (bearer-protected), `body_operation` (a JSON request body), `form_operation` (a multipart form,
    an upload), `limited_operation` (declares a 429), `admin_write_operation` (a write only admins may make);
    `fuzz_target` pairs operations with generation modes."""
    admin_writes = collected_app()[1]
    for name, keep in (("operation", lambda op: True), ("secured_operation", lambda op: op.secured),
                       ("admin_write_operation", lambda op: (op.method, op.path) in admin_writes),
                       ("body_operation", lambda op: op.has_body and not op.has_form_body),
                       ("form_operation", lambda op: op.has_form_body),
                       ("limited_operation", lambda op: "429" in op.spec.get("responses", {}))):
        if name in metafunc.fixturenames:
            operations = [op for op in spec_operations(collected_spec()) if keep(op)]
            metafunc.parametrize(name, operations, ids=[op.operation_id for op in operations])
    if "fuzz_target" in metafunc.fixturenames:
        # (operation, mode): negative data only where the spec forbids something a client can send.
        targets = [(op, mode) for op in spec_operations(collected_spec())
                   for mode in ("positive", "negative") if mode == "positive" or op.can_be_wrong]
        metafunc.parametrize("fuzz_target", targets, ids=[f"{op.operation_id}-{mode}" for op, mode in targets])


class Examples:
    """The smallest valid body of each operation, found by schemathesis from the merged spec (and cached)."""

    def __init__(self, spec: dict):
        import schemathesis

        self.schema = schemathesis.openapi.from_dict(spec, config=schemathesis.Config.from_dict({
            "generation": {"with-security-parameters": False}, "analysis": {"constants": {"enabled": False}}}))
        self.found: dict[str, object] = {}

    def body(self, operation_id: str):
        """A body the spec accepts (None for an operation without one)."""
        if operation_id not in self.found:
            import hypothesis
            from schemathesis.core import NOT_SET

            operation = self.schema.find_operation_by_id(operation_id)
            if not operation.body:
                self.found[operation_id] = None
            else:
                case = hypothesis.find(operation.as_strategy(), lambda case: case.body is not NOT_SET,
                                       settings=hypothesis.settings(database=None, max_examples=200))
                self.found[operation_id] = case.body
        found = self.found[operation_id]
        return json.loads(json.dumps(found)) if found is not None else None  # a copy the caller may change


@pytest.fixture(scope="module")
def examples(shopcore_app, reliability_registry) -> Examples:
    return shopcore_app.once("reliability.examples", lambda: Examples(reliability_registry["shopcore.openapi_spec"]))


@pytest.fixture
def collected_operations() -> list[Operation]:
    """The operations the tests were parametrized with (the spec as collected)."""
    return spec_operations(collected_spec())


def resolve_in(registry, schema):
    """`schema` with its `$ref`s followed in the registry's merged spec (one level at a time, recursively)."""
    spec = registry["shopcore.openapi_spec"]
    while isinstance(schema, dict) and "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


@pytest.fixture
def form_example(reliability_registry):
    """`form_example(operation)` -> (fields, files): a valid multipart body of a form operation."""
    return lambda operation: form_fields(operation, functools.partial(resolve_in, reliability_registry))


@pytest.fixture
def resolve_ref(reliability_registry):
    """`resolve_ref(schema)` follows `$ref`s of the live merged spec (one level at a time, recursively)."""

    def resolve(schema):
        return resolve_in(reliability_registry, schema)

    return resolve


# --- the app under test -------------------------------------------------------------------------------

def build_app(shopcore_settings, shopcore_registry, **overrides):
    """An app instance (as another web process would be) on the test database's shared sessions."""
    settings = {**shopcore_settings, **FAST_SETTINGS, **overrides}
    return make_test_configurator(settings, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
    })


@pytest.fixture(scope="module")
def reliability_config(shopcore_app):
    """The suite's app instance, built once per app under test (the kit's, when its allow-list changes)."""
    return shopcore_app.once("reliability.config", lambda: build_app(shopcore_app.settings, shopcore_app.registry))


@pytest.fixture(scope="module")
def reliability_registry(reliability_config):
    return reliability_config.registry


@pytest.fixture(scope="module")
def reliability_wsgi(shopcore_app, reliability_config):
    return shopcore_app.once("reliability.wsgi", reliability_config.make_wsgi_app)


@pytest.fixture
def make_app(shopcore_settings, shopcore_registry, db_connection):
    """`make_app(**settings)` -> a webtest app of a fresh instance with these settings changed."""

    def make(**overrides) -> webtest.TestApp:
        config = build_app(shopcore_settings, shopcore_registry,
                           **{key.replace("__", "."): value for key, value in overrides.items()})
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    return make


@dataclass
class Actor:
    """A user of the shop: id, credentials and a webtest client that sends the access token."""

    user_id: int
    username: str
    access: str
    refresh: str
    client: "BearerClient"
    is_admin: bool = False
    password: str = PASSWORD

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


class BearerClient:
    """webtest calls with a bearer token; `expect_errors` by default so tests assert statuses themselves."""

    def __init__(self, app: webtest.TestApp, token: str | None):
        self.app = app
        self.token = token

    def request(self, method: str, url: str, body=None, headers: dict | None = None, **kwargs) -> webtest.TestResponse:
        all_headers = dict(headers or {})
        if self.token:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("expect_errors", True)
        if body is not None:
            kwargs.setdefault("content_type", "application/json")
            kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.app.request(url, method=method, headers=all_headers, **kwargs)

    def form(self, method: str, url: str, fields: dict, files: dict[str, bytes] | None = None,
             headers: dict | None = None) -> webtest.TestResponse:
        """A `multipart/form-data` request: text `fields` and `files` (name -> content)."""
        all_headers = dict(headers or {})
        if self.token:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.app.post(url, [(name, str(value)) for name, value in fields.items()], headers=all_headers,
                             upload_files=[(name, f"{name}.bin", data) for name, data in (files or {}).items()],
                             content_type="multipart/form-data", expect_errors=True) if method == "POST" else \
            self.app.request(url, method=method, headers=all_headers, expect_errors=True)


def small_png() -> bytes:
    """A real 8x8 PNG: what a form's binary (`format: binary`) field is sent when a valid body is needed."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def form_fields(operation: Operation, resolve) -> tuple[dict, dict[str, bytes]]:
    """A valid multipart body of `operation` from its schema: its binary fields get a small PNG, its
    required text fields a short text."""
    schema = resolve(operation.spec["requestBody"]["content"]["multipart/form-data"]["schema"])
    fields, files = {}, {}
    for name, prop in schema.get("properties", {}).items():
        prop = resolve(prop)
        if prop.get("format") == "binary":
            files[name] = small_png()
        elif name in schema.get("required", []):
            fields[name] = "x"
    return fields, files


class Shop:
    """The shop under test, filled through its services and its API (one rolled-back transaction)."""

    def __init__(self, registry, app: webtest.TestApp):
        self.registry = registry
        self.app = app
        self.anonymous = BearerClient(app, None)
        self.operation_ids = {op.operation_id for op in spec_operations(registry["shopcore.openapi_spec"])}
        self._made = 0

    def has(self, *operation_ids: str) -> bool:
        return all(name in self.operation_ids for name in operation_ids)

    @functools.cached_property
    def examples(self) -> "Examples":
        return Examples(self.registry["shopcore.openapi_spec"])

    def create_through_api(self, collection: str, actor: Actor) -> int | None:
        """The id of a new object of `collection`, made by POSTing to it a body the app accepts (found by
        schemathesis), as `actor` or else as an admin; None when no such body turns up."""
        import hypothesis

        create = next((op for op in spec_operations(self.registry["shopcore.openapi_spec"])
                       if op.method == "POST" and op.path == collection), None)
        if create is None:
            return None
        strategy = self.examples.schema.find_operation_by_id(create.operation_id).as_strategy()
        for creator in (actor, None):
            creator = creator or self.user(f"seeder{self._made}", is_admin=True)
            self._made += 1
            made: list[int] = []

            def accepted(case, creator=creator, made=made) -> bool:
                response = creator.client.request("POST", collection, case.body)
                if response.status_int == 201 and isinstance(response.json.get("id"), int):
                    made.append(response.json["id"])
                return bool(made)

            try:
                hypothesis.find(strategy, accepted, settings=hypothesis.settings(
                    database=None, max_examples=100, phases=[hypothesis.Phase.generate]))
            except hypothesis.errors.NoSuchExample:
                continue
            return made[0]
        return None

    def create_nested_through_api(self, collection: str, actor: Actor, ids: dict[str, list[int]],
                                  operations: list[Operation]) -> int | None:
        """An object of `collection` (`/api/variants/`) made by a POST to `<parent>{id}/variants/` under
        an existing object of the parent collection; a multipart form gets `form_fields`."""
        import hypothesis

        name = collection.rstrip("/").rsplit("/", 1)[-1]
        for create in operations:
            parent = resource_of(create.path)
            if create.method != "POST" or create.path != f"{parent}{{id}}/{name}/" or parent not in ids:
                continue
            url = create.url(id=ids[parent][0])
            for creator in (actor, self.user(f"seeder{self._made}", is_admin=True)):
                self._made += 1
                if create.has_form_body:
                    fields, files = form_fields(create, functools.partial(resolve_in, self.registry))
                    response = creator.client.form("POST", url, fields, files)
                    if response.status_int == 201 and isinstance(response.json.get("id"), int):
                        return response.json["id"]
                    continue
                strategy = self.examples.schema.find_operation_by_id(create.operation_id).as_strategy()
                made: list[int] = []

                def accepted(case, creator=creator, made=made) -> bool:
                    response = creator.client.request("POST", url, case.body)
                    if response.status_int == 201 and isinstance(response.json.get("id"), int):
                        made.append(response.json["id"])
                    return bool(made)

                try:
                    hypothesis.find(strategy, accepted, settings=hypothesis.settings(
                        database=None, max_examples=100, phases=[hypothesis.Phase.generate]))
                except hypothesis.errors.NoSuchExample:
                    continue
                return made[0]
        return None

    def user(self, username: str, *, is_admin: bool = False, password: str = PASSWORD) -> Actor:
        from shopcore.accounts.services import create_user
        from shopcore.accounts.tokens import issue_token_pair

        with request_context(self.registry) as request:
            user = create_user(request, username=username, email=f"{username}@example.com", password=password,
                               is_admin=is_admin)
            tokens = issue_token_pair(request, user)
        return Actor(user.id, username, tokens["access"], tokens["refresh"], BearerClient(self.app, tokens["access"]),
                     is_admin=is_admin, password=password)

    def category(self, name: str | None = None) -> int:
        self._made += 1
        with request_context(self.registry) as request:
            return request.find_service(CatalogService).create_category(name or f"Category {self._made}").id

    def product(self, name: str | None = None, price: str = "10.00", stock: int = 50, **fields) -> int:
        self._made += 1
        with request_context(self.registry) as request:
            return request.find_service(CatalogService).create_product(
                name or f"Product {self._made}", price, stock=stock, **fields).id

    def sized_product(self) -> tuple[int, int]:
        """(product, variant): a new product sold in sizes, and its variant in L (its other variant is the
        product's first, in the size `Default`)."""
        product = self.product()
        with request_context(self.registry) as request:
            catalog = request.find_service(CatalogService)
            catalog.update_product(product, {"option_names": ["size"]})
            return product, catalog.create_variant(product, sku=f"REL-{product}-L", options={"size": "L"},
                                                   price="12.00", stock=20).id

    def cart_line(self, actor: Actor, product_id: int, quantity: int = 1) -> int:
        response = actor.client.request("POST", "/api/cart/items/", {"product": product_id, "quantity": quantity})
        assert response.status_int in (200, 201), response.text
        return response.json["id"]

    def delivered_order_return(self, actor: Actor) -> int:
        """A return asked for by `actor` on a new order of theirs, paid and delivered (an admin ships it)."""
        order_id = self.order(actor, paid=True)
        admin = self.user(f"shipper{self._made}", is_admin=True)
        self._made += 1
        for status in ("shipped", "delivered"):
            response = admin.client.request("PATCH", f"/api/orders/{order_id}/status/", {"status": status})
            assert response.status_int == 200, response.text
        line = actor.client.request("GET", f"/api/orders/{order_id}/").json["items"][0]
        response = actor.client.request("POST", f"/api/orders/{order_id}/returns/",
                                        {"lines": [{"item": line["id"], "quantity": 1}], "reason": "Too small"})
        assert response.status_int == 201, response.text
        return response.json["id"]
    def ready_for_seed_checkout(self) -> None:
        """With the shipping plugin enabled, the seed's text address needs the shop's default method."""
        enabled = {manifest.name for manifest in self.registry["shopcore.plugins"]}
        if "shipping" not in enabled:
            return
        admin = self.user(f"shipper{self._made}", is_admin=True)
        self._made += 1
        zone = admin.client.request("POST", "/api/shipping/zones/", {"name": "Everywhere", "countries": []})
        method = admin.client.request("POST", "/api/shipping/methods/", {
            "zone": zone.json["id"], "name": "Standard", "rule": "flat", "price": "0.00", "is_default": True})
        assert method.status_int == 201, method.text

    def order(self, actor: Actor, lines: int = 1, *, paid: bool = False, address: str = CHECKOUT["shipping_address"],
              product_name: str | None = None) -> int:
        self.ready_for_seed_checkout()
        for _ in range(lines):
            self.cart_line(actor, self.product(product_name), 1)
        response = actor.client.request("POST", "/api/orders/checkout/", {**CHECKOUT, "shipping_address": address})
        assert response.status_int == 201, response.text
        order_id = response.json["id"]
        if paid:
            paid_response = actor.client.request("POST", f"/api/orders/{order_id}/pay/")
            assert paid_response.status_int == 200, paid_response.text
        return order_id


def forget_process_state(registry) -> None:
    """Empty this app instance's own caches and in-memory rate counts (Redis is flushed per test)."""
    clear_caches(registry)
    limits = registry.get("shopcore.accounts.rate_limits")
    if limits is not None:
        limits.reset()


@pytest.fixture
def shop(reliability_registry, reliability_wsgi, db_connection) -> Shop:
    forget_process_state(reliability_registry)
    return Shop(reliability_registry, webtest.TestApp(reliability_wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"}))


@pytest.fixture(scope="module")
def module_db(shopcore_registry, shopcore_engine):
    """Like `db_connection`, for a whole module: data made once, each test in a savepoint of its own
    (`module_savepoint`). A module using it must not use the function-scoped data fixtures."""
    with joined_transaction(shopcore_registry, shopcore_engine) as connection:
        yield connection


@pytest.fixture(scope="module")
def module_shop(reliability_registry, reliability_wsgi, module_db) -> Shop:
    forget_process_state(reliability_registry)
    return Shop(reliability_registry, webtest.TestApp(reliability_wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"}))


def flush_redis(registry) -> None:
    url = registry.settings["shopcore.redis_url"]
    if url:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()


@pytest.fixture
def isolated(module_db, reliability_registry):
    """`with isolated():` — what the block writes (database, Redis, caches) is undone after it, so each
    generated example starts from the module's data and replays the same way."""

    @contextlib.contextmanager
    def isolate():
        savepoint = module_db.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()
            flush_redis(reliability_registry)
            forget_process_state(reliability_registry)

    return isolate


@pytest.fixture
def module_savepoint(module_db, reliability_registry):
    """Whatever a test of a `module_db` module writes is rolled back after it; the module's data stays."""
    forget_process_state(reliability_registry)
    savepoint = module_db.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


@dataclass
class Objects:
    """Real objects of one customer (or admin), by the resource their ids are used for in paths."""

    owner: Actor
    ids: dict[str, list[int]]


def fill_shop(shop: Shop, actor: Actor) -> Objects:
    """A category, products (one in sizes), a cart line, a pending and a paid order of `actor` (as far as
    the plugins go), and one object of every other collection."""
    ids: dict[str, list[int]] = {}
    if shop.has("getProduct"):
        # The second category is empty (one with products cannot be deleted).
        ids["/api/categories/"] = [shop.category(), shop.category()]
        ids["/api/products/"] = [shop.product(category=ids["/api/categories/"][0]), shop.product()]
    if shop.has("checkout", "payOrder"):
        ids["/api/orders/"] = [shop.order(actor, lines=2), shop.order(actor, paid=True)]
    if shop.has("addCartItem"):
        ids["/api/cart/items/"] = [shop.cart_line(actor, shop.product(), 2)]
    if shop.has("createWebhookSubscription", "getProduct"):
        from shopcore_apps.testing import make_webhook_objects

        # A subscription's ids take valid events, which no generated body names: made by the plugin's kit.
        subscription, delivery = make_webhook_objects(shop.registry, lambda registry: shop.product())
        ids["/api/webhooks/"], ids["/api/webhook-deliveries/"] = [subscription], [delivery]
    if shop.has("createReturn", "payOrder", "setOrderStatus"):
        ids["/api/returns/"] = [shop.delivered_order_return(actor)]
    for operation in spec_operations(shop.registry["shopcore.openapi_spec"]):
        # A path parameter naming something rather than an object (a payment provider) takes its example.
        for parameter in operation.spec.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "path" and schema.get("type") == "string" and "example" in schema:
                ids.setdefault(resource_of(operation.path), [schema["example"]])
    if shop.has("authCreateAddress"):
        # Generated bodies seldom hold a real country and phone: one address written out.
        response = actor.client.request("POST", "/api/auth/user/addresses/", {
            "name": actor.username, "line1": "1 Main St", "city": "Springfield", "country": "US"})
        assert response.status_int == 201, response.text
        ids["/api/auth/user/addresses/"] = [response.json["id"]]
    if shop.has("createShippingMethod", "createTaxRate"):
        # Their bodies need a real zone id or country, which generated bodies seldom hold.
        admin = shop.user(f"keeper{actor.user_id}", is_admin=True)
        zone = admin.client.request("POST", "/api/shipping/zones/", {"name": f"Zone of {actor.username}",
                                                                      "countries": []})
        method = admin.client.request("POST", "/api/shipping/methods/", {
            "zone": zone.json["id"], "name": "Courier", "rule": "flat", "price": "5.00"})
        rate = admin.client.request("POST", "/api/tax/rates/", {"country": "FR", "rate": "20",
                                                                "region": f"R{actor.user_id}"})
        assert (zone.status_int, method.status_int, rate.status_int) == (201, 201, 201), rate.text
        ids["/api/shipping/zones/"] = [zone.json["id"]]
        ids["/api/shipping/methods/"] = [method.json["id"]]
        ids["/api/tax/rates/"] = [rate.json["id"]]
    if shop.has("getVariant"):
        # Its product is one of the catalog's too: a variant can be added only to a product with options.
        sized, variant = shop.sized_product()
        ids["/api/variants/"] = [variant]
        ids["/api/products/"].append(sized)
    # A plugin's per-product data (`/api/<plugin>/products/{id}/`, no POST) is keyed by the catalog's ids.
    for operation in spec_operations(shop.registry["shopcore.openapi_spec"]):
        collection = resource_of(operation.path)
        if collection.endswith("/products/") and collection not in ids and "/api/products/" in ids:
            ids[collection] = ids["/api/products/"]
    # Collections of plugins this suite knows nothing about: one object each through their own POST,
    # or through a POST under an object of another collection (`/api/products/{id}/variants/` makes
    # what `/api/variants/{id}/` names).
    operations = spec_operations(shop.registry["shopcore.openapi_spec"])
    for _round in range(2):  # a nested collection's parent may itself be made in the first round
        for operation in operations:
            collection = resource_of(operation.path)
            if operation.path_parameters and collection not in ids:
                made = shop.create_through_api(collection, actor)
                if made is None:
                    made = shop.create_nested_through_api(collection, actor, ids, operations)
                if made is not None:
                    ids[collection] = [made]
    return Objects(actor, ids)


def resource_of(path: str) -> str:
    """The collection whose ids a path's `{id}` takes: `/api/orders/{id}/pay/` -> `/api/orders/`."""
    return path.split("{", 1)[0]


def make_seed_checkout_possible(registry) -> None:
    """With the shipping plugin enabled, the seed's text address needs the shop's default method: one
    is made (committed) in this app's database; without the plugin there is nothing to do. (The tax
    plugin's default country is in FAST_SETTINGS.)"""
    if "shipping" not in {manifest.name for manifest in registry["shopcore.plugins"]}:
        return
    from shopcore_shipping.services import ShippingService

    with request_context(registry) as request:
        shipping = ShippingService(request)
        zone = shipping.create_zone({"name": "Everywhere", "countries": []})
        shipping.create_method({"zone": zone["id"], "name": "Standard", "rule": "flat", "price": "0.00",
                                "is_default": True})


@pytest.fixture(scope="session")
def seed_checkout_possible():
    """`seed_checkout_possible(registry)`: the seed's checkout body works in that app (for tests with
    real commits, which make their own data)."""
    return make_seed_checkout_possible


@pytest.fixture(scope="session")
def fill():
    """`fill(shop, actor)` -> Objects: real objects of `actor` for every resource the plugins offer."""
    return fill_shop


@pytest.fixture(scope="session")
def resource():
    return resource_of


# --- a TCP proxy that cuts a service off for real -----------------------------------------------------

class TcpProxy:
    """Forwards 127.0.0.1:port to a real service; `refuse()`, `swallow()` and `restore()` change that.

    - refuse: the listening socket is closed and every open connection is cut (the service is down);
    - swallow: connections are accepted and held without a byte in either direction (a hung host);
    - restore: forwarding again, on the same port.
    Runs an asyncio loop in a thread of the test process; everything stops with `close()`.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self.connections = 0  # connections accepted so far
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tcp-proxy", daemon=True)
        self.server = None
        self.writers: set[asyncio.StreamWriter] = set()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.thread.start()
        self._call(self._listen())

    def _call(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _listen(self):
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def _client(self, reader, writer):
        try:
            await self._serve_client(reader, writer)
        except asyncio.CancelledError:
            pass  # shutting down; asyncio's stream callback would log a cancelled task as an error

    async def _serve_client(self, reader, writer):
        self.connections += 1
        self.writers.add(writer)
        try:
            if self.mode == "swallow":
                await reader.read()  # hold the connection, answer nothing, until the client or cut() ends it
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return
            self.writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for item in (writer,):
                self.writers.discard(item)
                item.close()

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def _cut(self):
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _stop_listening(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    def refuse(self) -> None:
        self.mode = "refuse"
        self._call(self._stop_listening())
        self._call(self._cut())

    def swallow(self) -> None:
        self._call(self._cut())
        self.mode = "swallow"
        if self.server is None:
            self._call(self._listen())

    def restore(self) -> None:
        self._call(self._cut())
        self.mode = "forward"
        if self.server is None:
            self._call(self._listen())

    async def _shutdown(self):
        await self._stop_listening()
        await self._cut()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def tcp_proxy():
    """`tcp_proxy(host, port)` -> a TcpProxy in front of that service, closed after the test."""
    proxies: list[TcpProxy] = []

    def make(host: str, port: int) -> TcpProxy:
        proxy = TcpProxy(host, port)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
