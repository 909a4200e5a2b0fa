"""seed-demo: a realistic demo catalog (category tree, varied prices and stock), idempotent, from the CLI too."""
import transaction
from pyramid.request import Request, apply_request_extensions
from sqlalchemy import func, select

from shopcore.settings import SETTINGS
from shopcore_catalog.demo import DEMO_TREE, demo_product, seed_demo
from shopcore_catalog.models import Category, Product

DEMO_CATEGORIES = len(DEMO_TREE) + sum(len(leaves) for leaves in DEMO_TREE.values())


def script_request(registry) -> Request:
    """A request as `shopcore-admin` gives commands: its own explicit transaction manager, none begun."""
    request = Request.blank("/")
    request.registry = registry
    apply_request_extensions(request)
    request.tm = transaction.TransactionManager(explicit=True)
    return request


def test_demo_products_are_the_same_on_every_run():
    assert demo_product(7) == demo_product(7)
    assert demo_product(7) != demo_product(8)


def test_seed_demo_is_realistic_and_idempotent(shopcore_registry, db_connection, make_category, testapp):
    books = make_category("BOOKS")  # an existing category of the same name is reused, not duplicated
    request = script_request(shopcore_registry)
    assert seed_demo(request, 120, progress=False) == {"added": 120, "skipped": 0, "categories": DEMO_CATEGORIES}
    assert seed_demo(request, 120, progress=False) == {"added": 0, "skipped": 120, "categories": DEMO_CATEGORIES}
    assert seed_demo(request, 150, progress=False)["added"] == 30

    with request.tm:
        session = request.dbsession
        assert session.scalar(select(func.count()).select_from(Category)) == DEMO_CATEGORIES
        assert session.scalar(select(Category.id).where(Category.name == "BOOKS")) == books
        roots = session.scalar(select(func.count()).select_from(Category).where(Category.parent_id.is_(None)))
        assert roots == len(DEMO_TREE)
        products = session.scalars(select(Product)).all()
        assert len(products) == 150
        leaf_ids = set(session.scalars(select(Category.id).where(Category.parent_id.is_not(None))))
        assert {product.category_id for product in products} == leaf_ids
        assert len({product.price for product in products}) > 50
        assert any(product.stock == 0 for product in products) and any(product.stock > 100 for product in products)

    # The seeded catalog is served through the API, from every filter.
    body = testapp.get(f"/api/products/?category={books}&ordering=-price&page_size=5").json
    assert body["count"] == sum(1 for i in range(1, 151) if demo_product(i).leaf in
                                {leaf.name for leaf in DEMO_TREE["Books"]})
    prices = [product["price"] for product in body["results"]]
    assert prices == sorted(prices, key=float, reverse=True)


def test_seed_demo_command_line(shopcore_settings, committed_db, tmp_path, monkeypatch, capsys):
    from shopcore.scripts.admin import main

    for setting in SETTINGS:  # only the ini decides, whatever this machine's environment says
        for variable in setting.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT"):
        monkeypatch.delenv(variable, raising=False)
    ini = tmp_path / "shop.ini"
    ini.write_text("\n".join([
        "[app:main]",
        "use = egg:shopcore",
        "shopcore.env = testing",
        f"shopcore.secret = {shopcore_settings['shopcore.secret']}",
        f"sqlalchemy.url = {shopcore_settings['sqlalchemy.url']}",
        f"shopcore.redis_url = {shopcore_settings['shopcore.redis_url']}",
        "shopcore.plugins = catalog",
        "",
    ]))
    assert main([str(ini), "seed-demo", "--products", "40"]) == 0
    first = capsys.readouterr()
    assert f"seed-demo: {DEMO_CATEGORIES} categories, 40 products added, 0 already there" in first.out
    assert "40/40" in first.err  # the progress bar
    assert main([str(ini), "seed-demo", "--products", "40", "--quiet"]) == 0
    assert "0 products added, 40 already there" in capsys.readouterr().out
    with committed_db.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Product)) == 40
