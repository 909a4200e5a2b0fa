"""The catalog service: every rule about categories, products and stock, callable without HTTP.

`DefaultCatalogService` implements `shopcore_catalog.api.CatalogService`; other plugins reach it as
`request.find_service(CatalogService)` and use only the interface's methods; the HTTP views use the
rest. Every write invalidates the cache entries it makes stale, after commit, and emits the catalog's
events (`shopcore_catalog.events`) in the transaction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from slugify import slugify
from sqlalchemy import and_, case, exists, func, literal_column, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from shopcore.clock import utcnow
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.extensions import run_extension_point
from shopcore.money import ZERO, to_money

from shopcore_catalog.api import CatalogService, CategoryInfo, ProductInfo
from shopcore_catalog.events import (CategoryChanged, CategoryCreated, CategoryDeleted, ProductChanged, ProductCreated,
                                     ProductDeactivated, ProductDeleted)
from shopcore_catalog.models import (CATEGORY_NAME_MAX, DESCRIPTION_MAX, PRICE_MAX, PRODUCT_NAME_MAX, SLUG_MAX,
                                     STOCK_MAX, Category, Product)
from shopcore_catalog.points import PRODUCT_REFERENCED
from shopcore.pagination import Page, fetch_page

CACHE_NAMESPACE = "catalog"
# Cache collections: every list page of products (any product or category write changes some),
# every category body, and one per product detail.
PRODUCT_LISTS = "products"
CATEGORIES = "categories"
ORDERINGS = ("name", "price", "created_at", "stock")
ORDERING_CHOICES = tuple(f"{sign}{name}" for name in ORDERINGS for sign in ("", "-"))
SEARCH_MAX_TERMS = 8
SEARCH_TERM = re.compile(r"[^\W_]+")
SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")
# PostgreSQL only: the stored, GIN-indexed tsvector of name and description (migration catalog_0002).
# Not mapped on the model, which SQLite shares.
SEARCH_VECTOR = literal_column("catalog_products.search_vector")


# Admin actions recorded in the audit log (declared in the plugin's includeme), and their objects.
PRODUCT_OBJECT, CATEGORY_OBJECT = "catalog.product", "catalog.category"
PRODUCT_CREATED, PRODUCT_UPDATED = "catalog.product.create", "catalog.product.update"
PRODUCT_DELETED, PRODUCT_DEACTIVATED = "catalog.product.delete", "catalog.product.deactivate"
CATEGORY_CREATED, CATEGORY_UPDATED, CATEGORY_DELETED = ("catalog.category.create", "catalog.category.update",
                                                        "catalog.category.delete")
AUDITED_ACTIONS = {
    PRODUCT_CREATED: "A product was created", PRODUCT_UPDATED: "A product's fields changed",
    PRODUCT_DELETED: "A product was deleted",
    PRODUCT_DEACTIVATED: "A product still in orders was deactivated instead of deleted",
    CATEGORY_CREATED: "A category was created", CATEGORY_UPDATED: "A category's fields changed",
    CATEGORY_DELETED: "A category was deleted",
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
    if ordering is not None and ordering not in ORDERING_CHOICES:
        raise InvalidInput("ordering", f"Must be one of {', '.join(ORDERING_CHOICES)}.")
    min_price = params.get("min_price")
    max_price = params.get("max_price")
    search = params.get("search")
    return ProductFilters(
        category=parse_optional_id(params.get("category"), "category"),
        min_price=None if min_price is None else parse_price(min_price, "min_price"),
        max_price=None if max_price is None else parse_price(max_price, "max_price"),
        in_stock=None if params.get("in_stock") is None else parse_bool(params["in_stock"], "in_stock"),
        # The words alone: searches that differ only in punctuation or case share one cache entry.
        search=" ".join(search_terms(search)) or None if isinstance(search, str) else None,
        ordering=ordering,
    )


def search_terms(text: str) -> list[str]:
    """Words of a search, lower-cased; punctuation (and tsquery syntax) cannot reach the query."""
    return [term.lower()[:64] for term in SEARCH_TERM.findall(text)][:SEARCH_MAX_TERMS]


def product_body(product: Product) -> dict:
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
    }


def category_body(category: Category) -> dict:
    return {
        "id": category.id,
        "name": category.name,
        "slug": category.slug,
        "description": category.description,
        "parent": category.parent_id,
    }


def product_info(product: Product) -> ProductInfo:
    return ProductInfo(id=product.id, name=product.name, price=product.price,
                       stock=product.stock, is_active=product.is_active)


# What a product's and a category's API fields are made of (for the `changed` of their events).
PRODUCT_FIELDS = {"name": "name", "slug": "slug", "description": "description", "price": "price", "stock": "stock",
                  "category": "category_id", "is_active": "is_active"}
CATEGORY_FIELDS = {"name": "name", "slug": "slug", "description": "description", "parent": "parent_id"}


def field_values(row, fields: Mapping[str, str]) -> dict[str, Any]:
    return {name: getattr(row, attribute) for name, attribute in fields.items()}


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

    def take_stock(self, product_id: int, quantity: int) -> bool:
        """Take `quantity` units if the product is active and has them; True iff taken.

        One conditional UPDATE in the request's transaction: two checkouts racing for the last
        unit cannot both succeed, on PostgreSQL (row lock) or SQLite (database write lock).
        """
        quantity = self._positive_quantity(quantity)
        result = self.session.execute(
            update(Product)
            .where(Product.id == product_id, Product.stock >= quantity, Product.is_active == true())
            .values(stock=Product.stock - quantity, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        taken = result.rowcount == 1
        if taken:
            self._invalidate(PRODUCT_LISTS, product_collection(product_id))
            self.request.notify(ProductChanged(product_id=int(product_id), changed=frozenset({"stock"})))
        return taken

    def take_stock_many(self, quantities: Mapping[int, int]) -> set[int]:
        """Take every product's quantity, or none of them; the ids that fell short (empty when all taken).

        One conditional UPDATE for all the products, so a checkout makes the same number of queries
        whatever its number of lines; race-free like `take_stock`. When some product is short, the
        units taken from the others are put back at once, in the same transaction.
        """
        wanted = {int(product_id): self._positive_quantity(quantity) for product_id, quantity in quantities.items()}
        if not wanted:
            return set()
        needed = case(wanted, value=Product.id)
        taken = set(self.session.execute(
            update(Product)
            .where(Product.id.in_(wanted), Product.stock >= needed, Product.is_active == true())
            .values(stock=Product.stock - needed, updated_at=utcnow())
            .returning(Product.id)
            .execution_options(synchronize_session=False)
        ).scalars())
        short = set(wanted) - taken
        if short and taken:
            given_back = case({product_id: wanted[product_id] for product_id in taken}, value=Product.id)
            self.session.execute(
                update(Product).where(Product.id.in_(taken)).values(stock=Product.stock + given_back)
                .execution_options(synchronize_session=False)
            )
        if not short:
            self._invalidate(PRODUCT_LISTS, *(product_collection(product_id) for product_id in wanted))
            for product_id in sorted(wanted):
                self.request.notify(ProductChanged(product_id=product_id, changed=frozenset({"stock"})))
        return short

    def return_stock(self, product_id: int, quantity: int) -> None:
        """Put back units taken earlier (a cancelled order), active or not; a deleted product is ignored."""
        quantity = self._positive_quantity(quantity)
        result = self.session.execute(
            update(Product)
            .where(Product.id == product_id)
            # Capped, so no amount of returns can overflow the column.
            .values(stock=case((Product.stock > STOCK_MAX - quantity, STOCK_MAX), else_=Product.stock + quantity),
                    updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:
            self._invalidate(PRODUCT_LISTS, product_collection(product_id))
            self.request.notify(ProductChanged(product_id=int(product_id), changed=frozenset({"stock"})))

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

    def product_query(self, filters: ProductFilters):
        """The ordered select of active products matching `filters` (pages are cut by the caller)."""
        statement = select(Product).where(Product.is_active == true())
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
        terms = search_terms(filters.search or "")
        if terms:
            statement = statement.where(self._search_condition(terms))
        column = getattr(Product, filters.ordering.lstrip("-")) if filters.ordering else Product.id
        order_keys = [column, Product.id] if filters.ordering else [Product.id]
        if terms and self._dialect() == "postgresql":
            # Sort the (few) matches the GIN index finds, rather than let the planner walk an
            # ordered index and test every row it meets against the search: when the search or
            # another filter leaves few rows, that walk reads the whole table to fill a page.
            order_keys = [func.coalesce(key, key) for key in order_keys]
        descending = bool(filters.ordering and filters.ordering.startswith("-"))
        # The id tie-break goes the same way as the sort, so one index serves the whole ORDER BY.
        return statement.order_by(*(key.desc() if descending else key.asc() for key in order_keys))

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _search_condition(self, terms: list[str]):
        if self._dialect() == "postgresql":
            # Every word, as the prefix of a word of the name or description.
            query = " & ".join(f"{term}:*" for term in terms)
            return SEARCH_VECTOR.op("@@")(func.to_tsquery(literal_column("'simple'"), query))
        # SQLite: LIKE for the same meaning, a word's beginning (at the start of the text or after a
        # space), case-insensitively; terms are letters and digits only, so nothing needs escaping.
        return and_(*(or_(*(condition for column in (Product.name, Product.description)
                             for condition in (column.ilike(f"{term}%"), column.ilike(f"% {term}%"))))
                      for term in terms))

    def list_products(self, filters: ProductFilters, page: int, page_size: int,
                      remembered_count=None) -> Page:
        # The count reads at most COUNT_CAP + 1 matches (shopcore.pagination), whatever the catalog's size.
        return fetch_page(self.session, self.product_query(filters), page, page_size, remembered_count)

    def product_detail(self, product_id: int) -> dict:
        """The product, active or not (the view decides who may see an inactive one)."""
        return product_body(self._product(product_id))

    def add_product(self, fields: Mapping[str, Any]) -> dict:
        return product_body(self._create_product(fields))

    def update_product(self, product_id: int, fields: Mapping[str, Any]) -> dict:
        product = self._product(product_id)
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
        if "price" in fields:
            product.price = parse_price(fields["price"])
        if "stock" in fields:
            product.stock = parse_stock(fields["stock"])
        if "category" in fields:
            product.category_id = self._existing_category(fields["category"])
        if "is_active" in fields:
            product.is_active = parse_bool(fields["is_active"], "is_active")
        self._flush("slug")
        self._invalidate(PRODUCT_LISTS, product_collection(product.id))
        after = field_values(product, PRODUCT_FIELDS)
        changed = changed_fields(before, after)
        if changed:
            self.request.notify(ProductChanged(product_id=product.id, changed=changed))
            self.request.audit(PRODUCT_UPDATED, PRODUCT_OBJECT, product.id, before=before, after=after)
        if "is_active" in changed and not product.is_active:
            self.request.notify(ProductDeactivated(product_id=product.id))
        return product_body(product)

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
        self.session.delete(product)
        self.session.flush()
        self.request.notify(ProductDeleted(product_id=product_id, slug=slug))
        return "deleted"

    def _product(self, product_id: int) -> Product:
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
        if "price" not in fields or fields["price"] is None:
            raise InvalidInput("price", "This field is required.")
        price = parse_price(fields["price"])
        stock = parse_stock(fields.get("stock", 0) if fields.get("stock") is not None else 0)
        category = self._existing_category(fields.get("category"))
        description = parse_text(fields.get("description") or "", "description", DESCRIPTION_MAX, required=False)
        is_active = parse_bool(fields.get("is_active", True), "is_active")
        if fields.get("slug") is not None:
            slug = parse_slug(fields["slug"])
            self._check_slug_free(Product, slug)
        else:
            slug = self._free_slug(Product, name)
        now = utcnow()
        product = Product(name=name, slug=slug, description=description, price=price, stock=stock,
                          category_id=category, is_active=is_active, created_at=now, updated_at=now)
        self.session.add(product)
        self._flush("slug")
        self._invalidate(PRODUCT_LISTS, product_collection(product.id))
        self.request.notify(ProductCreated(product_id=product.id, name=product.name, slug=product.slug,
                                           price=product.price, stock=product.stock, category_id=product.category_id,
                                           is_active=product.is_active))
        self.request.audit(PRODUCT_CREATED, PRODUCT_OBJECT, product.id, before=None,
                           after=field_values(product, PRODUCT_FIELDS))
        return product

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
