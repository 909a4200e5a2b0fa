"""CSV import and export of the catalog: `shopcore-admin CONFIG catalog-import FILE.csv` and `catalog-export`.

One row per variant. The columns (a header row names them, in any order):

    sku            the variant's SKU: the key rows are upserted by (case aside); required
    product        the product's name (required for a new product)
    slug           the product's slug: rows with the same slug are one product; empty: the product
                   the SKU already belongs to, else the slug made from the name
    category       a category's slug or name (created when no category has it); empty: none
    description    the product's description
    active         the product is for sale: true/false (also 1/0, yes/no); empty: true
    price, stock   the variant's
    variant_active the variant is for sale; empty: true
    images         the product's images, `|` between them: http(s) URLs or paths (relative to the
                   CSV file's folder); an image already stored from the same URL or path, or at that
                   URL, is kept; the product's images not listed are removed; empty on every row of
                   a product: its images are left as they are
    option:<name>  a value of the option <name> (one column per option name); the product's option
                   names are the option columns its rows fill, in column order
    attribute:<code>  the value of the attribute <code> (see /api/attributes/); empty: none

Columns a product's rows share (product, slug, category, description, active, images, attributes)
must agree between its rows. Every bad row is reported with its line number and column; nothing is
written if any row is bad, unless `--skip-invalid` (the rows of a product with a bad row are left
out). `--dry-run` checks and counts without writing. `catalog-export` writes this format, so an
export imported again changes nothing.

The import is a bulk load: the rows are checked in memory against the catalog read once, and
written with a few multi-row statements in one transaction, so 100,000 rows take seconds, not the
hours 100,000 API calls would. It still emits the catalog's events (`ProductCreated`, and
`ProductChanged` naming what changed) and invalidates the cache, so a running server shows the
import on its next request.
"""
from __future__ import annotations

import csv
import os
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from slugify import slugify
from sqlalchemy import String, case, cast, delete, func, insert, select, update
from tqdm import tqdm
from zope.sqlalchemy import mark_changed

from shopcore.clock import utcnow
from shopcore.errors import ShopError

from shopcore_catalog.api import CatalogService
from shopcore_catalog.events import ProductChanged, ProductCreated
from shopcore_catalog.images import ImageLimits, store_image_bytes
from shopcore_catalog.media import MediaStorage, delete_after_commit
from shopcore_catalog.models import (CATEGORY_NAME_MAX, DESCRIPTION_MAX, PRODUCT_NAME_MAX, STOCK_MAX, Attribute,
                                     Category, Image, Product, ProductAttribute, Variant)
from shopcore_catalog.services import (CACHE_NAMESPACE, CATEGORIES, PRODUCT_LISTS, canonical_attribute_value,
                                       options_key, parse_option_names, parse_price, parse_slug, parse_sku,
                                       parse_stock, parse_text, product_collection)

FIXED_COLUMNS = ("sku", "product", "slug", "category", "description", "active", "price", "stock", "variant_active",
                 "images")
OPTION_PREFIX = "option:"
ATTRIBUTE_PREFIX = "attribute:"
PRODUCT_COLUMNS = ("product", "slug", "category", "description", "active", "images")
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": True}
IMAGE_SEPARATOR = "|"
# Rows per multi-row statement.
BATCH = 5000
IMAGE_FETCH_TIMEOUT = 20


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class RowInvalid(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


@dataclass
class VariantRow:
    line: int
    sku: str
    price: Decimal
    stock: int
    is_active: bool
    options: dict[str, str]


@dataclass
class ProductRows:
    """The rows of one product, and its fields as the first of them gives them."""

    key: str
    slug: str | None
    name: str | None
    category: str
    description: str
    is_active: bool
    images: list[str]
    attributes: dict[str, str]
    first_line: int
    option_columns: list[str] = field(default_factory=list)
    variants: list[VariantRow] = field(default_factory=list)
    invalid: bool = False


@dataclass
class ImportReport:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    unchanged: int = 0
    skipped_rows: int = 0
    categories_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.products_created} products created, {self.products_updated} updated; "
                f"{self.variants_created} variants created, {self.variants_updated} updated, {self.unchanged} "
                f"unchanged; {self.categories_created} categories created; {self.skipped_rows} rows skipped")


