"""Clashes are start-up errors naming both owners: the core and every plugin are committed together.

Each test enables throwaway plugins (entry points faked as in test_plugin_loader) next to the real
catalog and shows start-up failing with a PluginError that names both by their allow-list names.
"""
import re

import pytest

from shopcore import plugins as plugins_module
from shopcore.plugins import CONTRACT_VERSION, ENTRY_POINT_GROUP, PluginError, PluginManifest
from shopcore.settings import Setting, parse_str
from shopcore.testing import make_test_configurator
from shopcore_catalog.api import CatalogService


class FakeEntryPoint:
    dist = None

    def __init__(self, manifest):
        self.manifest = manifest

    def load(self):
        return self.manifest


def throwaway(name, includeme, requires=("catalog",)):
    """A plugin named `name` whose includeme is `includeme`.

    Pyramid includes a callable once per `module:function` name, so each gets a name of its own.
    """
    includeme.__name__ = includeme.__qualname__ = f"includeme_{name}"
    return PluginManifest(name=name, api=CONTRACT_VERSION, requires=requires, includeme=includeme)


@pytest.fixture
def start(shopcore_settings, monkeypatch):
    """`start(*throwaway_plugins, enabled=("catalog",))`: build the app with them enabled too."""
    installed = plugins_module.discover()

    def start(*fakes, enabled=("catalog",), allow_list=None):
        available = {**installed, **{m.name: FakeEntryPoint(m) for m in fakes}}
        monkeypatch.setattr(plugins_module, "discover", lambda group=ENTRY_POINT_GROUP: available)
        allow_list = allow_list or [*enabled, *(m.name for m in fakes)]
        settings = {**shopcore_settings, "shopcore.plugins": " ".join(allow_list)}
        return make_test_configurator(settings)

    return start


def fails(start, *fakes, message, enabled=("catalog",), allow_list=None):
    with pytest.raises(PluginError, match=message) as caught:
        start(*fakes, enabled=enabled, allow_list=allow_list)
    return str(caught.value)


def product_list_too(request):
    return {"count": 0, "next": None, "previous": None, "results": []}


def test_a_get_view_on_another_plugins_route_is_refused_instead_of_replacing_it(start):
    def includeme(config):
        config.add_view(product_list_too, route_name="catalog.products", request_method="GET", renderer="json")

    message = fails(start, throwaway("reviews", includeme),
                    message=r"plugins 'catalog' and 'reviews' both register a GET view on route 'catalog.products'")
    assert "disable the other plugin" in message


def test_two_plugins_adding_a_route_of_the_same_name_are_refused(start):
    def first(config):
        config.add_route("shared.list", "/api/first/")

    def second(config):
        config.add_route("shared.list", "/api/second/")

    fails(start, throwaway("first", first), throwaway("second", second),
          message=r"plugins 'first' and 'second' both register route 'shared.list'")


def test_a_plugin_adding_a_route_the_core_has_is_refused(start):
    def includeme(config):
        config.add_route("health", "/my-health")

    fails(start, throwaway("reviews", includeme), message=r"the core and plugin 'reviews' both register route 'health'")


def test_a_plugin_taking_another_plugins_cache_namespace_is_refused(start):
    def includeme(config):
        config.add_cache_namespace("catalog")

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both register cache namespace 'catalog'")


def test_two_plugins_adding_the_same_admin_command_are_refused(start):
    def first(config):
        config.add_admin_command("reindex", lambda env, args: 0)

    def second(config):
        config.add_admin_command("reindex", lambda env, args: 0)

    fails(start, throwaway("first", first), throwaway("second", second),
          message=r"plugins 'first' and 'second' both register admin command 'reindex'")


def test_a_plugin_adding_an_admin_command_of_the_core_is_refused(start):
    def includeme(config):
        config.add_admin_command("jobs-status", lambda env, args: 0)

    fails(start, throwaway("reviews", includeme),
          message=r"the core and plugin 'reviews' both register admin command 'jobs-status'")


def test_a_plugin_adding_another_plugins_periodic_task_is_refused(start):
    def includeme(config):
        config.add_periodic_task("orders.expire", lambda registry: None, interval=5)

    fails(start, throwaway("reviews", includeme), enabled=("catalog", "cart", "orders"),
          message=r"plugins 'orders' and 'reviews' both register periodic task 'orders.expire'")


