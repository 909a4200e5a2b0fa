"""docs/plugins.md followed by an outside author, against a pip-installed shop (issue 14's "done when").

In a temporary folder with the wheels of shopcore and the shop plugins installed in a fresh venv
(`installed_shop`): a product-reviews plugin is written from the guide (its own table and migration,
routes, OpenAPI fragment, event subscriber, cache namespace, kit-based tests in its own tests/),
installed, tested with the installed kit (`<venv>/bin/pytest` in its folder), then the shop is
migrated with `shopcore-admin`, served with `pserve` on a loopback port, and called.

Plugin contract 2.0 adds to the plugin (written to CONTRACT-2.0.md's names): `api="2.0"`, a body
extension giving products a `review_count` (`config.add_body_extension` and the fragment's
`x-shopcore-extend-schemas`), the catalog's `ProductDeleted` event and the catalog's own kit fixtures
(`make_product` from `shopcore_catalog.testing`); the installed shopcore must provide them all.
"""
from __future__ import annotations

import json
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from .conftest import PLUGIN_SOURCES, REPO, clean_environment, fresh_database, run

pytestmark = pytest.mark.installed

SECRET = "installed-shop-secret-" + "x" * 40
SHOP_PLUGINS = "catalog cart orders notifications"

SETUP_PY = '''
from setuptools import find_packages, setup

setup(
    name="shopcore-reviews",
    version="0.2.0",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_reviews": ["*.yaml", "migrations/*.py"]},
    install_requires=["shopcore"],
    entry_points={"shopcore.plugins": ["reviews = shopcore_reviews:plugin"]},
)
'''

INIT_PY = '''
"""shopcore plugin `reviews`: customers rate products; each product's body says how many reviews it has."""
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.accounts.events import UserRegistered
from shopcore.plugins import PluginManifest

CACHE_NAMESPACE = "reviews"


def includeme(config):
    from shopcore_reviews.services import welcome_reviewer

    config.add_openapi_fragment("shopcore_reviews:openapi.yaml")
    config.add_cache_namespace(CACHE_NAMESPACE)
    config.add_route("reviews.product", "/api/products/{product_id}/reviews/")
    config.add_route("reviews.stats", "/api/reviews/stats/")
    config.add_view("shopcore_reviews.views.list_reviews", route_name="reviews.product", request_method="GET",
                    renderer="json", openapi=True, permission=NO_PERMISSION_REQUIRED)
    config.add_view("shopcore_reviews.views.add_review", route_name="reviews.product", request_method="POST",
                    renderer="json", openapi=True, permission="shop.authenticated")
    config.add_view("shopcore_reviews.views.stats", route_name="reviews.stats", request_method="GET",
                    renderer="json", openapi=True, permission=NO_PERMISSION_REQUIRED)
    config.add_event_subscriber(welcome_reviewer, UserRegistered, after_commit=False)
    #CONTRACT-2: config.add_body_extension("catalog.product", review_counts)



plugin = PluginManifest(name="reviews", api=API, requires=("catalog",), includeme=includeme,
                        migrations="shopcore_reviews:migrations", description="Product reviews")
'''

MODELS_PY = '''
from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.db import Base


class Review(Base):
    __tablename__ = "reviews_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, index=True)  # the catalog's id; no foreign key
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(2000))


class Reviewer(Base):
    """A user welcomed as a possible reviewer when they registered (the event subscriber's work)."""

    __tablename__ = "reviews_reviewers"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(150))
'''

MIGRATION_PY = '''
"""reviews: reviews and reviewers

Revision ID: reviews_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "reviews_0001"
down_revision = None
branch_labels = ("reviews",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "reviews_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), nullable=False, index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("core_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
    )
    op.create_table(
        "reviews_reviewers",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("username", sa.String(150), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reviews_reviewers")
    op.drop_table("reviews_reviews")
'''