def parse_flag(value: str, column: str) -> bool:
    word = value.strip().lower()
    if word not in TRUE_WORDS:
        raise RowInvalid(column, "Must be true or false.")
    return TRUE_WORDS[word]


def cell(row: dict, column: str) -> str:
    value = row.get(column)
    return "" if value is None else value


class CatalogImport:
    """One import: read and check every row, then write them all (or report why not)."""

    def __init__(self, request, path: Path, *, dry_run: bool = False, skip_invalid: bool = False,
                 progress: bool = True):
        self.request = request
        self.session = request.dbsession
        self.path = path
        self.dry_run = dry_run
        self.skip_invalid = skip_invalid
        self.progress = progress
        self.report = ImportReport()
        # Products with a bad row (all their rows are left out) and the bad rows themselves.
        self.invalid_keys: set[str | None] = set()
        self.bad_rows = 0

    def error(self, line: int, column: str, message: str) -> None:
        self.report.errors.append(RowError(line, column, message))

    # --- reading and checking ----------------------------------------------------------------------

    def run(self) -> ImportReport:
        with open(self.path, newline="", encoding="utf-8-sig") as handle:
            self.total = max(sum(1 for _ in csv.reader(handle)) - 1, 0)  # for the progress bar
            handle.seek(0)
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if not self.check_header(header):
                return self.report
            self.option_columns = [c for c in header if c.startswith(OPTION_PREFIX)]
            self.attribute_columns = [c for c in header if c.startswith(ATTRIBUTE_PREFIX)]
            self.load_catalog()
            products = self.read_rows(reader)
        self.check_products(products)
        if self.report.errors and not self.skip_invalid:
            return self.report
        for key in self.invalid_keys:
            if key in products:
                products[key].invalid = True
        valid = [product for product in products.values() if not product.invalid]
        self.report.skipped_rows = self.bad_rows + sum(len(p.variants) for p in products.values() if p.invalid)
        self.write(valid)
        return self.report

    def check_header(self, header: list[str]) -> bool:
        if not header:
            self.error(1, "-", "The file is empty: the first line must name the columns.")
            return False
        for column in header:
            if column in FIXED_COLUMNS:
                continue
            if column.startswith(OPTION_PREFIX) and column[len(OPTION_PREFIX):].strip():
                continue
            if column.startswith(ATTRIBUTE_PREFIX) and column[len(ATTRIBUTE_PREFIX):].strip():
                continue
            self.error(1, column or "-", "Unknown column (see `shopcore-admin CONFIG catalog-import --help`).")
        for required in ("sku", "price"):
            if required not in header:
                self.error(1, required, "This column is required.")
        if len(set(header)) != len(header):
            self.error(1, "-", "A column is named twice.")
        return not self.report.errors

    def load_catalog(self) -> None:
        """What the rows are checked against, read once."""
        session = self.session
        self.variants_by_sku = {row.sku.lower(): row for row in session.execute(
            select(Variant.id, Variant.product_id, Variant.sku, Variant.options, Variant.options_key, Variant.price,
                   Variant.stock, Variant.is_active))}
        self.variants_by_product: dict[int, list] = {}
        for variant in self.variants_by_sku.values():
            self.variants_by_product.setdefault(variant.product_id, []).append(variant)
        self.products_by_id = {row.id: row for row in session.execute(
            select(Product.id, Product.name, Product.slug, Product.description, Product.category_id,
                   Product.is_active, Product.option_names))}
        self.products_by_slug = {row.slug: row for row in self.products_by_id.values()}
        categories = list(session.execute(select(Category.id, Category.name, Category.slug)))
        self.categories = {**{row.name.lower(): row.id for row in categories}, **{row.slug: row.id for row in categories}}
        self.category_slugs = {row.id: row.slug for row in categories}
        self.attributes = {attribute.code: attribute for attribute in session.scalars(select(Attribute))}
        for attribute in self.attributes.values():
            session.expunge(attribute)

    def read_rows(self, reader) -> dict[str, ProductRows]:
        products: dict[str, ProductRows] = {}
        seen_skus: dict[str, int] = {}
        with tqdm(total=self.total, desc="catalog-import: checking", unit="row", disable=not self.progress,
                  file=sys.stderr) as bar:
            for row in reader:
                line = reader.line_num
                self.report.rows += 1
                bar.update(1)
                if None in row:  # more cells than columns
                    self.error(line, "-", "The row has more cells than the header has columns.")
                    self.bad_rows += 1
                    continue
                try:
                    self.read_row(line, row, products, seen_skus)
                except RowInvalid as exc:
                    self.error(line, exc.column, exc.message)
                    self.bad_rows += 1
                    try:
                        self.invalid_keys.add(self.product_key(row, quiet=True))
                    except RowInvalid:
                        pass
        return products

    def product_key(self, row: dict, quiet: bool = False) -> str | None:
        slug = cell(row, "slug").strip()
        if slug:
            return slug
        existing = self.variants_by_sku.get(cell(row, "sku").strip().lower())
        if existing is not None:
            return self.products_by_id[existing.product_id].slug
        name = cell(row, "product").strip()
        if not name:
            if quiet:
                return None
            raise RowInvalid("product", "A new SKU needs its product's name (or the slug of an existing product).")
        return slugify(name, max_length=108) or "product"

    def read_row(self, line: int, row: dict, products: dict[str, ProductRows], seen_skus: dict[str, int]) -> None:
        def text(column: str, max_length: int, required: bool = False) -> str:
            try:
                return parse_text(cell(row, column), column, max_length, required=required)
            except ShopError as exc:
                raise RowInvalid(column, exc.errors[0]["message"] if exc.errors else str(exc)) from None

        def parsed(column: str, parse, value):
            try:
                return parse(value, column)
            except ShopError as exc:
                raise RowInvalid(column, exc.errors[0]["message"] if exc.errors else str(exc)) from None

        sku = parsed("sku", parse_sku, cell(row, "sku"))
        if sku.lower() in seen_skus:
            raise RowInvalid("sku", f"The SKU is also on line {seen_skus[sku.lower()]}.")
        seen_skus[sku.lower()] = line
        price_text = cell(row, "price").strip()
        price = parsed("price", parse_price, price_text if price_text else None) if price_text else None
        if price is None:
            raise RowInvalid("price", "This field is required.")
        stock_text = cell(row, "stock").strip() or "0"
        if not stock_text.isdigit():
            raise RowInvalid("stock", "A whole number of 0 or more is required.")
        stock = parsed("stock", parse_stock, int(stock_text))
        options = {}
        for column in self.option_columns:
            value = cell(row, column).strip()
            if value:
                options[column[len(OPTION_PREFIX):].strip()] = text(column, 100)
        attributes = {}
        for column in self.attribute_columns:
            value = cell(row, column).strip()
            if not value:
                continue
            code = column[len(ATTRIBUTE_PREFIX):].strip()
            attribute = self.attributes.get(code)
            if attribute is None:
                raise RowInvalid(column, f"No attribute has the code {code!r}; define it first (POST /api/attributes/).")
            attributes[code] = parsed(column, lambda v, f: canonical_attribute_value(attribute, v, f), value)
        key = self.product_key(row)
        slug = cell(row, "slug").strip()
        if slug:
            parsed("slug", parse_slug, slug)
        images = [part.strip() for part in cell(row, "images").split(IMAGE_SEPARATOR) if part.strip()]
        product = ProductRows(
            key=key, slug=slug or None, name=text("product", PRODUCT_NAME_MAX) or None,
            category=text("category", CATEGORY_NAME_MAX), description=text("description", DESCRIPTION_MAX),
            is_active=parse_flag(cell(row, "active"), "active"), images=images, attributes=attributes,
            first_line=line)
        known = products.get(key)
        if known is None:
            products[key] = known = product
        else:
            for column, mine, theirs in (
                    ("product", product.name, known.name), ("category", product.category, known.category),
                    ("description", product.description, known.description),
                    ("active", product.is_active, known.is_active), ("images", product.images, known.images)):
                if mine != theirs and (column != "images" or mine):
                    raise RowInvalid(column, f"Differs from line {known.first_line}, a row of the same product.")
            if attributes != known.attributes:
                column = next((c for c in self.attribute_columns
                               if attributes.get(c[len(ATTRIBUTE_PREFIX):].strip())
                               != known.attributes.get(c[len(ATTRIBUTE_PREFIX):].strip())), "attributes")
                raise RowInvalid(column, f"Differs from line {known.first_line}, a row of the same product.")
        known.variants.append(VariantRow(line, sku, price, stock, parse_flag(cell(row, "variant_active"),
                                                                             "variant_active"), options))

    def check_products(self, products: dict[str, ProductRows]) -> None:
        """What only the rows of a product together tell: its option names, combinations, SKUs elsewhere."""
        for product in products.values():
            if product.invalid:
                continue
            existing = self.products_by_slug.get(product.key)
            problems: list[RowError] = []
            if existing is None and product.name is None:
                problems.append(RowError(product.first_line, "product", "A new product needs its name."))
            names_in_rows = [c[len(OPTION_PREFIX):].strip() for c in self.option_columns
                             if any(c[len(OPTION_PREFIX):].strip() in v.options for v in product.variants)]
            if existing is not None and set(existing.option_names or ()) == set(names_in_rows):
                names = list(existing.option_names or ())  # the same names: their order is kept
            else:
                names = names_in_rows
            try:
                names = parse_option_names(names)
            except ShopError as exc:
                problems.append(RowError(product.first_line, "option:*", exc.errors[0]["message"]))
            product.option_columns = names
            combinations: dict[str, int] = {}
            in_file = {v.sku.lower() for v in product.variants}
            if existing is not None:
                # The product's variants the file does not name keep their options.
                for variant in self.variants_by_product.get(existing.id, ()):
                    if variant.sku.lower() not in in_file:
                        if set(variant.options) != set(names):
                            problems.append(RowError(product.first_line, "option:*",
                                                     f"The product's variant {variant.sku!r}, not in the file, has "
                                                     f"options {sorted(variant.options)}; give all its variants."))
                        combinations[options_key(variant.options)] = 0
            for variant in product.variants:
                missing = [name for name in names if name not in variant.options]
                if missing:
                    problems.append(RowError(variant.line, OPTION_PREFIX + missing[0],
                                             "Every variant of the product needs a value for this option."))
                    continue
                key = options_key(variant.options)
                if key in combinations:
                    where = f"line {combinations[key]}" if combinations[key] else "a variant not in the file"
                    problems.append(RowError(variant.line, "option:*", f"The same options as {where}."))
                combinations[key] = variant.line
                owner = self.variants_by_sku.get(variant.sku.lower())
                if owner is not None and existing is not None and owner.product_id != existing.id:
                    problems.append(RowError(variant.line, "sku", "This SKU belongs to another product "
                                                                   f"({self.products_by_id[owner.product_id].slug})."))
                elif owner is not None and existing is None:
                    problems.append(RowError(variant.line, "sku", "This SKU belongs to another product "
                                                                   f"({self.products_by_id[owner.product_id].slug})."))
            if problems:
                product.invalid = True
                self.report.errors.extend(problems)
        self.report.errors.sort(key=lambda error: error.line)

    # --- writing --------------------------------------------------------------------------------------

    def write(self, products: list[ProductRows]) -> None:
        now = utcnow()
        session = self.session
        categories = self.ensure_categories(products)
        new_products = [p for p in products if p.key not in self.products_by_slug]
        self.report.products_created = len(new_products)
        if self.dry_run:
            self.count_changes(products, categories)
            return
        # 1. New products (their ids are needed by their variants).
        product_ids: dict[str, int] = {slug: row.id for slug, row in self.products_by_slug.items()}
        for start in range(0, len(new_products), BATCH):
            batch = new_products[start:start + BATCH]
            rows = [{"name": p.name, "slug": p.key, "description": p.description,
                     "category_id": categories.get(p.category), "is_active": p.is_active,
                     "option_names": p.option_columns, "price": min(v.price for v in p.variants), "stock": 0,
                     "created_at": now, "updated_at": now} for p in batch]
            for slug, product_id in session.execute(
                    insert(Product).returning(Product.slug, Product.id, sort_by_parameter_order=True), rows):
                product_ids[slug] = product_id
        # 2. Variants: new ones inserted, changed ones updated (before any existing product row is
        #    locked: a checkout locks variants first too, so neither waits on the other in a cycle).
        inserts, updates = [], []
        touched: set[int] = {product_ids[p.key] for p in new_products}
        for product in products:
            product_id = product_ids[product.key]
            for variant in product.variants:
                options = {name: variant.options[name] for name in product.option_columns}
                values = {"sku": variant.sku, "options": options, "options_key": options_key(options),
                          "price": variant.price, "stock": variant.stock, "is_active": variant.is_active}
                existing = self.variants_by_sku.get(variant.sku.lower())
                if existing is None:
                    inserts.append({"product_id": product_id, **values, "created_at": now, "updated_at": now})
                elif any(getattr(existing, name) != value for name, value in values.items()):
                    updates.append({"id": existing.id, **values, "updated_at": now})
                    touched.add(product_id)
                else:
                    self.report.unchanged += 1
        if updates:
            # Combinations may be swapped between variants: the keys that change are moved aside first.
            moved = [u["id"] for u in updates if u["options_key"] != self.variants_by_sku[u["sku"].lower()].options_key]
            for start in range(0, len(moved), BATCH):
                session.execute(update(Variant).where(Variant.id.in_(moved[start:start + BATCH]))
                                .values(options_key="~" + cast(Variant.id, String))
                                .execution_options(synchronize_session=False))
            for start in range(0, len(updates), BATCH):
                session.execute(update(Variant), updates[start:start + BATCH])
        for start in range(0, len(inserts), BATCH):
            session.execute(insert(Variant), inserts[start:start + BATCH])
        self.report.variants_created, self.report.variants_updated = len(inserts), len(updates)
        # 3. Existing products' own fields, attributes and images.
        changed_fields: dict[int, set[str]] = {}
        product_updates = []
        for product in products:
            existing = self.products_by_slug.get(product.key)
            if existing is None:
                continue
            values = {"name": product.name or existing.name, "description": product.description,
                      "category_id": categories.get(product.category), "is_active": product.is_active,
                      "option_names": product.option_columns}
            changed = {name for name, value in values.items() if getattr(existing, name) != value}
            if changed:
                product_updates.append({"id": existing.id, **values, "updated_at": now})
                changed_fields[existing.id] = {"category" if name == "category_id" else name for name in changed}
        for start in range(0, len(product_updates), BATCH):
            session.execute(update(Product), product_updates[start:start + BATCH])
        for product_id, names in self.write_attributes(products, product_ids).items():
            changed_fields.setdefault(product_id, set()).update(names)
        for product_id, names in self.write_images(products, product_ids).items():
            changed_fields.setdefault(product_id, set()).update(names)
        touched |= set(changed_fields)
        # 4. The products' totals from their variants, the rows locked first (see services._refresh_totals).
        self.refresh_totals(sorted(touched | {product_ids[p.key] for p in products if any(
            self.variants_by_sku.get(v.sku.lower()) is None for v in p.variants)}))
        new_ids = {product_ids[p.key] for p in new_products}
        self.report.products_updated = len(touched - new_ids)
        mark_changed(session)
        # 5. Events and the cache.
        for product in new_products:
            product_id = product_ids[product.key]
            self.request.notify(ProductCreated(product_id=product_id, name=product.name, slug=product.key,
                                               price=min(v.price for v in product.variants),
                                               stock=sum(v.stock for v in product.variants if v.is_active),
                                               category_id=categories.get(product.category),
                                               is_active=product.is_active))
        variant_touched = {row["product_id"] for row in inserts} | {
            self.variants_by_sku[u["sku"].lower()].product_id for u in updates}
        for product_id in sorted(touched - new_ids):
            names = changed_fields.get(product_id, set())
            if product_id in variant_touched:
                names = names | {"variants"}
            self.request.notify(ProductChanged(product_id=product_id, changed=frozenset(names)))
        collections = [PRODUCT_LISTS, *(product_collection(product_id) for product_id in sorted(touched))]
        if self.report.categories_created:
            collections.append(CATEGORIES)
        self.request.cache(CACHE_NAMESPACE).invalidate_after_commit(self.request, *collections)

    def count_changes(self, products: list[ProductRows], categories: dict[str, int]) -> None:
        for product in products:
            for variant in product.variants:
                existing = self.variants_by_sku.get(variant.sku.lower())
                if existing is None:
                    self.report.variants_created += 1
                elif (existing.price, existing.stock, existing.is_active, existing.sku, dict(existing.options)) != (
                        variant.price, variant.stock, variant.is_active, variant.sku, variant.options):
                    self.report.variants_updated += 1
                else:
                    self.report.unchanged += 1

    def ensure_categories(self, products: list[ProductRows]) -> dict[str, int]:
        """Category ids by the value of the rows' `category` cells, creating the missing ones."""
        wanted = {p.category for p in products if p.category}
        found: dict[str, int] = {"": None}
        catalog = self.request.find_service(CatalogService)
        for value in sorted(wanted):
            category_id = self.categories.get(value) or self.categories.get(value.lower())
            if category_id is None:
                self.report.categories_created += 1
                if self.dry_run:
                    continue
                category_id = catalog.create_category(value).id
                self.categories[value.lower()] = category_id
            found[value] = category_id
        return found

    def write_attributes(self, products: list[ProductRows], product_ids: dict[str, int]) -> dict[int, set[str]]:
        """Replace the attribute values of the products whose values differ; {product id: {"attributes"}}."""
        ids = [product_ids[p.key] for p in products]
        current: dict[int, dict[int, str]] = {}
        for start in range(0, len(ids), BATCH):
            for row in self.session.execute(select(ProductAttribute.product_id, ProductAttribute.attribute_id,
                                                   ProductAttribute.value)
                                            .where(ProductAttribute.product_id.in_(ids[start:start + BATCH]))):
                current.setdefault(row.product_id, {})[row.attribute_id] = row.value
        changed: dict[int, set[str]] = {}
        rows = []
        for product in products:
            product_id = product_ids[product.key]
            wanted = {self.attributes[code].id: value for code, value in product.attributes.items()}
            if wanted != current.get(product_id, {}):
                changed[product_id] = {"attributes"}
                rows.extend({"product_id": product_id, "attribute_id": attribute_id, "value": value}
                            for attribute_id, value in wanted.items())
        replaced = list(changed)
        for start in range(0, len(replaced), BATCH):
            self.session.execute(delete(ProductAttribute).where(
                ProductAttribute.product_id.in_(replaced[start:start + BATCH])))
        for start in range(0, len(rows), BATCH):
            self.session.execute(insert(ProductAttribute), rows[start:start + BATCH])
        return changed

    def write_images(self, products: list[ProductRows], product_ids: dict[str, int]) -> dict[int, set[str]]:
        with_images = [p for p in products if p.images]
        if not with_images:
            return {}
        media = self.request.find_service(MediaStorage)
        limits = self.request.find_service(ImageLimits)
        ids = [product_ids[p.key] for p in with_images]
        current: dict[int, list] = {}
        for start in range(0, len(ids), BATCH):
            for image in self.session.scalars(select(Image).where(Image.product_id.in_(ids[start:start + BATCH]))
                                              .order_by(Image.product_id, Image.position, Image.id)):
                current.setdefault(image.product_id, []).append(image)
        changed: dict[int, set[str]] = {}
        for product in tqdm(with_images, desc="catalog-import: images", unit="product", disable=not self.progress,
                            file=sys.stderr):
            product_id = product_ids[product.key]
            existing = current.get(product_id, [])
            by_reference = {}
            for image in existing:
                by_reference.setdefault(image.source, image)
                by_reference.setdefault(media.url(image.storage_key), image)
            kept, removed = [], []
            for position, reference in enumerate(product.images):
                image = by_reference.get(reference)
                if image is None:
                    data = self.fetch_image(reference, product.first_line)
                    stored = store_image_bytes(self.request, media, product_id, data, limits, source=reference,
                                               field="images")
                    image = Image(product_id=product_id, storage_key=stored.key, thumbnail_key=stored.thumbnail_key,
                                  alt="", position=position, content_type=stored.content_type, width=stored.width,
                                  height=stored.height, source=reference, created_at=utcnow())
                    self.session.add(image)
                    changed[product_id] = {"images"}
                elif image.position != position:
                    image.position = position
                    changed[product_id] = {"images"}
                kept.append(image)
            for image in existing:
                if image not in kept:
                    removed.append(image)
                    changed[product_id] = {"images"}
            for image in removed:
                delete_after_commit(self.request, media, [image.storage_key, image.thumbnail_key])
                self.session.delete(image)
        self.session.flush()
        return changed

    def fetch_image(self, reference: str, line: int) -> bytes:
        """The bytes of an http(s) URL or of a path (relative to the CSV's folder); an error names the line."""
        limits = self.request.find_service(ImageLimits)
        scheme = urllib.parse.urlparse(reference).scheme
        try:
            if scheme in ("http", "https"):
                with urllib.request.urlopen(reference, timeout=IMAGE_FETCH_TIMEOUT) as response:
                    data = response.read(limits.max_bytes + 1)
            elif scheme:
                raise ImportFailed([RowError(line, "images", f"{reference}: only http(s) URLs and paths.")])
            else:
                path = Path(reference) if os.path.isabs(reference) else self.path.parent / reference
                data = path.read_bytes()
        except (OSError, ValueError) as exc:
            raise ImportFailed([RowError(line, "images", f"{reference}: {exc}")]) from None
        if len(data) > limits.max_bytes:
            raise ImportFailed([RowError(line, "images", f"{reference}: larger than {limits.max_bytes} bytes.")])
        return data

    def refresh_totals(self, product_ids: list[int]) -> None:
        """Each product's price (lowest active variant price, else lowest) and stock (active variants' sum)."""
        session = self.session
        for start in range(0, len(product_ids), BATCH):
            batch = product_ids[start:start + BATCH]
            # Locked first, in id order; the totals are then computed in a statement of their own,
            # which sees every change committed before the locks were granted.
            session.execute(select(Product.id).where(Product.id.in_(batch)).order_by(Product.id).with_for_update())
            totals = session.execute(
                select(Variant.product_id,
                       func.min(case((Variant.is_active, Variant.price))), func.min(Variant.price),
                       func.sum(case((Variant.is_active, Variant.stock), else_=0)))
                .where(Variant.product_id.in_(batch)).group_by(Variant.product_id)).all()
            rows = [{"id": product_id, "price": active_price if active_price is not None else lowest,
                     "stock": min(int(stock or 0), STOCK_MAX)} for product_id, active_price, lowest, stock in totals]
            if rows:
                session.execute(update(Product), rows)


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


