"""The core's parts for apps and webhooks (issue 19): credential schemes, operation scopes stated in the
merged spec, public events, and job kinds with a queue, retry policy and concurrency of their own."""
import pytest
from pyramid.exceptions import ConfigurationError

from shopcore.events import ShopEvent
from shopcore.messaging import RetryPolicy, queue_concurrency, queue_names
from shopcore.messaging.broker import Publisher
from shopcore.openapi import SpecConflict, merge_fragments
from shopcore.plugins import PluginError
from shopcore.public_events import jsonable, public_event_for, public_events
from shopcore.scopes import SCOPE
from shopcore.security import Identity
from shopcore.testing import make_test_configurator
from shopcore.scripts.worker import chosen_queues


class Thing(ShopEvent):
    pass


class SpecialThing(Thing):
    pass


def build(shopcore_settings, *includes):
    return make_test_configurator({**shopcore_settings, "shopcore.plugins": "catalog"}, extra_includes=includes)


def test_every_operation_gets_a_scope_by_area_and_method_unless_its_fragment_states_one():
    base = {"paths": {"/health": {"get": {"operationId": "health", "responses": {}}}}, "components": {}}
    fragment = {"x-shopcore-scope-area": "stock", "paths": {
        "/api/stock/": {"get": {"operationId": "a", "responses": {}}, "post": {"operationId": "b", "responses": {}}},
        "/api/stock/count/": {"post": {"operationId": "c", "responses": {}, SCOPE: "stock:read"}}}}
    plain = {"paths": {"/api/w/": {"delete": {"operationId": "d", "responses": {}, "description": "Gone."}}}}
    spec = merge_fragments(base, [("stocky", fragment), ("wishlist", plain)])
    scopes = {op["operationId"]: op[SCOPE] for item in spec["paths"].values() for op in item.values()}
    assert scopes == {"health": "shop:read", "a": "stock:read", "b": "stock:write", "c": "stock:read",
                      "d": "wishlist:write"}
    assert spec["paths"]["/api/w/"]["delete"]["description"] == "Gone.\n\nApp keys need the scope `wishlist:write`."


@pytest.mark.parametrize("scope", ["stock", "stock:admin", "Stock:read", ""])
def test_a_scope_not_of_the_form_area_read_or_write_stops_start_up_naming_the_plugin(scope):
    fragment = {"paths": {"/api/s/": {"get": {"operationId": "s", "responses": {}, SCOPE: scope}}}}
    with pytest.raises(SpecConflict, match="plugin 'stocky'.*/api/s/"):
        merge_fragments({"paths": {}, "components": {}}, [("stocky", fragment)])


def with_scheme(config):
    def authenticate(request, token):
        return Identity(user_id=7, username="robot", is_admin=True, token_id="t", token_expires_at=0,
                        scopes=frozenset({"catalog:write"})) if token == "tst_good" else None

    config.add_credential_scheme("tst_", authenticate)


def test_a_credential_scheme_reads_its_tokens_and_scopes_decide_per_operation(shopcore_settings, shopcore_registry,
                                                                             db_connection):
    import webtest

    # On the test's connection (rolled back after), as the kit's own app.
    config = make_test_configurator({**shopcore_settings, "shopcore.plugins": "catalog"}, extra_includes=(with_scheme,),
                                    **{key: shopcore_registry[key] for key in ("shopcore.engine",
                                                                               "shopcore.dbsession_factory")})
    app = webtest.TestApp(config.make_wsgi_app())
    good = {"Authorization": "Bearer tst_good"}
    refused = app.get("/api/products/", headers=good, status=403).json  # catalog:read is not held
    assert refused["detail"] == "This key lacks the scope catalog:read that GET /api/products/ needs."
    made = app.post_json("/api/categories/", {"name": "Robots"}, headers=good, status=201).json
    assert made["name"] == "Robots"  # catalog:write held: an admin for this operation
    app.post_json("/api/categories/", {"name": "Nope"}, headers={"Authorization": "Bearer tst_bad"}, status=401)


def test_two_schemes_for_one_prefix_clash(shopcore_settings):
    def other(config):
        config.add_credential_scheme("tst_", lambda request, token: None)

    with pytest.raises((PluginError, ConfigurationError), match="credential_scheme"):
        build(shopcore_settings, with_scheme, other)
    with pytest.raises((PluginError, ConfigurationError), match="prefix"):
        build(shopcore_settings, lambda config: config.add_credential_scheme("eyJ", lambda r, t: None))


def test_public_events_are_found_by_class_or_nearest_base_and_a_name_has_one_owner(shopcore_settings):
    def declare(config):
        config.add_public_event("thing.made", Thing, lambda request, event: {}, description="A thing.")

    config = build(shopcore_settings, declare)
    registry = config.registry
    assert public_event_for(registry, SpecialThing()).name == "thing.made"
    assert "thing.made" in public_events(registry) and "order.paid" not in public_events(registry)
    assert "product.created" in public_events(registry)  # the catalog's own

    def again(config):
        config.add_public_event("thing.made", SpecialThing, lambda request, event: {})

    with pytest.raises((PluginError, ConfigurationError), match="public_event"):
        build(shopcore_settings, declare, again)
    with pytest.raises((PluginError, ConfigurationError), match="<family>.<what>"):
        build(shopcore_settings, lambda config: config.add_public_event("Thing", Thing, lambda r, e: {}))


def test_jsonable_makes_json_types():
    import datetime
    import uuid
    from decimal import Decimal

    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    key = uuid.UUID(int=1)
    assert jsonable({"a": Decimal("1.50"), "b": moment, "c": frozenset({"y", "x"}), "d": (1, key)}) == \
        {"a": "1.50", "b": "2026-01-02T03:04:05Z", "c": ["x", "y"], "d": [1, str(key)]}


def test_a_kind_with_its_own_queue_is_routed_there_and_chosen_by_the_worker(shopcore_settings):
    def handlers(config):
        config.add_job_handler("t.fast", lambda registry, job: None, queue="fast", concurrency=4,
                               retry=RetryPolicy(3, 1, 4))

    settings = {**shopcore_settings, "shopcore.plugins": "catalog", "shopcore.messaging.queue": "q"}
    registry = make_test_configurator(settings, extra_includes=(handlers,)).registry
    assert queue_names(registry)[:1] == ["q"] and "q.fast" in queue_names(registry)
    assert queue_concurrency(registry, "q.fast") == 4 and queue_concurrency(registry, "q") == 1
    publisher = Publisher(registry["shopcore.messaging.options"],
                          lambda kind: "q.fast" if kind == "t.fast" else "q", lambda: queue_names(registry))
    assert publisher._queue_of("t.fast") == "q.fast"
    assert chosen_queues(registry, ["fast"]) == ["q.fast"] and chosen_queues(registry, ["q"]) == ["q"]
    assert chosen_queues(registry, ["nope"]) is None
    with pytest.raises((PluginError, ConfigurationError), match="concurrency"):
        make_test_configurator(settings, extra_includes=(
            lambda config: config.add_job_handler("t.x", lambda r, j: None, concurrency=2),))


def test_a_retry_policy_spans_its_tries_and_jitters():
    policy = RetryPolicy(max_attempts=4, base=10, cap=25, jitter=0.5)
    assert [policy.nominal_delay(n) for n in (1, 2, 3)] == [10, 20, 25]
    assert policy.shortest_span() == pytest.approx(27.5)
    assert all(5 <= policy.delay(1) <= 15 for _ in range(100))
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0, base=1, cap=1)

