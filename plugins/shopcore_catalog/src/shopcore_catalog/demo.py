"""`shopcore-admin CONFIG seed-demo [--products N]`: a realistic demo catalog, idempotent and fast.

Categories come as a two-level tree; product `i` is always the same product (its name, price,
stock and slug derive from `i` alone), so running the command again adds only what is missing and
a larger `--products` extends the catalog. Products go in with bulk inserts, a batch per
transaction, under a progress bar.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import sys
from dataclasses import dataclass
from decimal import Decimal

from slugify import slugify
from sqlalchemy import func, insert, select, text
from tqdm import tqdm
from zope.sqlalchemy import mark_changed

from shopcore.clock import utcnow

from shopcore_catalog.models import Category, Product, Variant
from shopcore_catalog.api import CatalogService
from shopcore_catalog.services import CACHE_NAMESPACE, CATEGORIES, PRODUCT_LISTS, options_key

DEFAULT_PRODUCTS = 60
EMPTY_OPTIONS_KEY = options_key({})
BATCH_SIZE = 5000


@dataclass(frozen=True)
class DemoLeaf:
    name: str
    nouns: tuple[str, ...]
    price_range: tuple[int, int]  # whole currency units


DEMO_TREE: dict[str, tuple[DemoLeaf, ...]] = {
    "Electronics": (
        DemoLeaf("Phones", ("Smartphone", "Phone Case", "Charger", "Screen Protector"), (9, 1400)),
        DemoLeaf("Laptops", ("Laptop", "Ultrabook", "Laptop Stand", "Docking Station"), (40, 3200)),
        DemoLeaf("Audio", ("Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar"), (15, 900)),
        DemoLeaf("Cameras", ("Mirrorless Camera", "Action Camera", "Tripod", "Camera Lens"), (25, 2600)),
    ),
    "Home & Kitchen": (
        DemoLeaf("Cookware", ("Frying Pan", "Saucepan", "Dutch Oven", "Knife Set"), (12, 350)),
        DemoLeaf("Furniture", ("Armchair", "Bookshelf", "Desk", "Coffee Table"), (45, 1800)),
        DemoLeaf("Lighting", ("Desk Lamp", "Floor Lamp", "Pendant Light", "LED Strip"), (8, 420)),
    ),
    "Books": (
        DemoLeaf("Fiction", ("Novel", "Short Stories", "Thriller", "Fantasy Saga"), (6, 45)),
        DemoLeaf("Non-fiction", ("Cookbook", "Biography", "History of Science", "Travel Guide"), (8, 60)),
        DemoLeaf("Children's Books", ("Picture Book", "Activity Book", "Bedtime Stories"), (4, 30)),
    ),
    "Sports & Outdoors": (
        DemoLeaf("Camping", ("Tent", "Sleeping Bag", "Camping Stove", "Headlamp"), (10, 650)),
        DemoLeaf("Fitness", ("Yoga Mat", "Dumbbell Set", "Resistance Bands", "Kettlebell"), (8, 400)),
        DemoLeaf("Cycling", ("Bike Helmet", "Bike Light", "Cycling Jersey", "Road Bike"), (12, 2900)),
    ),
    "Clothing": (
        DemoLeaf("Men", ("Rain Jacket", "Wool Sweater", "Chinos", "Oxford Shirt"), (15, 320)),
        DemoLeaf("Women", ("Linen Dress", "Trench Coat", "Cardigan", "Wide-leg Trousers"), (18, 380)),
        DemoLeaf("Shoes", ("Running Shoes", "Leather Boots", "Sneakers", "Sandals"), (20, 260)),
    ),
}
BRANDS = ("Nordlys", "Acme", "Kestrel", "Lumen", "Tideway", "Orchard", "Basalt", "Fjell", "Marlow", "Quill",
          "Ember", "Halcyon", "Juniper", "Cobalt", "Sable", "Vireo")
QUALITIES = ("Classic", "Pro", "Compact", "Wireless", "Eco", "Premium", "Everyday", "Ultra", "Travel", "Essential",
             "Deluxe", "Lite")
PRAISE = ("Built to last and easy to care for.", "A customer favourite for years.",
          "Thoughtfully designed, tested by our team.", "Great value for everyday use.",
          "Made from responsibly sourced materials.", "Ships in recyclable packaging.")


@dataclass(frozen=True)
class DemoProduct:
    index: int
    leaf: str
    name: str
    slug: str
    description: str
    price: Decimal
    stock: int
    age_seconds: int


slug_of = functools.cache(slugify)
LEAVES = [(parent, leaf) for parent, leaves in DEMO_TREE.items() for leaf in leaves]


class DemoDice:
    """Deterministic choices for one demo product, drawn from a hash of its number.

    Cheaper than seeding a `random.Random` per product (which dominated the time of a large seed)
    and just as repeatable, on any Python version.
    """

    def __init__(self, index: int):
        digest = hashlib.blake2b(index.to_bytes(8, "big"), digest_size=32, person=b"shopcore-demo").digest()
        self.entropy = int.from_bytes(digest, "big")

    def below(self, bound: int) -> int:
        self.entropy, drawn = divmod(self.entropy, bound)
        return drawn

    def choice(self, options):
        return options[self.below(len(options))]

    def between(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)


def demo_product(index: int) -> DemoProduct:
    """Product number `index` of the demo catalog: the same on every run."""
    dice = DemoDice(index)
    _parent, leaf = LEAVES[index % len(LEAVES)]
    brand, quality, noun = dice.choice(BRANDS), dice.choice(QUALITIES), dice.choice(leaf.nouns)
    name = f"{brand} {quality} {noun}"
    low, high = leaf.price_range
    price = Decimal(f"{dice.between(low, high)}.{dice.choice(('00', '49', '90', '95', '99'))}")
    stock = 0 if dice.below(100) < 8 else dice.between(1, 500)
    description = (f"The {name} from {brand}: a {quality.lower()} {noun.lower()} for "
                   f"{leaf.name.lower()} lovers. {dice.choice(PRAISE)}")
    return DemoProduct(index=index, leaf=leaf.name, name=name,
                       slug=f"{slug_of(brand)}-{slug_of(quality)}-{slug_of(noun)}-{index}",
                       description=description, price=price, stock=stock,
                       age_seconds=dice.below(365 * 24 * 3600))


def ensure_demo_categories(request) -> dict[str, int]:
    """The demo tree's category ids by name, creating the missing ones through the service."""
    catalog = request.find_service(CatalogService)
    session = request.dbsession
    ids: dict[str, int] = {}

    def ensure(name: str, parent: int | None) -> int:
        existing = session.scalar(select(Category.id).where(func.lower(Category.name) == func.lower(name)))
        return existing if existing is not None else catalog.create_category(name, parent=parent).id

    for parent_name, leaves in DEMO_TREE.items():
        ids[parent_name] = ensure(parent_name, None)
        for leaf in leaves:
            ids[leaf.name] = ensure(leaf.name, ids[parent_name])
    return ids


