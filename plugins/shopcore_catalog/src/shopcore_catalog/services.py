"""The catalog service: every rule about categories, products and stock, callable without HTTP.

`DefaultCatalogService` implements `shopcore_catalog.api.CatalogService`; other plugins reach it as
`request.find_service(CatalogService)` and use only the interface's methods; the HTTP views use the
rest. Every write invalidates the cache entries it makes stale, after commit, and emits the catalog's
events (`shopcore_catalog.events`) in the transaction.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from slugify import slugify
from sqlalchemy import ARRAY, Integer, String, and_, any_, case, cast, delete, exists, func, insert, literal, literal_column, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import with_expression
from sqlalchemy.orm.attributes import flag_modified

from shopcore.clock import utcnow
from shopcore.db import json_rows
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.extensions import run_extension_point
from shopcore.money import ZERO, to_money

from shopcore_catalog.api import CatalogService, CategoryInfo, ProductInfo, VariantInfo
from shopcore_catalog.events import (CategoryChanged, CategoryCreated, CategoryDeleted, ProductChanged, ProductCreated,
                                     ProductDeactivated, ProductDeleted)
from shopcore_catalog.media import MediaStorage, delete_after_commit
from shopcore_catalog.models import (ATTRIBUTE_CHOICES_MAX, ATTRIBUTE_CODE_MAX, ATTRIBUTE_NAME_MAX, ATTRIBUTE_TYPES,
                                     ATTRIBUTE_VALUE_MAX, CATEGORY_NAME_MAX, DESCRIPTION_MAX, IMAGE_ALT_MAX,
                                     OPTION_NAME_MAX, OPTION_NAMES_MAX, OPTION_VALUE_MAX, PRICE_MAX, PRODUCT_NAME_MAX,
                                     SKU_MAX, SLUG_MAX, STOCK_MAX, Attribute, Category, Image, Product,
                                     ProductAttribute, Variant)
from shopcore_catalog.points import PRODUCT_REFERENCED
from shopcore.pagination import Page, fetch_page

CACHE_NAMESPACE = "catalog"
# Cache collections: every list page of products (any product or category write changes some),
# every category body, and one per product detail.
PRODUCT_LISTS = "products"
CATEGORIES = "categories"
ATTRIBUTES = "attributes"
ORDERINGS = ("name", "price", "created_at", "stock")
RELEVANCE = "relevance"
ORDERING_CHOICES = tuple(f"{sign}{name}" for name in ORDERINGS for sign in ("", "-"))
# `relevance` ranks search matches (without a search it is the default order).
LIST_ORDERINGS = ORDERING_CHOICES + (RELEVANCE,)
# `is_active` of the list: the default is what customers see; the others are for admins.
STATUSES = {"true": True, "false": False, "all": None}
ATTRIBUTE_FILTERS_MAX = 10
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")
ATTRIBUTE_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# The value existing variants take for an option name added to their product (see update_product).
DEFAULT_OPTION_VALUE = "Default"
SEARCH_MAX_TERMS = 8
SEARCH_TERM = re.compile(r"[^\W_]+")
SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")
# PostgreSQL only: the stored, GIN-indexed tsvector of name and description (migration catalog_0002).
# Not mapped on the model, which SQLite shares.
SEARCH_VECTOR = literal_column("catalog_products.search_vector")


# Admin actions recorded in the audit log (declared in the plugin's includeme), and their objects.
PRODUCT_OBJECT, CATEGORY_OBJECT = "catalog.product", "catalog.category"
VARIANT_OBJECT, ATTRIBUTE_OBJECT, IMAGE_OBJECT = "catalog.variant", "catalog.attribute", "catalog.image"
PRODUCT_CREATED, PRODUCT_UPDATED = "catalog.product.create", "catalog.product.update"
PRODUCT_DELETED, PRODUCT_DEACTIVATED = "catalog.product.delete", "catalog.product.deactivate"
CATEGORY_CREATED, CATEGORY_UPDATED, CATEGORY_DELETED = ("catalog.category.create", "catalog.category.update",
                                                        "catalog.category.delete")
VARIANT_CREATED, VARIANT_UPDATED, VARIANT_DELETED = ("catalog.variant.create", "catalog.variant.update",
                                                     "catalog.variant.delete")
ATTRIBUTE_CREATED, ATTRIBUTE_UPDATED, ATTRIBUTE_DELETED = ("catalog.attribute.create", "catalog.attribute.update",
                                                           "catalog.attribute.delete")
IMAGE_CREATED, IMAGE_UPDATED, IMAGE_DELETED = "catalog.image.create", "catalog.image.update", "catalog.image.delete"
AUDITED_ACTIONS = {
    PRODUCT_CREATED: "A product was created", PRODUCT_UPDATED: "A product's fields changed",
    PRODUCT_DELETED: "A product was deleted",
    PRODUCT_DEACTIVATED: "A product still in orders was deactivated instead of deleted",
    CATEGORY_CREATED: "A category was created", CATEGORY_UPDATED: "A category's fields changed",
    CATEGORY_DELETED: "A category was deleted",
    VARIANT_CREATED: "A variant was added to a product", VARIANT_UPDATED: "A variant's fields changed",
    VARIANT_DELETED: "A variant was deleted",
    ATTRIBUTE_CREATED: "An attribute definition was created", ATTRIBUTE_UPDATED: "An attribute's name or choices changed",
    ATTRIBUTE_DELETED: "An attribute definition was deleted, with every product's value of it",
    IMAGE_CREATED: "A picture was added to a product", IMAGE_UPDATED: "A picture's alt text or position changed",
    IMAGE_DELETED: "A picture was deleted",
}

# The product body (detail and list items) other plugins may add fields to (shopcore.bodies).
PRODUCT_BODY = "catalog.product"


def product_collection(product_id: int) -> str:
    return f"product:{product_id}"


def invalidate_product_bodies(request, ids: list[int]) -> None:
    """`request.invalidate_body("catalog.product", ids)`: the products' details and every list page, after commit."""
    request.cache(CACHE_NAMESPACE).invalidate_after_commit(
        request, PRODUCT_LISTS, *(product_collection(product_id) for product_id in ids))


@dataclass(frozen=True)
class ProductFilters:
    """The product list's filters; values already parsed (see `parse_product_filters`)."""

    category: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    search: str | None = None
    ordering: str | None = None
    # None: active and inactive products (admins); True: the customers' list.
    is_active: bool | None = True
    # (code, value) pairs as given, sorted: each must hold (see `attribute=code:value`).
    attributes: tuple[tuple[str, str], ...] = ()


# --- input rules (shared by the HTTP views and direct callers) -----------------------------------

def parse_price(value: Any, field: str = "price") -> Decimal:
    """A non-negative amount with at most two decimal places (see `shopcore.money.to_money`)."""
    return to_money(value, field, minimum=ZERO, maximum=PRICE_MAX)


def parse_stock(value: Any, field: str = "stock") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "A valid integer is required.")
    if value < 0:
        raise InvalidInput(field, "Ensure this value is greater than or equal to 0.")
    if value > STOCK_MAX:
        raise InvalidInput(field, f"Ensure this value is less than or equal to {STOCK_MAX}.")
    return value


def parse_text(value: Any, field: str, max_length: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "Not a valid string.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can produce
        raise InvalidInput(field, "Not valid Unicode text.") from None
    if "\x00" in value:  # PostgreSQL text cannot hold it: a database error otherwise
        raise InvalidInput(field, "Null characters are not allowed.")
    value = value.strip()
    if required and not value:
        raise InvalidInput(field, "This field may not be blank.")
    if len(value) > max_length:
        raise InvalidInput(field, f"Ensure this field has no more than {max_length} characters.")
    return value


def parse_slug(value: Any, field: str = "slug") -> str:
    slug = parse_text(value, field, SLUG_MAX, required=True)
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(field, "Enter a valid slug of letters, numbers, underscores or hyphens.")
    return slug


def parse_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "Must be a valid boolean.")
    return value