def export_catalog(request, handle, progress: bool = True) -> int:
    """Write every product and variant as CSV rows (the import's format); returns the number of rows."""
    session = request.dbsession
    media = request.find_service(MediaStorage)
    option_names: list[str] = []
    for names in session.scalars(select(Product.option_names).order_by(Product.id)):
        for name in names or ():
            if name not in option_names:
                option_names.append(name)
    attributes = {row.id: row for row in session.execute(select(Attribute.id, Attribute.code, Attribute.type)
                                                         .order_by(Attribute.code))}
    header = list(FIXED_COLUMNS) + [OPTION_PREFIX + name for name in option_names] + [
        ATTRIBUTE_PREFIX + row.code for row in attributes.values()]
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    categories = dict(session.execute(select(Category.id, Category.slug)).all())
    count = 0
    product_ids = list(session.scalars(select(Product.id).order_by(Product.id)))
    with tqdm(total=len(product_ids), desc="catalog-export", unit="product", disable=not progress,
              file=sys.stderr) as bar:
        for start in range(0, len(product_ids), BATCH):
            batch = product_ids[start:start + BATCH]
            products = {row.id: row for row in session.execute(
                select(Product.id, Product.name, Product.slug, Product.description, Product.category_id,
                       Product.is_active).where(Product.id.in_(batch)))}
            values: dict[int, dict[str, Any]] = {}
            for row in session.execute(select(ProductAttribute.product_id, ProductAttribute.attribute_id,
                                              ProductAttribute.value).where(ProductAttribute.product_id.in_(batch))):
                attribute = attributes[row.attribute_id]
                values.setdefault(row.product_id, {})[attribute.code] = row.value
            images: dict[int, list[str]] = {}
            for row in session.execute(select(Image.product_id, Image.storage_key).where(Image.product_id.in_(batch))
                                       .order_by(Image.product_id, Image.position, Image.id)):
                images.setdefault(row.product_id, []).append(media.url(row.storage_key))
            for variant in session.execute(
                    select(Variant.product_id, Variant.sku, Variant.options, Variant.price, Variant.stock,
                           Variant.is_active).where(Variant.product_id.in_(batch))
                    .order_by(Variant.product_id, Variant.id)):
                product = products[variant.product_id]
                writer.writerow([
                    variant.sku, product.name, product.slug, categories.get(product.category_id, ""),
                    product.description, "true" if product.is_active else "false", str(variant.price),
                    str(variant.stock), "true" if variant.is_active else "false",
                    IMAGE_SEPARATOR.join(images.get(product.id, ())),
                    *(variant.options.get(name, "") for name in option_names),
                    *(values.get(product.id, {}).get(row.code, "") for row in attributes.values())])
                count += 1
            bar.update(len(batch))
    return count