def seed_demo(request, products: int = DEFAULT_PRODUCTS, progress: bool = True) -> dict[str, int]:
    """Make sure demo products 1..`products` exist; returns how many were added and skipped."""
    with request.tm:
        category_ids = ensure_demo_categories(request)
        existing_slugs = set(request.dbsession.scalars(select(Product.slug)))
    added = 0
    now = utcnow()
    with tqdm(total=products, unit="product", desc="seed-demo", disable=not progress, file=sys.stderr) as bar:
        # Batch by batch, so memory holds one batch whatever the size of the catalog.
        for start in range(1, products + 1, BATCH_SIZE):
            numbers = range(start, min(start + BATCH_SIZE, products + 1))
            batch = [product for product in map(demo_product, numbers) if product.slug not in existing_slugs]
            if batch:
                rows = [{
                    "name": product.name, "slug": product.slug, "description": product.description,
                    "price": product.price, "stock": product.stock, "category_id": category_ids[product.leaf],
                    "is_active": True, "created_at": now - datetime.timedelta(seconds=product.age_seconds),
                    "updated_at": now,
                } for product in batch]
                with request.tm:
                    # An ORM-enabled insert, so zope.sqlalchemy sees the write and commits it (a Core
                    # insert of the bare table would be rolled back as a read-only transaction).
                    ids = dict(request.dbsession.execute(
                        insert(Product).returning(Product.slug, Product.id, sort_by_parameter_order=True),
                        rows).all())
                    # Each demo product is sold in one variant, its SKU the slug (like a product
                    # created through the API without options).
                    request.dbsession.execute(insert(Variant), [{
                        "product_id": ids[product.slug], "sku": product.slug, "options": {},
                        "options_key": EMPTY_OPTIONS_KEY, "price": product.price, "stock": product.stock,
                        "is_active": True, "created_at": now, "updated_at": now} for product in batch])
                    request.cache(CACHE_NAMESPACE).invalidate_after_commit(request, PRODUCT_LISTS, CATEGORIES)
                added += len(batch)
            bar.update(len(numbers))
    if added:
        with request.tm:
            # Fresh statistics, so the planner knows the table's new size (SQLite never gathers them itself).
            request.dbsession.execute(text("ANALYZE catalog_products"))
            request.dbsession.execute(text("ANALYZE catalog_variants"))
            mark_changed(request.dbsession)
    return {"added": added, "skipped": products - added, "categories": len(category_ids)}


def add_seed_arguments(parser) -> None:
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS,
                        help=f"how many demo products the catalog should hold (default {DEFAULT_PRODUCTS})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_seed_demo(env, args) -> int:
    if args.products < 0:
        print("error: --products must be 0 or more", file=sys.stderr)
        return 2
    result = seed_demo(env["request"], args.products, progress=not args.quiet)
    print(f"seed-demo: {result['categories']} categories, {result['added']} products added, "
          f"{result['skipped']} already there")
    return 0