def parse_optional_id(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(field, "A valid id is required.")
    return value


def parse_product_filters(params: Mapping[str, Any]) -> ProductFilters:
    """Filters from query parameters (as the OpenAPI layer typed them); bad values are a 400."""
    ordering = params.get("ordering")
    if ordering is not None and ordering not in LIST_ORDERINGS:
        raise InvalidInput("ordering", f"Must be one of {', '.join(LIST_ORDERINGS)}.")
    min_price = params.get("min_price")
    max_price = params.get("max_price")
    search = params.get("search")
    status = params.get("is_active")
    if status is not None and status not in STATUSES:
        raise InvalidInput("is_active", "Must be one of true, false, all.")
    return ProductFilters(
        category=parse_optional_id(params.get("category"), "category"),
        min_price=None if min_price is None else parse_price(min_price, "min_price"),
        max_price=None if max_price is None else parse_price(max_price, "max_price"),
        in_stock=None if params.get("in_stock") is None else parse_bool(params["in_stock"], "in_stock"),
        # Case and surrounding space aside: searches that differ only in them share one cache entry.
        search=normalize_search(search) if isinstance(search, str) else None,
        ordering=ordering,
        is_active=STATUSES[status] if status is not None else True,
        attributes=parse_attribute_filters(params.get("attribute") or ()),
    )


def normalize_search(text: str) -> str | None:
    return " ".join(text.lower().split())[:200] or None


def parse_attribute_filters(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """`code:value` strings into sorted (code, value) pairs; the codes are checked against the definitions later."""
    values = [values] if isinstance(values, str) else list(values)
    if len(values) > ATTRIBUTE_FILTERS_MAX:
        raise InvalidInput("attribute", f"At most {ATTRIBUTE_FILTERS_MAX} attribute filters.")
    pairs = set()
    for value in values:
        code, colon, wanted = (value or "").partition(":")
        if not colon or not code or not wanted:
            raise InvalidInput("attribute", "Give each filter as code:value (material:oak).")
        pairs.add((code, wanted))
    return tuple(sorted(pairs))


def search_terms(text: str) -> list[str]:
    """Words of a search, lower-cased; punctuation (and tsquery syntax) cannot reach the query."""
    return [term.lower()[:64] for term in SEARCH_TERM.findall(text)][:SEARCH_MAX_TERMS]


def sku_prefix(search: str) -> str | None:
    """The search as a SKU prefix (SKUs hold no spaces), lower-cased; None when it cannot be one."""
    candidate = search.strip().lower()
    return candidate if candidate and SKU_PATTERN.match(candidate) and len(candidate) <= SKU_MAX else None


def like_prefix(text: str) -> str:
    """`text%` for LIKE with `\\` as the escape character, the wildcards in `text` escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def options_key(options: Mapping[str, str]) -> str:
    """A fixed-length digest of a combination of options, whatever their order (the unique index's key)."""
    return hashlib.sha256(json.dumps(dict(options), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def render_attribute_value(attribute_type: str, value: str):
    if attribute_type == "number":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if attribute_type == "boolean":
        return value == "true"
    return value


def variant_body(variant) -> dict:
    return {"id": variant.id, "sku": variant.sku, "options": variant.options, "price": variant.price,
            "stock": variant.stock, "is_active": variant.is_active}


def variant_from_row(row) -> dict:
    """A variant body from a `json_rows` list (see PRODUCT_CHILDREN)."""
    variant_id, sku, options, price, stock, is_active = row
    return {"id": variant_id, "sku": sku, "options": options, "price": to_money(price, "price"), "stock": stock,
            "is_active": bool(is_active)}


def image_body(image, media: MediaStorage) -> dict:
    return {"id": image.id, "url": media.url(image.storage_key), "thumbnail_url": media.url(image.thumbnail_key),
            "alt": image.alt, "position": image.position}


def product_body(product: Product, media: MediaStorage) -> dict:
    """The API body of a product loaded by `DefaultCatalogService.loaded_products` (its children included)."""
    variants = sorted((variant_from_row(row) for row in product.variant_rows or ()), key=lambda v: v["id"])
    images = sorted(((row[0], row[1], row[2], row[3], row[4]) for row in product.image_rows or ()),
                    key=lambda row: (row[4], row[0]))
    attributes = dict(sorted((code, render_attribute_value(kind, value))
                             for code, kind, value in product.attribute_rows or ()))
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "price": product.price,
        "stock": product.stock,
        "category": product.category_id,
        "is_active": product.is_active,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "option_names": list(product.option_names or ()),
        "variants": variants,
        "attributes": attributes,
        "images": [{"id": image_id, "url": media.url(key), "thumbnail_url": media.url(thumbnail), "alt": alt,
                    "position": position} for image_id, key, thumbnail, alt, position in images],
    }


def category_body(category: Category) -> dict:
    return {
        "id": category.id,
        "name": category.name,
        "slug": category.slug,
        "description": category.description,
        "parent": category.parent_id,
    }


def parse_sku(value: Any, field: str = "sku") -> str:
    sku = parse_text(value, field, SKU_MAX, required=True)
    if not SKU_PATTERN.match(sku):
        raise InvalidInput(field, "Use letters, digits and . _ / - only, starting with a letter or digit.")
    return sku


def parse_option_names(value: Any, field: str = "option_names") -> list[str]:
    if not isinstance(value, list):
        raise InvalidInput(field, "Expected a list of option names.")
    if len(value) > OPTION_NAMES_MAX:
        raise InvalidInput(field, f"A product has at most {OPTION_NAMES_MAX} options.")
    names = [parse_text(name, field, OPTION_NAME_MAX, required=True) for name in value]
    if len({name.lower() for name in names}) != len(names):
        raise InvalidInput(field, "Option names must differ (case aside).")
    return names


def parse_options(value: Any, names: list[str], field: str = "options") -> dict[str, str]:
    """Exactly one value for each of the product's option names, in the product's order."""
    if not isinstance(value, dict):
        raise InvalidInput(field, "Expected an object of option values.")
    if set(value) != set(names):
        wanted = ", ".join(names) or "no options"
        raise InvalidInput(field, f"Give exactly the product's options: {wanted}.")
    return {name: parse_text(value[name], f"{field}.{name}", OPTION_VALUE_MAX, required=True) for name in names}


def canonical_attribute_value(attribute: Attribute, value: Any, field: str) -> str:
    """The stored (and filtered) text of a value: numbers without exponent or trailing zeros, booleans
    `true`/`false`, choices exactly as defined. Filter strings go through here too, so `120` and
    `120.0` find the same products."""
    if attribute.type == "number":
        if isinstance(value, bool):
            raise InvalidInput(field, "A number is required.")
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise InvalidInput(field, "A number is required.") from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise InvalidInput(field, "A finite number below 10^15 is required.")
        text = format(number.normalize(), "f")
        return text if "." not in text else text.rstrip("0").rstrip(".")
    if attribute.type == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower()
        raise InvalidInput(field, "Must be a valid boolean.")
    if not isinstance(value, str):
        raise InvalidInput(field, "Not a valid string.")
    text = parse_text(value, field, ATTRIBUTE_VALUE_MAX, required=True)
    if attribute.type == "choice" and text not in attribute.choices:
        raise InvalidInput(field, f"Must be one of: {', '.join(attribute.choices)}.")
    return text


def attribute_body(attribute: Attribute) -> dict:
    return {"id": attribute.id, "code": attribute.code, "name": attribute.name, "type": attribute.type,
            "choices": list(attribute.choices or ())}


def variant_info(row) -> VariantInfo:
    return VariantInfo(id=row.id, product_id=row.product_id, product_name=row.product_name, sku=row.sku,
                       options=dict(row.options or {}), price=row.price, stock=row.stock,
                       is_active=row.is_active and row.product_active)


def product_info(product: Product) -> ProductInfo:
    return ProductInfo(id=product.id, name=product.name, price=product.price,
                       stock=product.stock, is_active=product.is_active)


# What a product's and a category's API fields are made of (for the `changed` of their events).
PRODUCT_FIELDS = {"name": "name", "slug": "slug", "description": "description", "price": "price", "stock": "stock",
                  "category": "category_id", "is_active": "is_active", "option_names": "option_names"}
CATEGORY_FIELDS = {"name": "name", "slug": "slug", "description": "description", "parent": "parent_id"}
# What the audit log keeps of variants, attribute definitions and pictures (their own fields, by API name).
VARIANT_FIELDS = {"product": "product_id", "sku": "sku", "options": "options", "price": "price", "stock": "stock",
                  "is_active": "is_active"}
ATTRIBUTE_FIELDS = {"code": "code", "name": "name", "type": "type", "choices": "choices"}
IMAGE_FIELDS = {"product": "product_id", "alt": "alt", "position": "position", "content_type": "content_type",
                "width": "width", "height": "height"}


def field_values(row, fields: Mapping[str, str]) -> dict[str, Any]:
    # JSON values (options, choices) copied: what was read stays as it was when the row changes.
    return {name: json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value
            for name, value in ((name, getattr(row, attribute)) for name, attribute in fields.items())}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(name for name in before if before[name] != after[name])


class DefaultCatalogService(CatalogService):
    """The catalog's own `CatalogService`, plus what its views use; one per request (its session and transaction)."""

    def __init__(self, request):
        self.request = request

    @property
    def session(self):
        return self.request.dbsession

    @property
    def cache(self):
        return self.request.cache(CACHE_NAMESPACE)

    def _invalidate(self, *collections: str) -> None:
        self.cache.invalidate_after_commit(self.request, *collections)

    # --- what other plugins use --------------------------------------------------------------------

    def get_products(self, ids: Iterable[int]) -> dict[int, ProductInfo]:
        """The products among `ids` that exist (active or not), in one query."""
        wanted = {int(i) for i in ids}
        if not wanted:
            return {}
        rows = self.session.execute(
            select(Product.id, Product.name, Product.price, Product.stock, Product.is_active)
            .where(Product.id.in_(wanted))
        )
        return {row.id: ProductInfo(id=row.id, name=row.name, price=row.price,
                                    stock=row.stock, is_active=row.is_active) for row in rows}

    def get_product(self, product_id: int) -> ProductInfo | None:
        return self.get_products([product_id]).get(int(product_id))

    def _variant_rows(self):
        return (select(Variant.id, Variant.product_id, Variant.sku, Variant.options, Variant.price, Variant.stock,
                       Variant.is_active, Product.name.label("product_name"),
                       Product.is_active.label("product_active"))
                .select_from(Product).join(Variant, Variant.product_id == Product.id))

    def get_variants(self, ids: Iterable[int]) -> dict[int, VariantInfo]:
        """The variants among `ids` that exist, with their product's name, in one query."""
        wanted = {int(i) for i in ids}
        if not wanted:
            return {}
        return {row.id: variant_info(row) for row in self.session.execute(
            self._variant_rows().where(Variant.id.in_(wanted)))}

    def get_product_variants(self, product_id: int) -> list[VariantInfo]:
        """Every variant of the product (active or not), by id; [] when the product does not exist."""
        return [variant_info(row) for row in self.session.execute(
            self._variant_rows().where(Variant.product_id == product_id).order_by(Variant.id))]

    def _only_variant(self, product_id: int) -> int | None:
        """The id of a product's one variant; None when the product does not exist; 400 naming
        `variant` when it has several (the caller must say which)."""
        ids = list(self.session.scalars(select(Variant.id).where(Variant.product_id == product_id).limit(2)))
        if len(ids) > 1:
            raise InvalidInput("variant", f"Product {product_id} has several variants; give the variant's id.")
        return ids[0] if ids else None

    def take_stock(self, product_id: int, quantity: int) -> bool:
        """Take `quantity` units of a one-variant product if it is active and has them; True iff taken."""
        return not self.take_stock_many({product_id: quantity})

    def take_stock_many(self, quantities: Mapping[int, int]) -> set[int]:
        """`take_variant_stock_many` for one-variant products, by product id; the product ids that were
        short. A product with several variants is an `InvalidInput` naming `variant`."""
        wanted = {int(product_id): self._positive_quantity(quantity) for product_id, quantity in quantities.items()}
        if not wanted:
            return set()
        one_variant = (select(Variant.product_id).where(Variant.product_id.in_(wanted))
                       .group_by(Variant.product_id).having(func.count() == 1))
        short = self._take(Variant.product_id, wanted, Variant.product_id.in_(one_variant.scalar_subquery()))
        if short:
            several = self.session.scalar(
                select(Variant.product_id).where(Variant.product_id.in_(short)).group_by(Variant.product_id)
                .having(func.count() > 1).limit(1))
            if several is not None:
                raise InvalidInput("variant", f"Product {several} has several variants; give the variant's id.")
        return short

    def take_variant_stock_many(self, quantities: Mapping[int, int]) -> set[int]:
        """Take every variant's quantity, or none of them; the variant ids that fell short (empty when all taken).

        One conditional UPDATE for all the variants (`stock >= n`, the variant and its product
        active): two checkouts racing for the last unit cannot both succeed, on PostgreSQL (row
        locks) or SQLite (the database write lock, taken by that first statement). Then one UPDATE
        takes the units from the products' totals. When a variant is short, the units taken from the
        others are put back at once, in the same transaction.
        """
        wanted = {int(variant_id): self._positive_quantity(quantity) for variant_id, quantity in quantities.items()}
        if not wanted:
            return set()
        return self._take(Variant.id, wanted)

    def _take(self, key, wanted: dict[int, int], *conditions) -> set[int]:
        """Take `wanted[k]` units from the variant whose `key` column is k (its id, or its product's id
        for one-variant products); the keys that fell short, all given back."""
        needed = case(wanted, value=key)
        taken = self.session.execute(
            update(Variant)
            .where(key.in_(wanted), Variant.stock >= needed, Variant.is_active == true(),
                   Variant.product_id.in_(select(Product.id).where(Product.is_active == true()).scalar_subquery()),
                   *conditions)
            .values(stock=Variant.stock - needed, updated_at=utcnow())
            .returning(Variant.id, Variant.product_id)
            .execution_options(synchronize_session=False)
        ).all()
        units = {row.id: wanted[row.id if key is Variant.id else row.product_id] for row in taken}
        short = set(wanted) - {row.id if key is Variant.id else row.product_id for row in taken}
        if short:
            if taken:
                given_back = case(units, value=Variant.id)
                self.session.execute(
                    update(Variant).where(Variant.id.in_(units))
                    .values(stock=Variant.stock + given_back).execution_options(synchronize_session=False))
            return short
        per_product: dict[int, int] = {}
        for row in taken:
            per_product[row.product_id] = per_product.get(row.product_id, 0) + units[row.id]
        self._add_to_product_stock({product_id: -count for product_id, count in per_product.items()})
        return set()

    def _add_to_product_stock(self, deltas: Mapping[int, int]) -> None:
        """Move the products' stock totals by `deltas` (one UPDATE, relative, so concurrent writers add up)."""
        if not deltas:
            return
        delta = case(dict(deltas), value=Product.id)
        self.session.execute(
            update(Product).where(Product.id.in_(deltas))
            # Clamped into the column's range: a total can never fail its check constraint.
            .values(stock=case((Product.stock + delta < 0, 0), (Product.stock + delta > STOCK_MAX, STOCK_MAX),
                               else_=Product.stock + delta), updated_at=utcnow())
            .execution_options(synchronize_session=False))
        self._invalidate(PRODUCT_LISTS, *(product_collection(product_id) for product_id in deltas))
        for product_id in sorted(deltas):
            self.request.notify(ProductChanged(product_id=product_id, changed=frozenset({"stock"})))

    def return_stock(self, product_id: int, quantity: int) -> None:
        """Put back units taken earlier from a one-variant product; a deleted product is ignored."""
        quantity = self._positive_quantity(quantity)
        variant_id = self._only_variant(product_id)
        if variant_id is not None:
            self.return_variant_stock(variant_id, quantity)

    def return_variant_stock(self, variant_id: int, quantity: int) -> None:
        """Put back units taken earlier (a cancelled order), active or not; a deleted variant is ignored."""
        quantity = self._positive_quantity(quantity)
        row = self.session.execute(
            update(Variant).where(Variant.id == variant_id)
            # Capped, so no amount of returns can overflow the column.
            .values(stock=case((Variant.stock > STOCK_MAX - quantity, STOCK_MAX), else_=Variant.stock + quantity),
                    updated_at=utcnow())
            .returning(Variant.product_id, Variant.is_active)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return
        if row.is_active:
            self._add_to_product_stock({row.product_id: quantity})
        else:
            self._invalidate(PRODUCT_LISTS, product_collection(row.product_id))

    @staticmethod
    def _positive_quantity(quantity: int) -> int:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= STOCK_MAX:
            raise InvalidInput("quantity", f"Ensure this value is a whole number from 1 to {STOCK_MAX}.")
        return quantity

    def create_category(self, name: str, *, slug: str | None = None, description: str = "",
                        parent: int | None = None) -> CategoryInfo:
        category = self._create_category({"name": name, "slug": slug, "description": description,
                                          "parent": parent})
        return CategoryInfo(id=category.id, name=category.name, slug=category.slug, parent_id=category.parent_id)

    def create_product(self, name: str, price: Decimal | int | str, *, stock: int = 0,
                       category: int | None = None, description: str = "", slug: str | None = None,
                       is_active: bool = True) -> ProductInfo:
        product = self._create_product({"name": name, "price": price, "stock": stock, "category": category,
                                        "description": description, "slug": slug, "is_active": is_active})
        return product_info(product)

    def create_variant(self, product_id: int, *, sku: str, options: Mapping[str, str],
                       price: Decimal | int | str, stock: int = 0, is_active: bool = True) -> VariantInfo:
        variant = self._add_variant(self._product(product_id), {"sku": sku, "options": dict(options), "price": price,
                                                                "stock": stock, "is_active": is_active})
        return self.get_variants([variant["id"]])[variant["id"]]

    # --- categories ------------------------------------------------------------------------------

    def list_categories(self, page: int, page_size: int) -> Page:
        statement = select(Category).order_by(Category.name, Category.id)
        return fetch_page(self.session, statement, page, page_size)

    def category_detail(self, category_id: int) -> dict:
        return category_body(self._category(category_id))

    def add_category(self, fields: Mapping[str, Any]) -> dict:
        return category_body(self._create_category(fields))

    def update_category(self, category_id: int, fields: Mapping[str, Any]) -> dict:
        category = self._category(category_id)
        before = field_values(category, CATEGORY_FIELDS)
        if "name" in fields:
            name = parse_text(fields["name"], "name", CATEGORY_NAME_MAX, required=True)
            self._check_category_name_free(name, category.id)
            category.name = name
        if "slug" in fields and fields["slug"] is not None:
            slug = parse_slug(fields["slug"])
            if slug != category.slug:
                self._check_slug_free(Category, slug)
                category.slug = slug
        if "description" in fields:
            category.description = parse_text(fields["description"] or "", "description", DESCRIPTION_MAX,
                                              required=False)
        if "parent" in fields:
            parent = parse_optional_id(fields["parent"], "parent")
            if parent is not None:
                self._check_parent(parent)
                if parent == category.id or category.id in self._ancestor_ids(parent):
                    raise InvalidInput("parent", "A category cannot be its own ancestor.")
            category.parent_id = parent
        self._flush("name")
        self._invalidate(CATEGORIES, PRODUCT_LISTS)
        after = field_values(category, CATEGORY_FIELDS)
        changed = changed_fields(before, after)
        if changed:
            self.request.notify(CategoryChanged(category_id=category.id, changed=changed))
            self.request.audit(CATEGORY_UPDATED, CATEGORY_OBJECT, category.id, before=before, after=after)
        return category_body(category)

    def delete_category(self, category_id: int) -> None:
        category = self._category(category_id)
        products = self.session.scalar(
            select(func.count()).select_from(Product).where(Product.category_id == category.id))
        if products:
            raise Conflict(f"Category {category.id} still has {products} product(s); move or delete them first.")
        if self.session.scalar(select(exists().where(Category.parent_id == category.id))):
            raise Conflict(f"Category {category.id} still has subcategories; move or delete them first.")
        slug = category.slug
        self.request.audit(CATEGORY_DELETED, CATEGORY_OBJECT, category.id,
                           before=field_values(category, CATEGORY_FIELDS), after=None)
        self.session.delete(category)
        self.session.flush()
        self._invalidate(CATEGORIES, PRODUCT_LISTS)
        self.request.notify(CategoryDeleted(category_id=category_id, slug=slug))

    def _category(self, category_id: int) -> Category:
        category = self.session.get(Category, category_id)
        if category is None:
            raise NotFound("Category not found.")
        return category

    def _create_category(self, fields: Mapping[str, Any]) -> Category:
        name = parse_text(fields.get("name"), "name", CATEGORY_NAME_MAX, required=True)
        self._check_category_name_free(name, None)
        parent = parse_optional_id(fields.get("parent"), "parent")
        if parent is not None:
            self._check_parent(parent)
        if fields.get("slug") is not None:
            slug = parse_slug(fields["slug"])
            self._check_slug_free(Category, slug)
        else:
            slug = self._free_slug(Category, name)
        description = parse_text(fields.get("description") or "", "description", DESCRIPTION_MAX, required=False)
        now = utcnow()
        category = Category(name=name, slug=slug, description=description, parent_id=parent, created_at=now,
                            updated_at=now)
        self.session.add(category)
        self._flush("name")
        self._invalidate(CATEGORIES, PRODUCT_LISTS)
        self.request.notify(CategoryCreated(category_id=category.id, name=category.name, slug=category.slug,
                                            parent_id=category.parent_id))
        self.request.audit(CATEGORY_CREATED, CATEGORY_OBJECT, category.id, before=None,
                           after=field_values(category, CATEGORY_FIELDS))
        return category

    def _check_category_name_free(self, name: str, own_id: int | None) -> None:
        # lower() on both sides: the same folding as the unique index, on either database.
        statement = select(Category.id).where(func.lower(Category.name) == func.lower(name))
        if own_id is not None:
            statement = statement.where(Category.id != own_id)
        if self.session.scalar(statement.limit(1)) is not None:
            raise InvalidInput("name", "A category with this name already exists.")

    def _check_parent(self, parent: int) -> None:
        if self.session.get(Category, parent) is None:
            raise InvalidInput("parent", f"Category {parent} does not exist.")

    def _ancestor_ids(self, category_id: int) -> set[int]:
        """`category_id` and every category above it, in one recursive query."""
        chain = select(Category.id, Category.parent_id).where(Category.id == category_id).cte(
            "ancestors", recursive=True)
        # UNION (not UNION ALL) ends the walk even if a cycle was written behind the service's back.
        chain = chain.union(select(Category.id, Category.parent_id).where(Category.id == chain.c.parent_id))
        return set(self.session.scalars(select(chain.c.id)))

    def descendant_ids_query(self, category_id: int):
        """A select of `category_id` and every category below it (for the product filter)."""
        tree = select(Category.id).where(Category.id == category_id).cte("category_tree", recursive=True)
        tree = tree.union(select(Category.id).where(Category.parent_id == tree.c.id))
        return select(tree.c.id)

    # --- products ----------------------------------------------------------------------------------

    @property
    def media(self) -> MediaStorage:
        return self.request.find_service(MediaStorage)

    def loaded_products(self, statement):
        """`statement` (a select of Product) with each product's variants, attribute values and
        images read in the same query (`shopcore.db.json_rows`): a page costs one query whatever
        the number of children."""
        dialect = self._dialect()
        return statement.options(
            with_expression(Product.variant_rows, json_rows(dialect, (
                Variant.id, Variant.sku, Variant.options, Variant.price, Variant.stock, Variant.is_active),
                Variant.product_id == Product.id)),
            with_expression(Product.attribute_rows, json_rows(dialect, (
                Attribute.code, Attribute.type, ProductAttribute.value),
                and_(ProductAttribute.product_id == Product.id, Attribute.id == ProductAttribute.attribute_id))),
            with_expression(Product.image_rows, json_rows(dialect, (
                Image.id, Image.storage_key, Image.thumbnail_key, Image.alt, Image.position),
                Image.product_id == Product.id)),
        ).execution_options(populate_existing=True)

    def product_query(self, filters: ProductFilters):
        """The ordered select of the products matching `filters` (pages are cut by the caller)."""
        statement = select(Product)
        if filters.is_active is not None:
            statement = statement.where(Product.is_active == (true() if filters.is_active else ~true()))
        if filters.category is not None:
            statement = statement.where(Product.category_id.in_(self.descendant_ids_query(filters.category)))
        if filters.min_price is not None:
            statement = statement.where(Product.price >= filters.min_price)
        if filters.max_price is not None:
            statement = statement.where(Product.price <= filters.max_price)
        if filters.in_stock is True:
            statement = statement.where(Product.stock > 0)
        elif filters.in_stock is False:
            statement = statement.where(Product.stock == 0)
        for condition in self._attribute_conditions(filters.attributes):
            statement = statement.where(condition)
        search = filters.search or ""
        terms = search_terms(search)
        sku = sku_prefix(search)
        if terms or sku:
            statement = statement.where(self._search_condition(terms, sku))
        if filters.ordering == RELEVANCE:
            if not (terms or sku):
                return statement.order_by(Product.id.asc())
            return statement.order_by(self._relevance(terms, sku).desc(), Product.id.asc())
        column = getattr(Product, filters.ordering.lstrip("-")) if filters.ordering else Product.id
        order_keys = [column, Product.id] if filters.ordering else [Product.id]
        if (terms or sku) and self._dialect() == "postgresql":
            # Sort the (few) matches the GIN index finds, rather than let the planner walk an
            # ordered index and test every row it meets against the search: when the search or
            # another filter leaves few rows, that walk reads the whole table to fill a page.
            order_keys = [func.coalesce(key, key) for key in order_keys]
        descending = bool(filters.ordering and filters.ordering.startswith("-"))
        # The id tie-break goes the same way as the sort, so one index serves the whole ORDER BY.
        return statement.order_by(*(key.desc() if descending else key.asc() for key in order_keys))

    def _attribute_conditions(self, pairs: tuple[tuple[str, str], ...]) -> list:
        if not pairs:
            return []
        for code, _ in pairs:
            if len(code) > ATTRIBUTE_CODE_MAX or not ATTRIBUTE_CODE_PATTERN.match(code):
                raise InvalidInput("attribute", f"No attribute has the code {code[:60]!r}.")
        definitions = {attribute.code: attribute for attribute in self.session.scalars(
            select(Attribute).where(Attribute.code.in_({code for code, _ in pairs})))}
        conditions = []
        for code, value in pairs:
            attribute = definitions.get(code)
            if attribute is None:
                raise InvalidInput("attribute", f"No attribute has the code {code!r}.")
            canonical = canonical_attribute_value(attribute, value, "attribute")
            # One EXISTS per filter, each an index lookup on (attribute_id, value, product_id).
            conditions.append(exists().where(ProductAttribute.product_id == Product.id,
                                             ProductAttribute.attribute_id == attribute.id,
                                             ProductAttribute.value == canonical))
        return conditions

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _sku_match(self, sku: str, exact: bool):
        sku_column = func.lower(Variant.sku)
        condition = sku_column == sku if exact else sku_column.like(like_prefix(sku), escape="\\")
        return exists().where(Variant.product_id == Product.id, condition)

    def _search_condition(self, terms: list[str], sku: str | None = None):
        conditions = []
        if terms:
            conditions.append(self._words_condition(terms))
        if sku:
            # A SKU given whole or by its beginning (the unique lower(sku) index serves the prefix on
            # PostgreSQL through its text_pattern_ops). The matching product ids are found first, in
            # one uncorrelated subquery: `id = ANY(those)` is an index condition PostgreSQL can OR
            # with the text index (a correlated EXISTS in an OR would scan every product).
            matching = (select(func.array_agg(Variant.product_id)) if self._dialect() == "postgresql"
                        else select(Variant.product_id)).where(
                func.lower(Variant.sku).like(like_prefix(sku), escape="\\"))
            conditions.append(Product.id == any_(cast(matching.scalar_subquery(), ARRAY(Integer))) if self._dialect() == "postgresql"
                              else Product.id.in_(matching))
        return or_(*conditions)

    def _text_query(self, terms: list[str]):
        # Every word, as the prefix of a word of the name or description.
        return func.to_tsquery(literal_column("'simple'"), " & ".join(f"{term}:*" for term in terms))

    def _words_condition(self, terms: list[str]):
        if self._dialect() == "postgresql":
            return SEARCH_VECTOR.op("@@")(self._text_query(terms))
        # SQLite: LIKE for the same meaning, a word's beginning (at the start of the text or after a
        # space), case-insensitively; terms are letters and digits only, so nothing needs escaping.
        return and_(*(or_(*(condition for column in (Product.name, Product.description)
                             for condition in (column.ilike(f"{term}%"), column.ilike(f"% {term}%"))))
                      for term in terms))

    def _relevance(self, terms: list[str], sku: str | None):
        """How well a product matches: a SKU given whole first, then one it begins, then the words.

        PostgreSQL ranks the words with `ts_rank` over the stored vector; SQLite, which has no text
        ranking, counts the words that begin the name (2 each) or a word of it (1 each).
        """
        score = literal(0)
        if sku:
            score = score + case((self._sku_match(sku, exact=True), 100), else_=0) \
                + case((self._sku_match(sku, exact=False), 50), else_=0)
        if terms and self._dialect() == "postgresql":
            score = score + func.ts_rank(SEARCH_VECTOR, self._text_query(terms))
        elif terms:
            for term in terms:
                score = score + case((Product.name.ilike(f"{term}%"), 2), (Product.name.ilike(f"% {term}%"), 1),
                                     else_=0)
        return score

    def list_products(self, filters: ProductFilters, page: int, page_size: int,
                      remembered_count=None) -> Page:
        # The count reads at most COUNT_CAP + 1 matches (shopcore.pagination), whatever the catalog's size.
        return fetch_page(self.session, self.loaded_products(self.product_query(filters)), page, page_size,
                          remembered_count)

    def product_bodies(self, products: Iterable[Product]) -> list[dict]:
        media = self.media
        return [product_body(product, media) for product in products]

    def product_detail(self, product_id: int) -> dict:
        """The product, active or not (the view decides who may see an inactive one)."""
        product = self.session.scalar(self.loaded_products(select(Product).where(Product.id == product_id))
                                      .execution_options(populate_existing=True))
        if product is None:
            raise NotFound("Product not found.")
        return product_body(product, self.media)

    def add_product(self, fields: Mapping[str, Any]) -> dict:
        return self.product_detail(self._create_product(fields).id)

    def update_product(self, product_id: int, fields: Mapping[str, Any]) -> dict:
        product = self._product(product_id, lock=True)
        before = field_values(product, PRODUCT_FIELDS)
        if "name" in fields:
            product.name = parse_text(fields["name"], "name", PRODUCT_NAME_MAX, required=True)
        if "slug" in fields and fields["slug"] is not None:
            slug = parse_slug(fields["slug"])
            if slug != product.slug:
                self._check_slug_free(Product, slug)
                product.slug = slug
        if "description" in fields:
            product.description = parse_text(fields["description"] or "", "description", DESCRIPTION_MAX,
                                             required=False)
        if "category" in fields:
            product.category_id = self._existing_category(fields["category"])
        if "is_active" in fields:
            product.is_active = parse_bool(fields["is_active"], "is_active")
        if "option_names" in fields:
            self._rename_options(product, parse_option_names(fields["option_names"]))
        seed_fields = {name: fields[name] for name in ("price", "stock", "sku") if name in fields}
        if seed_fields:
            # The seed's way: price and stock of a product are those of its one variant.
            variant_id = self._only_variant_for(product, next(iter(seed_fields)))
            self._change_variant(self.session.get(Variant, variant_id), product, seed_fields)
        if "attributes" in fields:
            self._set_product_attributes(product.id, fields["attributes"])
        self._flush("slug")
        self._refresh_totals(product)
        self._invalidate(PRODUCT_LISTS, product_collection(product.id))
        after = field_values(product, PRODUCT_FIELDS)
        changed = changed_fields(before, after)
        if "attributes" in fields:
            changed |= {"attributes"}
        if changed:
            self.request.notify(ProductChanged(product_id=product.id, changed=changed))
            self.request.audit(PRODUCT_UPDATED, PRODUCT_OBJECT, product.id, before=before, after=after)
        if "is_active" in changed and not product.is_active:
            self.request.notify(ProductDeactivated(product_id=product.id))
        return self.product_detail(product.id)

    def _only_variant_for(self, product: Product, field: str) -> int:
        ids = list(self.session.scalars(select(Variant.id).where(Variant.product_id == product.id).limit(2)))
        if len(ids) != 1:
            raise InvalidInput(field, "This product has several variants: change each one at /api/variants/{id}/.")
        return ids[0]

    def _rename_options(self, product: Product, names: list[str]) -> None:
        """New option names: variants drop the values of names removed and take `DEFAULT_OPTION_VALUE`
        for names added (change them afterwards); two variants left alike are a 409."""
        if names == list(product.option_names or ()):
            return
        variants = list(self.session.scalars(select(Variant).where(Variant.product_id == product.id)
                                             .order_by(Variant.id)))
        renamed = []
        for variant in variants:
            options = {name: variant.options.get(name, DEFAULT_OPTION_VALUE) for name in names}
            renamed.append((variant, options, options_key(options)))
        if len({key for _, _, key in renamed}) != len(renamed):
            raise Conflict("Two variants would have the same options; delete or change one first.",
                           [{"field": "option_names", "message": "Variants would no longer differ."}])
        # Row by row, two variants could briefly share a (product, options_key): the keys are first
        # moved aside in one statement, then set.
        self.session.execute(update(Variant).where(Variant.product_id == product.id)
                             .values(options_key="~" + cast(Variant.id, String))
                             .execution_options(synchronize_session=False))
        for variant, options, key in renamed:
            variant.options, variant.options_key = options, key
            flag_modified(variant, "options_key")  # written even where it equals the value loaded
        product.option_names = names
        self.session.flush()

    def delete_product(self, product_id: int) -> str:
        """Delete the product, or deactivate it when an order still refers to it; says which."""
        product = self._product(product_id)
        self._invalidate(PRODUCT_LISTS, product_collection(product.id))
        if any(run_extension_point(self.request, PRODUCT_REFERENCED, product.id)):
            was_active = product.is_active
            product.is_active = False
            self.session.flush()
            self.request.audit(PRODUCT_DEACTIVATED, PRODUCT_OBJECT, product.id, before={"is_active": was_active},
                               after={"is_active": False})
            if was_active:
                self.request.notify(ProductChanged(product_id=product.id, changed=frozenset({"is_active"})))
                self.request.notify(ProductDeactivated(product_id=product.id))
            return "deactivated"
        slug = product.slug
        self.request.audit(PRODUCT_DELETED, PRODUCT_OBJECT, product.id, before=field_values(product, PRODUCT_FIELDS),
                           after=None)
        keys = [key for row in self.session.execute(
            select(Image.storage_key, Image.thumbnail_key).where(Image.product_id == product.id)) for key in row]
        # Its variants, attribute values and images go with it (ON DELETE CASCADE); the image files
        # once the deletion has committed.
        self.session.execute(delete(Product).where(Product.id == product.id))
        self.session.expunge(product)
        delete_after_commit(self.request, self.media, keys)
        self.request.notify(ProductDeleted(product_id=product_id, slug=slug))
        return "deleted"

    def _product(self, product_id: int, lock: bool = False) -> Product:
        if lock:
            # The product's row first: writers of its variants work one after the other, so the
            # totals recomputed from the variants see every committed change (see _refresh_totals).
            product = self.session.scalar(select(Product).where(Product.id == product_id).with_for_update()
                                          .execution_options(populate_existing=True))
        else:
            product = self.session.get(Product, product_id)
        if product is None:
            raise NotFound("Product not found.")
        return product

    def _existing_category(self, value: Any) -> int | None:
        category = parse_optional_id(value, "category")
        if category is not None and self.session.get(Category, category) is None:
            raise InvalidInput("category", f"Category {category} does not exist.")
        return category

    def _create_product(self, fields: Mapping[str, Any]) -> Product:
        name = parse_text(fields.get("name"), "name", PRODUCT_NAME_MAX, required=True)
        option_names = parse_option_names(fields["option_names"]) if fields.get("option_names") is not None else []
        variants = fields.get("variants")
        if variants is not None:
            if not isinstance(variants, list) or not variants:
                raise InvalidInput("variants", "Give at least one variant.")
            for name_ in ("price", "stock", "sku"):
                if fields.get(name_) is not None:
                    raise InvalidInput(name_, "Give it on each variant when the product has `variants`.")
        else:
            if option_names:
                raise InvalidInput("variants", "A product with options needs its variants.")
            if "price" not in fields or fields["price"] is None:
                raise InvalidInput("price", "This field is required.")
            variants = [{"sku": fields.get("sku"), "options": {}, "price": fields["price"],
                         "stock": fields.get("stock") if fields.get("stock") is not None else 0,
                         "is_active": True}]
        # Checked before anything is written: a bad variant names its place in the list.
        parsed = [self._parse_variant(variant, option_names, f"variants.{index}" if "variants" in fields else "")
                  for index, variant in enumerate(variants)]
        if len({options_key(v["options"]) for v in parsed}) != len(parsed):
            raise Conflict("Two variants have the same options.",
                           [{"field": "variants", "message": "Each variant needs its own combination of options."}])
        skus = [v["sku"].lower() for v in parsed if v["sku"]]
        if len(set(skus)) != len(skus):
            raise Conflict("Two variants have the same SKU.", [{"field": "variants", "message": "SKUs must differ."}])
        category = self._existing_category(fields.get("category"))
        description = parse_text(fields.get("description") or "", "description", DESCRIPTION_MAX, required=False)
        is_active = parse_bool(fields.get("is_active", True), "is_active")
        if fields.get("slug") is not None:
            slug = parse_slug(fields["slug"])
            self._check_slug_free(Product, slug)
        else:
            slug = self._free_slug(Product, name)
        now = utcnow()
        # The totals from the variants about to be inserted (as `_refresh_totals` computes them).
        active = [v for v in parsed if v["is_active"]]
        product = Product(name=name, slug=slug, description=description,
                          price=min(v["price"] for v in (active or parsed)),
                          stock=min(sum(v["stock"] for v in active), STOCK_MAX), category_id=category,
                          is_active=is_active, option_names=option_names, created_at=now, updated_at=now)
        self.session.add(product)
        self._flush("slug")
        for variant in parsed:
            self._insert_variant(product, variant)
        if fields.get("attributes") is not None:
            self._set_product_attributes(product.id, fields["attributes"])
        self._invalidate(PRODUCT_LISTS, product_collection(product.id))
        self.request.notify(ProductCreated(product_id=product.id, name=product.name, slug=product.slug,
                                           price=product.price, stock=product.stock, category_id=product.category_id,
                                           is_active=product.is_active))
        self.request.audit(PRODUCT_CREATED, PRODUCT_OBJECT, product.id, before=None,
                           after=field_values(product, PRODUCT_FIELDS))
        return product

    # --- variants ----------------------------------------------------------------------------------------

    def _parse_variant(self, fields: Any, option_names: list[str], prefix: str) -> dict:
        def name(field: str) -> str:
            return f"{prefix}.{field}" if prefix else field

        if not isinstance(fields, Mapping):
            raise InvalidInput(prefix or "variant", "Expected an object.")
        if fields.get("price") is None:
            raise InvalidInput(name("price"), "This field is required.")
        return {
            "sku": parse_sku(fields["sku"], name("sku")) if fields.get("sku") is not None else None,
            "options": parse_options(fields.get("options", {}) if fields.get("options") is not None else {},
                                     option_names, name("options")),
            "price": parse_price(fields["price"], name("price")),
            "stock": parse_stock(fields.get("stock") if fields.get("stock") is not None else 0, name("stock")),
            "is_active": parse_bool(fields.get("is_active", True), name("is_active")),
        }

    def _insert_variant(self, product: Product, parsed: dict) -> Variant:
        sku = parsed["sku"] or self._free_sku(product.slug)
        self._check_sku_free(sku, None)
        now = utcnow()
        variant = Variant(product_id=product.id, sku=sku, options=parsed["options"],
                          options_key=options_key(parsed["options"]), price=parsed["price"], stock=parsed["stock"],
                          is_active=parsed["is_active"], created_at=now, updated_at=now)
        self.session.add(variant)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict("A variant with these options or this SKU was just made by another request.",
                           [{"field": "sku", "message": "Taken meanwhile; try again."}]) from None
        return variant

    def _check_sku_free(self, sku: str, own_id: int | None) -> None:
        statement = select(Variant.id).where(func.lower(Variant.sku) == sku.lower())
        if own_id is not None:
            statement = statement.where(Variant.id != own_id)
        if self.session.scalar(statement.limit(1)) is not None:
            raise Conflict(f"SKU {sku!r} is already used by another variant.",
                           [{"field": "sku", "message": "Already used (SKUs are unique, case aside)."}])

    def _free_sku(self, base: str) -> str:
        """`base` (a product's slug) as a SKU, or the first free `<base>-N`."""
        base = base.lstrip("-_")[:SKU_MAX - 12] or "sku"
        taken = set(self.session.scalars(select(func.lower(Variant.sku)).where(
            or_(func.lower(Variant.sku) == base.lower(), func.lower(Variant.sku).like(like_prefix(base.lower() + "-"),
                                                                                        escape="\\")))))
        if base.lower() not in taken:
            return base
        suffix = 2
        while f"{base}-{suffix}".lower() in taken:
            suffix += 1
        return f"{base}-{suffix}"

    def _refresh_totals(self, product: Product) -> None:
        """Set the product's price (the lowest active variant price; the lowest of all when none is
        active) and stock (the active variants' sum) from its variants.

        The caller holds the product's row lock (`_product(lock=True)`, or it has just inserted the
        row): checkouts change a total only relatively (`_add_to_product_stock`), after this lock, so
        a total computed here and the units they take always add up.
        """
        self.session.flush()
        row = self.session.execute(
            select(func.min(case((Variant.is_active == true(), Variant.price))), func.min(Variant.price),
                   func.coalesce(func.sum(case((Variant.is_active == true(), Variant.stock), else_=0)), 0))
            .where(Variant.product_id == product.id)).one()
        lowest_active, lowest, stock = row
        price = lowest_active if lowest_active is not None else lowest
        if price is not None and to_money(price, "price") != product.price:
            product.price = to_money(price, "price")
        if min(int(stock), STOCK_MAX) != product.stock:
            product.stock = min(int(stock), STOCK_MAX)
        self.session.flush()

    def variant_detail(self, variant_id: int) -> dict:
        return variant_body(self._variant(variant_id))

    def add_variant(self, product_id: int, fields: Mapping[str, Any]) -> dict:
        return self._add_variant(self._product(product_id, lock=True), fields)

    def _add_variant(self, product: Product, fields: Mapping[str, Any]) -> dict:
        parsed = self._parse_variant(fields, list(product.option_names or ()), "")
        if self.session.scalar(select(Variant.id).where(Variant.product_id == product.id,
                                                        Variant.options_key == options_key(parsed["options"]))):
            raise Conflict("The product already has a variant with these options.",
                           [{"field": "options", "message": "Each variant needs its own combination of options."}])
        variant = self._insert_variant(product, parsed)
        self._variant_changed(product)
        self.request.audit(VARIANT_CREATED, VARIANT_OBJECT, variant.id, before=None,
                           after=field_values(variant, VARIANT_FIELDS))
        return variant_body(variant)

    def update_variant(self, variant_id: int, fields: Mapping[str, Any]) -> dict:
        variant = self._variant(variant_id)
        product = self._product(variant.product_id, lock=True)
        self.session.refresh(variant)
        before = field_values(variant, VARIANT_FIELDS)
        self._change_variant(variant, product, fields)
        after = field_values(variant, VARIANT_FIELDS)
        if after != before:  # a write that changes no value emits nothing
            self._variant_changed(product)
            self.request.audit(VARIANT_UPDATED, VARIANT_OBJECT, variant.id, before=before, after=after)
        return variant_body(variant)

    def _change_variant(self, variant: Variant, product: Product, fields: Mapping[str, Any]) -> None:
        if "sku" in fields and fields["sku"] is not None:
            sku = parse_sku(fields["sku"])
            self._check_sku_free(sku, variant.id)
            variant.sku = sku
        if "options" in fields:
            options = parse_options(fields["options"], list(product.option_names or ()))
            key = options_key(options)
            if self.session.scalar(select(Variant.id).where(Variant.product_id == product.id,
                                                            Variant.options_key == key, Variant.id != variant.id)):
                raise Conflict("Another variant of the product has these options.",
                               [{"field": "options", "message": "Each variant needs its own combination of options."}])
            variant.options, variant.options_key = options, key
        if "price" in fields:
            variant.price = parse_price(fields["price"])
        if "stock" in fields:
            variant.stock = parse_stock(fields["stock"])
        if "is_active" in fields:
            variant.is_active = parse_bool(fields["is_active"], "is_active")
        variant.updated_at = utcnow()
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict("This SKU or combination of options was just taken by another request.",
                           [{"field": "sku", "message": "Taken meanwhile; try again."}]) from None

    def delete_variant(self, variant_id: int) -> None:
        """Delete a variant; a product keeps at least one (delete the product instead)."""
        variant = self._variant(variant_id)
        product = self._product(variant.product_id, lock=True)
        others = self.session.scalar(select(func.count()).select_from(Variant).where(
            Variant.product_id == product.id, Variant.id != variant.id))
        if not others:
            raise Conflict("A product keeps at least one variant; delete the product instead.",
                           [{"field": "variant", "message": "This is the product's last variant."}])
        self.request.audit(VARIANT_DELETED, VARIANT_OBJECT, variant.id, before=field_values(variant, VARIANT_FIELDS),
                           after=None)
        self.session.delete(variant)
        self._variant_changed(product)

    def _variant_changed(self, product: Product) -> None:
        before = (product.price, product.stock)
        self._refresh_totals(product)
        self._invalidate(PRODUCT_LISTS, product_collection(product.id))
        changed = {"variants"} | {name for name, old, new in (("price", before[0], product.price),
                                                                ("stock", before[1], product.stock)) if old != new}
        self.request.notify(ProductChanged(product_id=product.id, changed=frozenset(changed)))

    def _variant(self, variant_id: int) -> Variant:
        variant = self.session.get(Variant, variant_id)
        if variant is None:
            raise NotFound("Variant not found.")
        return variant

    # --- attributes --------------------------------------------------------------------------------------

    def list_attributes(self, page: int, page_size: int) -> Page:
        return fetch_page(self.session, select(Attribute).order_by(Attribute.code, Attribute.id), page, page_size)

    def attribute_detail(self, attribute_id: int) -> dict:
        return attribute_body(self._attribute(attribute_id))

    def add_attribute(self, fields: Mapping[str, Any]) -> dict:
        code = parse_text(fields.get("code"), "code", ATTRIBUTE_CODE_MAX, required=True)
        if not ATTRIBUTE_CODE_PATTERN.match(code):
            raise InvalidInput("code", "Use lower-case letters, digits and _, starting with a letter.")
        if self.session.scalar(select(Attribute.id).where(Attribute.code == code)) is not None:
            raise Conflict(f"An attribute with the code {code!r} exists.",
                           [{"field": "code", "message": "Already used."}])
        kind = fields.get("type")
        if kind not in ATTRIBUTE_TYPES:
            raise InvalidInput("type", f"Must be one of: {', '.join(ATTRIBUTE_TYPES)}.")
        attribute = Attribute(code=code, name=parse_text(fields.get("name"), "name", ATTRIBUTE_NAME_MAX, required=True),
                              type=kind, choices=self._parse_choices(kind, fields.get("choices")))
        self.session.add(attribute)
        try:
            self.session.flush()
        except IntegrityError:
            raise InvalidInput("code", "This value was just taken by another request; try again.") from None
        self._invalidate(ATTRIBUTES)
        self.request.audit(ATTRIBUTE_CREATED, ATTRIBUTE_OBJECT, attribute.id, before=None,
                           after=field_values(attribute, ATTRIBUTE_FIELDS))
        return attribute_body(attribute)

    @staticmethod
    def _parse_choices(kind: str, value: Any) -> list[str]:
        if kind != "choice":
            if value:
                raise InvalidInput("choices", "Only a choice attribute has choices.")
            return []
        if not isinstance(value, list) or not value:
            raise InvalidInput("choices", "A choice attribute needs its list of choices.")
        if len(value) > ATTRIBUTE_CHOICES_MAX:
            raise InvalidInput("choices", f"At most {ATTRIBUTE_CHOICES_MAX} choices.")
        choices = [parse_text(choice, "choices", ATTRIBUTE_VALUE_MAX, required=True) for choice in value]
        if len(set(choices)) != len(choices):
            raise InvalidInput("choices", "Choices must differ.")
        return choices

    def update_attribute(self, attribute_id: int, fields: Mapping[str, Any]) -> dict:
        """Rename an attribute or change its choices; a choice some product has cannot be removed (409)."""
        attribute = self._attribute(attribute_id)
        before = field_values(attribute, ATTRIBUTE_FIELDS)
        if "name" in fields:
            attribute.name = parse_text(fields["name"], "name", ATTRIBUTE_NAME_MAX, required=True)
        if "choices" in fields:
            choices = self._parse_choices(attribute.type, fields["choices"])
            removed = set(attribute.choices or ()) - set(choices)
            in_use = removed and self.session.scalar(select(ProductAttribute.value).where(
                ProductAttribute.attribute_id == attribute.id, ProductAttribute.value.in_(removed)).limit(1))
            if in_use:
                raise Conflict(f"Products still have the choice {in_use!r}; change them first.",
                               [{"field": "choices", "message": f"{in_use!r} is in use."}])
            attribute.choices = choices
        self.session.flush()
        self._invalidate(ATTRIBUTES, PRODUCT_LISTS)
        after = field_values(attribute, ATTRIBUTE_FIELDS)
        if after != before:
            self.request.audit(ATTRIBUTE_UPDATED, ATTRIBUTE_OBJECT, attribute.id, before=before, after=after)
        return attribute_body(attribute)

    def delete_attribute(self, attribute_id: int) -> None:
        """Delete a definition and every product's value of it."""
        attribute = self._attribute(attribute_id)
        products = list(self.session.scalars(select(ProductAttribute.product_id).where(
            ProductAttribute.attribute_id == attribute.id).order_by(ProductAttribute.product_id)))
        self.request.audit(ATTRIBUTE_DELETED, ATTRIBUTE_OBJECT, attribute.id,
                           before=field_values(attribute, ATTRIBUTE_FIELDS), after=None)
        self.session.execute(delete(Attribute).where(Attribute.id == attribute.id))
        self.session.expunge(attribute)
        self._invalidate(ATTRIBUTES, PRODUCT_LISTS, *(product_collection(product_id) for product_id in products))
        # The products that had a value of it lost that value: their bodies changed.
        for product_id in products:
            self.request.notify(ProductChanged(product_id=product_id, changed=frozenset({"attributes"})))

    def _attribute(self, attribute_id: int) -> Attribute:
        attribute = self.session.get(Attribute, attribute_id)
        if attribute is None:
            raise NotFound("Attribute not found.")
        return attribute

    def _set_product_attributes(self, product_id: int, values: Any) -> None:
        """Replace the product's attribute values with `values` ({code: value}; a null value is left out)."""
        if not isinstance(values, Mapping):
            raise InvalidInput("attributes", "Expected an object of attribute values.")
        for code in values:
            if not isinstance(code, str) or len(code) > ATTRIBUTE_CODE_MAX or not ATTRIBUTE_CODE_PATTERN.match(code):
                raise InvalidInput("attributes", f"No attribute has the code {str(code)[:60]!r}.")
        definitions = {attribute.code: attribute for attribute in self.session.scalars(
            select(Attribute).where(Attribute.code.in_(list(values))))} if values else {}
        rows = []
        for code, value in values.items():
            attribute = definitions.get(code)
            if attribute is None:
                raise InvalidInput(f"attributes.{code}", f"No attribute has the code {code!r}.")
            if value is None:
                continue
            rows.append({"product_id": product_id, "attribute_id": attribute.id,
                         "value": canonical_attribute_value(attribute, value, f"attributes.{code}")})
        self.session.execute(delete(ProductAttribute).where(ProductAttribute.product_id == product_id))
        if rows:
            self.session.execute(insert(ProductAttribute), rows)

    # --- images --------------------------------------------------------------------------------------------

    def add_image(self, product_id: int, upload, alt: str | None) -> dict:
        """Store an uploaded picture and its thumbnail (see shopcore_catalog.images); the files are
        removed again if the transaction does not commit."""
        from shopcore_catalog.images import store_image

        product = self._product(product_id, lock=True)
        alt = parse_text(alt or "", "alt", IMAGE_ALT_MAX, required=False)
        stored = store_image(self.request, self.media, product.id, upload)
        position = self.session.scalar(select(func.coalesce(func.max(Image.position) + 1, 0))
                                       .where(Image.product_id == product.id))
        image = Image(product_id=product.id, storage_key=stored.key, thumbnail_key=stored.thumbnail_key, alt=alt,
                      position=position, content_type=stored.content_type, width=stored.width, height=stored.height,
                      source=stored.source, created_at=utcnow())
        self.session.add(image)
        self.session.flush()
        self._images_changed(product.id)
        self.request.audit(IMAGE_CREATED, IMAGE_OBJECT, image.id, before=None, after=field_values(image, IMAGE_FIELDS))
        return image_body(image, self.media)

    def image_detail(self, image_id: int) -> dict:
        return image_body(self._image(image_id), self.media)

    def update_image(self, image_id: int, fields: Mapping[str, Any]) -> dict:
        image = self._image(image_id)
        before = field_values(image, IMAGE_FIELDS)
        if "alt" in fields:
            image.alt = parse_text(fields["alt"] or "", "alt", IMAGE_ALT_MAX, required=False)
        if "position" in fields:
            position = fields["position"]
            if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
                raise InvalidInput("position", "A whole number from 0 to 10000.")
            image.position = position
        self.session.flush()
        after = field_values(image, IMAGE_FIELDS)
        if after != before:  # a write that changes no value emits nothing
            self._images_changed(image.product_id)
            self.request.audit(IMAGE_UPDATED, IMAGE_OBJECT, image.id, before=before, after=after)
        return image_body(image, self.media)

    def delete_image(self, image_id: int) -> None:
        image = self._image(image_id)
        keys = [image.storage_key, image.thumbnail_key]
        self.request.audit(IMAGE_DELETED, IMAGE_OBJECT, image.id, before=field_values(image, IMAGE_FIELDS), after=None)
        self.session.delete(image)
        self.session.flush()
        delete_after_commit(self.request, self.media, keys)
        self._images_changed(image.product_id)

    def _images_changed(self, product_id: int) -> None:
        self._invalidate(PRODUCT_LISTS, product_collection(product_id))
        self.request.notify(ProductChanged(product_id=product_id, changed=frozenset({"images"})))

    def _image(self, image_id: int) -> Image:
        image = self.session.get(Image, image_id)
        if image is None:
            raise NotFound("Image not found.")
        return image

    # --- slugs and flushing --------------------------------------------------------------------------

    def _check_slug_free(self, model, slug: str) -> None:
        if self.session.scalar(select(model.id).where(model.slug == slug).limit(1)) is not None:
            raise InvalidInput("slug", f"A {model.__name__.lower()} with this slug already exists.")

    def _free_slug(self, model, name: str) -> str:
        """The name's slug, or the first free `<slug>-N` when another row has it."""
        base = slugify(name, max_length=SLUG_MAX - 12) or model.__name__.lower()
        taken = set(self.session.scalars(
            select(model.slug).where(or_(model.slug == base, model.slug.like(f"{base}-%")))))
        if base not in taken:
            return base
        suffix = 2
        while f"{base}-{suffix}" in taken:
            suffix += 1
        return f"{base}-{suffix}"

    def _flush(self, unique_field: str) -> None:
        """Flush now: a unique value taken meanwhile by a concurrent request is a 400, not a 500.

        The failed flush leaves the transaction unusable; the error aborts it like any other.
        """
        try:
            self.session.flush()
        except IntegrityError:
            raise InvalidInput(unique_field, "This value was just taken by another request; try again.") from None