SERVICES_PY = '''
from sqlalchemy import func, select

from shopcore_reviews import CACHE_NAMESPACE
from shopcore_reviews.models import Review, Reviewer


def welcome_reviewer(request, event):
    request.dbsession.add(Reviewer(user_id=event.user_id, username=event.username))


def product_reviews(request, product_id: int) -> list[dict]:
    cache = request.cache(CACHE_NAMESPACE)

    def load():
        rows = request.dbsession.scalars(select(Review).where(Review.product_id == product_id).order_by(Review.id))
        return [{"id": r.id, "rating": r.rating, "text": r.text} for r in rows]

    return cache.get_or_create(cache.key("reviews", product_id), load)


def add_review(request, product_id: int, user_id: int, rating: int, text: str) -> dict:
    review = Review(product_id=product_id, user_id=user_id, rating=rating, text=text)
    request.dbsession.add(review)
    request.dbsession.flush()
    request.cache(CACHE_NAMESPACE).invalidate_after_commit(request, "reviews")
    #CONTRACT-2: request.invalidate_body("catalog.product", [product_id])
    return {"id": review.id, "rating": rating, "text": text}


def review_counts(request, ids):
    rows = request.dbsession.execute(select(Review.product_id, func.count()).where(Review.product_id.in_(ids))
                                     .group_by(Review.product_id))
    counts = dict(rows.all())
    return {product_id: {"review_count": counts.get(product_id, 0)} for product_id in ids}


def stats(request) -> dict:
    return {"reviews": request.dbsession.scalar(select(func.count()).select_from(Review)),
            "reviewers": request.dbsession.scalar(select(func.count()).select_from(Reviewer))}
'''

VIEWS_PY = '''
from shopcore_reviews import services


def list_reviews(request):
    product_id = request.openapi_validated.parameters.path["product_id"]
    results = services.product_reviews(request, product_id)
    return {"count": len(results), "results": results}


def add_review(request):
    product_id = request.openapi_validated.parameters.path["product_id"]
    body = request.openapi_validated.body
    request.response.status = 201
    return services.add_review(request, product_id, request.identity.user_id, body["rating"], body["text"])


def stats(request):
    return services.stats(request)
'''

OPENAPI_YAML = '''
paths:
  /api/products/{product_id}/reviews/:
    parameters:
      - {name: product_id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: listProductReviews
      tags: [reviews]
      responses:
        "200":
          description: The product's reviews, oldest first.
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [count, results]
                properties:
                  count: {type: integer}
                  results: {type: array, items: {$ref: "#/components/schemas/Review"}}
    post:
      operationId: addProductReview
      tags: [reviews]
      security: [{bearerAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [rating, text]
              properties:
                rating: {type: integer, minimum: 1, maximum: 5}
                text: {type: string, maxLength: 2000}
      responses:
        "201":
          description: The new review.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Review"}
  /api/reviews/stats/:
    get:
      operationId: getReviewStats
      tags: [reviews]
      responses:
        "200":
          description: How many reviews and reviewers there are.
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [reviews, reviewers]
                properties:
                  reviews: {type: integer}
                  reviewers: {type: integer}
components:
  schemas:
    Review:
      type: object
      additionalProperties: false
      required: [id, rating, text]
      properties:
        id: {type: integer}
        rating: {type: integer}
        text: {type: string}
#CONTRACT-2: x-shopcore-extend-schemas:
#CONTRACT-2:   Product: {properties: {review_count: {type: integer}}}
'''

CONFTEST_PY = '''
import pytest


@pytest.fixture(scope="session")
def shopcore_plugins():
    return ["catalog", "reviews"]
'''

TESTS_PY = '''
def test_a_customer_reviews_a_product_and_everyone_reads_it(customer_app, testapp):
    testapp.post_json("/api/products/7/reviews/", {"rating": 5, "text": "Bright"}, status=401)
    created = customer_app.post_json("/api/products/7/reviews/", {"rating": 5, "text": "Bright"}, status=201).json
    assert created["rating"] == 5
    body = testapp.get("/api/products/7/reviews/").json
    assert body == {"count": 1, "results": [created]}


def test_a_rating_out_of_range_names_the_field(customer_app):
    body = customer_app.post_json("/api/products/7/reviews/", {"rating": 9, "text": "?"}, status=400).json
    assert [error["field"] for error in body["errors"]] == ["rating"]


def test_registration_welcomes_a_reviewer(testapp):
    testapp.post_json("/api/auth/register/", {"username": "newcomer", "email": "newcomer@example.com",
                                              "password": "a long passphrase"}, status=201)
    assert testapp.get("/api/reviews/stats/").json["reviewers"] == 1
'''

TESTS_2_PY = '''

def test_the_product_body_counts_its_reviews(customer_app, testapp, make_product):
    product = make_product(name="Desk lamp")
    product_id = product if isinstance(product, int) else product.id
    assert testapp.get(f"/api/products/{product_id}/").json["review_count"] == 0
    customer_app.post_json(f"/api/products/{product_id}/reviews/", {"rating": 4, "text": "Good"}, status=201)
    assert testapp.get(f"/api/products/{product_id}/").json["review_count"] == 1
'''