def test_a_plugin_declaring_an_audited_action_twice_is_refused(start):
    def includeme(config):
        config.add_audited_action("reviews.review.delete", doc="A review was deleted")
        config.add_audited_action("reviews.review.delete", doc="Again")

    fails(start, throwaway("reviews", includeme),
          message=r"plugin 'reviews' \(twice\) both register audited action 'reviews.review.delete'")


def test_a_plugin_declaring_another_plugins_audited_action_is_refused(start):
    def includeme(config):
        config.add_audited_action("catalog.product.delete", doc="Not mine")

    fails(start, throwaway("reviews", includeme),
          message=r"plugin 'reviews' declares audited action 'catalog.product.delete': its name must start with "
                  r"'reviews.'")


def test_a_plugin_registering_another_plugins_service_is_refused(start):
    def includeme(config):
        config.register_service_factory(lambda context, request: object(), CatalogService)

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both register service CatalogService")


def test_two_plugins_registering_a_service_by_the_same_name_are_refused(start):
    def first(config):
        config.register_service_factory(lambda context, request: object(), name="wishlist")

    def second(config):
        config.register_service_factory(lambda context, request: object(), name="wishlist")

    fails(start, throwaway("wishlist", first), throwaway("reviews", second),
          message=r"plugins 'wishlist' and 'reviews' both register service 'wishlist'")


def test_two_plugins_declaring_the_same_extension_point_are_refused(start):
    def first(config):
        config.add_extension_point("shared.decide", doc="Deciding")

    def second(config):
        config.add_extension_point("shared.decide", doc="Deciding too")

    fails(start, throwaway("first", first), throwaway("second", second),
          message=r"plugins 'first' and 'second' both register extension point 'shared.decide'")


def test_a_plugin_declaring_another_plugins_extension_point_is_refused(start):
    def includeme(config):
        config.add_extension_point("catalog.product_referenced", doc="Mine now")

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both register extension point 'catalog.product_referenced'")


def test_a_plugin_taking_another_plugins_settings_prefix_is_refused(start):
    def includeme(config):
        from shopcore_catalog import CATALOG_SETTINGS

        # The catalog's own rows (a table of other rows would fail on the catalog's keys first).
        config.add_settings_table("shopcore.catalog.", CATALOG_SETTINGS)

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both register settings prefix 'shopcore.catalog.'")


def test_a_plugin_adding_another_plugins_migrations_is_refused(start):
    def includeme(config):
        config.add_migrations("shopcore_catalog:migrations")

    fails(start, throwaway("reviews", includeme), message=r"plugins 'catalog' and 'reviews' both register migration")


def test_a_plugin_replacing_the_identity_verifier_is_refused(start):
    def includeme(config):
        config.set_identity_verifier(lambda request, claims: None)

    fails(start, throwaway("reviews", includeme),
          message=r"the core and plugin 'reviews' both register the identity verifier")


def test_a_plugin_adding_a_readiness_check_of_the_core_is_refused(start):
    def includeme(config):
        config.add_readiness_check("database", lambda request: None)

    fails(start, throwaway("reviews", includeme),
          message=r"the core and plugin 'reviews' both register readiness check 'database'")


def fragment(tmp_path, name, path, operation_id):
    file = tmp_path / f"{name}.yaml"
    file.write_text(f"""
paths:
  {path}:
    get:
      operationId: {operation_id}
      responses:
        "200": {{description: ok}}
""")
    return str(file)


def test_two_plugins_declaring_the_same_openapi_path_are_refused(start, tmp_path):
    first_spec, second_spec = fragment(tmp_path, "a", "/api/shared/", "firstList"), \
        fragment(tmp_path, "b", "/api/shared/", "secondList")

    def first(config):
        config.add_openapi_fragment(first_spec)

    def second(config):
        config.add_openapi_fragment(second_spec)

    fails(start, throwaway("first", first), throwaway("second", second),
          message=r"plugins 'first' and 'second' both declare OpenAPI path /api/shared/")


def test_a_plugin_declaring_a_path_of_another_plugin_is_refused(start, tmp_path):
    spec = fragment(tmp_path, "a", "/api/products/", "myProducts")

    def includeme(config):
        config.add_openapi_fragment(spec)

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both declare OpenAPI path /api/products/")


