"""docs/plugins.md, followed step by step: a throwaway plugin is written, installed, enabled and called."""
import subprocess
import sys
import textwrap

import pytest
import webtest

from shopcore.testing import make_test_configurator

SETUP_PY = '''
from setuptools import find_packages, setup

setup(
    name="shopcore-wishlist",
    version="0.3.0",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_wishlist": ["*.yaml"]},
    install_requires=["shopcore"],
    entry_points={"shopcore.plugins": ["wishlist = shopcore_wishlist:plugin"]},
)
'''

INIT_PY = '''
from shopcore.accounts.events import UserRegistered
from shopcore.plugins import PluginManifest


def remember_new_user(request, event):
    request.registry.setdefault("wishlist.greeted", []).append(event.username)


def includeme(config):
    config.add_openapi_fragment("shopcore_wishlist:openapi.yaml")
    config.add_route("wishlist", "/api/wishlist/")
    config.add_view("shopcore_wishlist.views.show_wishlist", route_name="wishlist",
                    request_method="GET", renderer="json", openapi=True,
                    permission="shop.authenticated")
    config.add_event_subscriber(remember_new_user, UserRegistered, after_commit=True)


plugin = PluginManifest(name="wishlist", api="2.0", requires=("catalog",),
                        includeme=includeme, description="Products a customer wants later")
'''

VIEWS_PY = '''
def show_wishlist(request):
    return {"products": [], "owner": request.identity.username}
'''

OPENAPI_YAML = '''
paths:
  /api/wishlist/:
    get:
      operationId: getWishlist
      tags: [wishlist]
      security: [{bearerAuth: []}]
      responses:
        "200":
          description: The caller's wishlist.
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [products, owner]
                properties:
                  products: {type: array, items: {type: integer}}
                  owner: {type: string}
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """The plugin built from the guide's files and installed with pip into a folder on sys.path."""
    source = tmp_path_factory.mktemp("shopcore-wishlist")
    package = source / "src" / "shopcore_wishlist"
    package.mkdir(parents=True)
    (source / "setup.py").write_text(textwrap.dedent(SETUP_PY))
    (package / "__init__.py").write_text(textwrap.dedent(INIT_PY))
    (package / "views.py").write_text(textwrap.dedent(VIEWS_PY))
    (package / "openapi.yaml").write_text(textwrap.dedent(OPENAPI_YAML))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(source)], check=True, timeout=300)
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("shopcore_wishlist")]:
        del sys.modules[name]


@pytest.fixture
def wishlist_app(installed_plugin, shopcore_settings, shopcore_registry, db_connection):
    settings = {**shopcore_settings, "shopcore.plugins": "catalog wishlist"}
    config = make_test_configurator(settings, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    return webtest.TestApp(config.make_wsgi_app())


def test_the_guides_plugin_is_listed_and_serves_its_route(wishlist_app, customer, token_for):
    plugins = {p["name"]: p for p in wishlist_app.get("/api/plugins/").json}
    assert plugins["wishlist"]["version"] == "0.3.0"
    assert plugins["wishlist"]["requires"] == ["catalog"]
    assert "/api/wishlist/" in wishlist_app.get("/swagger.json").json["paths"]
    wishlist_app.get("/api/wishlist/", status=401)
    token = token_for(customer)["access"]
    body = wishlist_app.get("/api/wishlist/", headers={"Authorization": f"Bearer {token}"}).json
    assert body == {"products": [], "owner": "customer"}


def test_the_guides_event_subscriber_hears_registrations(wishlist_app):
    wishlist_app.post_json("/api/auth/register/", {"username": "newcomer", "email": "newcomer@example.com",
                                                    "password": "a long passphrase"}, status=201)
    assert "newcomer" in wishlist_app.app.registry["wishlist.greeted"]


def test_the_guides_plugin_is_absent_when_not_enabled(testapp, installed_plugin):
    assert "/api/wishlist/" not in testapp.get("/swagger.json").json["paths"]
    testapp.get("/api/wishlist/", status=404)