def installed_contract(shop) -> str:
    return run([shop.bin("python"), "-c", "import shopcore.plugins as p; print(p.CONTRACT_VERSION)"],
               cwd=shop.folder).stdout.strip()


BODY_EXTENSIONS_PROBE = ("import pathlib, shopcore; print(any('def add_body_extension' in path.read_text() "
                         "for path in pathlib.Path(shopcore.__file__).parent.rglob('*.py')))")


def has_body_extensions(shop) -> bool:
    """Whether the installed shopcore offers `config.add_body_extension` (contract engineer's part)."""
    return run([shop.bin("python"), "-c", BODY_EXTENSIONS_PROBE], cwd=shop.folder).stdout.strip() == "True"


def write_plugin(folder: Path, contract_2: bool, body_extensions: bool) -> Path:
    source = folder / "shopcore-reviews"
    package = source / "src" / "shopcore_reviews"
    (package / "migrations").mkdir(parents=True)
    (source / "tests").mkdir()

    def contract(text: str) -> str:
        # The body-extension lines are written only for a shopcore that has them (module docstring).
        return text.replace("#CONTRACT-2: ", "") if body_extensions else text
    files = {
        source / "setup.py": SETUP_PY,
        package / "__init__.py": contract(INIT_PY).replace("api=API", f"api={'2.0' if contract_2 else '1.0'!r}"),
        package / "models.py": MODELS_PY,
        package / "services.py": contract(SERVICES_PY),
        package / "views.py": VIEWS_PY,
        package / "openapi.yaml": contract(OPENAPI_YAML),
        package / "migrations" / "reviews_0001_reviews.py": MIGRATION_PY,
        source / "tests" / "conftest.py": CONFTEST_PY,
        source / "tests" / "test_reviews.py": TESTS_PY + (TESTS_2_PY if body_extensions else ""),
    }
    if body_extensions:
        files[package / "__init__.py"] = files[package / "__init__.py"].replace(
            "    from shopcore_reviews.services import welcome_reviewer",
            "    from shopcore_reviews.services import review_counts, welcome_reviewer")
    for path, content in files.items():
        path.write_text(textwrap.dedent(content).lstrip())
    return source


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base: str, method: str, path: str, body=None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def package_files(package_folder: Path) -> set[str]:
    """Every file a package ships: all but bytecode and placeholders, relative to the package's parent."""
    return {str(path.relative_to(package_folder.parent)) for path in package_folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.name != ".keep"}