def test_two_plugins_declaring_the_same_operation_id_are_refused(start, tmp_path):
    first_spec, second_spec = fragment(tmp_path, "a", "/api/first/", "listThings"), \
        fragment(tmp_path, "b", "/api/second/", "listThings")

    def first(config):
        config.add_openapi_fragment(first_spec)

    def second(config):
        config.add_openapi_fragment(second_spec)

    fails(start, throwaway("first", first), throwaway("second", second),
          message=r"plugins 'first' and 'second' both declare OpenAPI operationId listThings")


def test_an_operation_id_of_the_core_is_refused(start, tmp_path):
    spec = fragment(tmp_path, "a", "/api/mine/", "ready")

    def includeme(config):
        config.add_openapi_fragment(spec)

    fails(start, throwaway("reviews", includeme),
          message=r"the core and plugin 'reviews' both declare OpenAPI operationId ready")


def extension_fragment(tmp_path, name, field):
    file = tmp_path / f"{name}.yaml"
    file.write_text(f"""
x-shopcore-extend-schemas:
  Product:
    properties:
      {field}: {{type: integer}}
""")
    return str(file)


def no_fields(request, ids):
    return {}


def test_two_plugins_adding_the_same_provider_to_a_body_are_refused(start):
    def first(config):
        config.add_body_extension("catalog.product", no_fields)

    def second(config):
        config.add_body_extension("catalog.product", no_fields)

    fails(start, throwaway("ratings", first), throwaway("reviews", second),
          message=r"plugins 'ratings' and 'reviews' both register body extension 'catalog.product' with provider "
                  r"\S*test_plugin_clashes\.no_fields")


def test_two_plugins_adding_the_same_field_to_a_body_are_refused(start, tmp_path):
    first_spec, second_spec = extension_fragment(tmp_path, "a", "review_count"), \
        extension_fragment(tmp_path, "b", "review_count")

    def first(config):
        config.add_openapi_fragment(first_spec)
        config.add_body_extension("catalog.product", lambda request, ids: {})

    def second(config):
        config.add_openapi_fragment(second_spec)
        config.add_body_extension("catalog.product", lambda request, ids: {})

    fails(start, throwaway("ratings", first), throwaway("reviews", second),
          message=r"plugins 'ratings' and 'reviews' both add field review_count to OpenAPI schema Product")


def test_a_plugin_adding_a_field_the_body_has_is_refused(start, tmp_path):
    spec = extension_fragment(tmp_path, "a", "price")

    def includeme(config):
        config.add_openapi_fragment(spec)

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both declare field price of OpenAPI schema Product")


def test_a_plugin_declaring_another_plugins_extensible_body_is_refused(start):
    def includeme(config):
        config.add_extensible_body("catalog.product", schema="Product", invalidate=lambda request, ids: None)

    fails(start, throwaway("reviews", includeme),
          message=r"plugins 'catalog' and 'reviews' both register extensible body 'catalog.product'")


def test_include_order_does_not_hide_a_clash(start):
    """The clashing plugin included before the owner (it does not require it) is still caught."""
    def includeme(config):
        config.add_cache_namespace("catalog")

    fails(start, throwaway("early", includeme, requires=()), allow_list=["early", "catalog"],
          message=r"plugins 'early' and 'catalog' both register cache namespace 'catalog'")


def test_a_failure_found_at_commit_still_names_the_plugin(start):
    def includeme(config):
        config.add_view("no.such.module.view", route_name="catalog.products", request_param="mine")

    fails(start, throwaway("broken", includeme), message=r"plugin 'broken' failed to configure")


def test_a_view_on_a_route_nobody_added_names_the_plugin(start):
    def includeme(config):
        config.add_view(product_list_too, route_name="no.such.route", renderer="json")

    fails(start, throwaway("broken", includeme),
          message=re.escape("plugin 'broken' failed to configure: ConfigurationError"))


def test_same_plugin_registering_different_parts_starts(start):
    """Not a clash: a plugin with its own route, namespace, command, point and settings starts."""
    def includeme(config):
        config.add_route("reviews.list", "/api/reviews-x/")
        config.add_cache_namespace("reviews")
        config.add_admin_command("reviews-purge", lambda env, args: 0)
        config.add_extension_point("reviews.moderation", doc="Moderating a review")
        config.add_settings_table("shopcore.reviews.", (Setting("shopcore.reviews.limit", "5", parse_str),))
        config.grant_permission("system.Authenticated", "shop.authenticated")

    registry = start(throwaway("reviews", includeme)).registry
    assert "reviews" in registry["shopcore.cache_namespaces"]
    assert registry.settings["shopcore.reviews.limit"] == "5"