# --- the admin commands ------------------------------------------------------------------------------------

def add_import_arguments(parser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.formatter_class = __import__("argparse").RawDescriptionHelpFormatter
    parser.add_argument("file", help="the CSV file (UTF-8, a header row naming the columns)")
    parser.add_argument("--dry-run", action="store_true", help="check every row and count the changes, write nothing")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="load the good rows even when some are bad (the bad products' rows are left out)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_export_arguments(parser) -> None:
    parser.add_argument("file", help="where to write the CSV file ('-' for standard output)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_import(env, args) -> int:
    request = env["request"]
    path = Path(args.file)
    if not path.is_file():
        print(f"catalog-import: no file {path}", file=sys.stderr)
        return 2
    importer = CatalogImport(request, path, dry_run=args.dry_run, skip_invalid=args.skip_invalid,
                             progress=not args.quiet)
    request.tm.begin()
    try:
        report = importer.run()
        if report.errors and not args.skip_invalid or args.dry_run:
            request.tm.abort()  # nothing is written
        else:
            request.tm.commit()
    except ImportFailed as exc:  # an image could not be read: the transaction was rolled back whole
        for error in exc.errors:
            print(f"catalog-import: {error}", file=sys.stderr)
        request.tm.abort()
        print("catalog-import: nothing was written", file=sys.stderr)
        return 1
    except ShopError as exc:
        request.tm.abort()
        print(f"catalog-import: {exc}", file=sys.stderr)
        return 1
    except BaseException:
        request.tm.abort()
        raise
    for error in report.errors:
        print(f"catalog-import: {error}", file=sys.stderr)
    if report.errors and not args.skip_invalid:
        print(f"catalog-import: {len(report.errors)} bad rows; nothing was written "
              "(fix them, or --skip-invalid to load the rest)", file=sys.stderr)
        return 1
    prefix = "catalog-import (dry run, nothing written)" if args.dry_run else "catalog-import"
    print(f"{prefix}: {report.summary()}")
    return 0


def run_export(env, args) -> int:
    request = env["request"]
    request.tm.begin()
    try:
        if args.file == "-":
            count = export_catalog(request, sys.stdout, progress=False)
        else:
            with open(args.file, "w", newline="", encoding="utf-8") as handle:
                count = export_catalog(request, handle, progress=not args.quiet)
    finally:
        request.tm.abort()  # a read: nothing to commit
    print(f"catalog-export: {count} rows written to {args.file}", file=sys.stderr)
    return 0