def test_the_wheels_hold_every_file_of_the_packages(installed_shop):
    sources = {"shopcore": REPO / "src" / "shopcore"}
    sources.update({folder.name: folder / "src" / folder.name for folder in PLUGIN_SOURCES})
    for package, folder in sources.items():
        wheel = next(installed_shop.wheels.glob(f"{package}-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            shipped = {name for name in archive.namelist() if not name.endswith("/")}
        missing = package_files(folder) - shipped
        assert not missing, f"{wheel.name} lacks {sorted(missing)}"
    core = next(installed_shop.wheels.glob("shopcore-*.whl"))
    with zipfile.ZipFile(core) as archive:
        names = archive.namelist()
    assert "shopcore/migrations/env.py" in names
    assert "shopcore/docs/vendor/redoc/redoc.standalone.js" in names
    assert not [name for name in names if name.startswith(("tests/", "alembic/", "plugins/"))]


def test_a_plugin_written_from_the_guide_is_tested_migrated_served_and_called(installed_shop):
    shop = installed_shop
    assert installed_contract(shop).startswith("2.")  # 2.x: a 2.0 plugin loads on any minor
    assert has_body_extensions(shop)
    contract_2 = body_extensions = True
    source = write_plugin(shop.folder, contract_2, body_extensions)
    run([shop.bin("python"), "-m", "pip", "install", "--quiet", "--no-deps", source], cwd=shop.folder,
        env=clean_environment())

    # Its own tests, with the installed kit, from its own folder.
    kit_env = clean_environment(SHOPCORE_TEST_DATABASE_URL=fresh_database("guide_kit", shop.folder))
    tests = run([shop.bin("pytest"), "-q", "-p", "no:cacheprovider", "tests"], cwd=source, env=kit_env, timeout=600)
    expected = 4 if body_extensions else 3
    assert f"{expected} passed" in tests.stdout, tests.stdout

    # production.ini, as shipped, from a folder of the operator's: only the address differs.
    port = free_port()
    ini = shop.folder / "production.ini"
    ini.write_text((REPO / "production.ini").read_text().replace("bind = 0.0.0.0:8000", f"bind = 127.0.0.1:{port}"))
    shop_env = clean_environment(
        SECRET_KEY=SECRET, DATABASE_URL=fresh_database("guide_shop", shop.folder),
        SHOPCORE_PLUGINS=f"{SHOP_PLUGINS} reviews", REDIS_URL=(kit_env.get("SHOPCORE_TEST_REDIS_URL") or ""),
        BROKER_URL=(kit_env.get("SHOPCORE_TEST_REDIS_BROKER_URL") or ""), SHOPCORE_MAIL_BACKEND="file", PYTHONUNBUFFERED="1")
    migrated = run([shop.bin("shopcore-admin"), ini.name, "migrate"], cwd=shop.folder, env=shop_env)
    assert "migrated to heads" in migrated.stdout
    listed = run([shop.bin("shopcore-admin"), ini.name, "plugins"], cwd=shop.folder, env=shop_env).stdout
    assert "reviews          0.2.0" in listed
    assert "enabled, migrated (reviews_0001)" in listed
    run([shop.bin("shopcore-admin"), ini.name, "create-user", "--username", "root", "--email", "root@example.com",
         "--password", "lantern-orbit-77", "--admin"], cwd=shop.folder, env=shop_env)

    logs = {name: (shop.folder / f"{name}.log").open("w") for name in ("pserve", "worker")}
    server = subprocess.Popen([shop.bin("pserve"), ini.name], cwd=shop.folder, env=shop_env,
                              stdout=logs["pserve"], stderr=subprocess.STDOUT)
    workers = []
    if shop_env["BROKER_URL"]:
        workers.append(subprocess.Popen([shop.bin("shopcore-worker"), ini.name], cwd=shop.folder, env=shop_env,
                                        stdout=logs["worker"], stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{port}"
    try:
        # Two gunicorn workers each build the app; a busy machine (CI runs the suite beside) needs time.
        deadline = time.monotonic() + 240
        while True:
            try:
                if call(base, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (
                "pserve did not come up:\n" + (shop.folder / "pserve.log").read_text())
            time.sleep(0.5)

        status, body = call(base, "GET", "/api/plugins/")
        assert status == 200
        assert {plugin["name"]: plugin["version"] for plugin in json.loads(body)}["reviews"] == "0.2.0"
        for path, needle in (("/swagger/", b"swagger-ui-bundle.js"), ("/redoc/", b"redoc.standalone.js"),
                             ("/redoc/redoc.standalone.js", b"Redoc"), ("/swagger.json", b"listProductReviews"),
                             ("/openapi.yaml", b"addProductReview"), ("/ready", b'"checks"')):
            status, body = call(base, "GET", path)
            assert (status, needle in body) == (200, True), (path, status, body[:300])
        assert set(json.loads(call(base, "GET", "/ready")[1])["checks"].values()) == {"ok"}

        status, _ = call(base, "POST", "/api/auth/register/", {"username": "john", "email": "john@example.com",
                                                              "password": "a long passphrase"})
        assert status == 201
        status, body = call(base, "POST", "/api/auth/login/", {"username": "john", "password": "a long passphrase"})
        token = json.loads(body)["access"]
        status, body = call(base, "POST", "/api/auth/login/", {"username": "root", "password": "lantern-orbit-77"})
        admin_token = json.loads(body)["access"]
        status, body = call(base, "POST", "/api/categories/", {"name": "Lamps"}, admin_token)
        assert status == 201, body
        category = json.loads(body)["id"]
        status, body = call(base, "POST", "/api/products/", {"name": "Desk lamp", "description": "Bright",
                                                             "price": "30.00", "stock": 3, "category": category},
                            admin_token)
        assert status == 201, body
        product = json.loads(body)["id"]

        assert call(base, "POST", f"/api/products/{product}/reviews/", {"rating": 5, "text": "Bright"})[0] == 401
        status, body = call(base, "POST", f"/api/products/{product}/reviews/", {"rating": 5, "text": "Bright"}, token)
        assert status == 201, body
        status, body = call(base, "GET", f"/api/products/{product}/reviews/")
        assert (status, json.loads(body)["count"]) == (200, 1)
        status, body = call(base, "GET", "/api/reviews/stats/")
        assert json.loads(body) == {"reviews": 1, "reviewers": 1}
        if body_extensions:
            assert json.loads(call(base, "GET", f"/api/products/{product}/")[1])["review_count"] == 1
        for worker in workers:
            assert worker.poll() is None, (shop.folder / "worker.log").read_text()
    finally:
        for process in (server, *workers):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs.values():
            log.close()
