"""Tax rules: classes and rates an admin keeps, each product's class, and the quote the cart asks for.

How a cart is taxed (the `cart.tax_quote` implementation, `TaxService.quote`):

- The destination is the shipping address's country and region; for a free-text address, the
  shop's `shopcore.tax.default_country` (when it has none, checkout is refused with a 400 asking
  for an address with a country).
- Each product line is taxed at the rate of its product's class (the standard class when none is
  set); shipping and fees at the rate of the `shopcore.tax.shipping_class` class. A rate for the
  destination's region replaces the country's rate for that class; a class with no rate there is
  not taxed there (no line).
- Per line, rounded half-up to the cent (`shopcore.money.round_money`): with prices entered without
  tax (`shopcore.tax.prices_include_tax = false`) the tax is `amount * rate / 100` on top; with
  prices entered with tax it is the part already inside, `amount * rate / (100 + rate)`. The order's
  tax is the sum of the rounded lines, so every line shown adds up to the total shown.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from shopcore.accounts.addresses import check_country
from shopcore.db import upsert
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.money import round_money
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body
from shopcore_cart.api import Destination, TaxLine, TaxQuery, TaxQuote
from shopcore_catalog.api import CatalogService

from shopcore_tax.models import CODE_MAX, NAME_MAX, STANDARD, ProductTaxClass, TaxClass, TaxRate

SETTINGS_KEY = "shopcore_tax.settings"
PRODUCT_BODY = "catalog.product"
CLASS_FIELD = "tax_class"
HUNDRED = Decimal("100")
CODE_PATTERN = re.compile(rf"^[a-z0-9_-]{{1,{CODE_MAX}}}$")
RATE_PATTERN = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3})?$")
# Admin actions recorded in the audit log (declared in the plugin's includeme): classes, rates and the classes
# of products, each before and after as its body shows it.
CLASS_OBJECT, RATE_OBJECT, PRODUCT_CLASS_OBJECT = "tax.class", "tax.rate", "tax.product_class"
CLASS_CREATED, CLASS_UPDATED, CLASS_DELETED = "tax.class.create", "tax.class.update", "tax.class.delete"
RATE_CREATED, RATE_UPDATED, RATE_DELETED = "tax.rate.create", "tax.rate.update", "tax.rate.delete"
PRODUCT_CLASS_SET = "tax.product_class.set"
AUDITED_ACTIONS = {
    CLASS_CREATED: "A tax class was made", CLASS_UPDATED: "A tax class was renamed",
    CLASS_DELETED: "A tax class was deleted (its products fall back to the standard class)",
    RATE_CREATED: "A tax rate was made", RATE_UPDATED: "A tax rate changed", RATE_DELETED: "A tax rate was deleted",
    PRODUCT_CLASS_SET: "A product's tax class was set",
}
NO_DESTINATION = ("shipping_address", "Give the shipping address as an address with a country (or "
                                      "shipping_address_id): tax is charged by the destination's country.")


@dataclass(frozen=True)
class TaxSettings:
    prices_include_tax: bool
    default_country: str
    shipping_class: str


def line_tax(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    """The tax of one line, rounded half-up to the cent: on top of `amount`, or the part inside it."""
    if included:
        return round_money(amount * rate / (HUNDRED + rate))
    return round_money(amount * rate / HUNDRED)


def rate_text(rate: Decimal) -> str:
    return f"{rate:.3f}"


def class_body(tax_class: TaxClass) -> dict:
    return {"id": tax_class.id, "code": tax_class.code, "name": tax_class.name}


def rate_body(rate: TaxRate, code: str) -> dict:
    return {"id": rate.id, "tax_class": code, "country": rate.country, "region": rate.region,
            "rate": rate_text(rate.rate), "label": rate.label}


def audited(body: dict) -> dict:
    """A class's or rate's body as the audit log keeps it (its id is the entry's object id)."""
    return {name: value for name, value in body.items() if name != "id"}


def parse_rate(value: Any) -> Decimal:
    if not isinstance(value, str) or not RATE_PATTERN.match(value):
        raise InvalidInput("rate", "A percentage with at most three decimals, as a string (\"19\", \"7.7\").")
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise InvalidInput("rate", "Not a number.") from None
    if rate > HUNDRED:
        raise InvalidInput("rate", "Ensure this value is less than or equal to 100.")
    return rate


def _text(field: str, value: Any, limit: int, *, blank: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "Not a valid string.")
    value = value.strip()
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise InvalidInput(field, "Control characters are not allowed.")
    if not value and not blank:
        raise InvalidInput(field, "This field may not be blank.")
    if len(value) > limit:
        raise InvalidInput(field, f"Ensure this field has no more than {limit} characters.")
    return value


class TaxService:
    """The plugin's rules, for one request (its session and transaction)."""

    def __init__(self, request):
        self.request = request
        self.session = request.dbsession

    @property
    def settings(self) -> TaxSettings:
        return self.request.registry[SETTINGS_KEY]

    # --- classes ---------------------------------------------------------------------------------------

    def list_classes(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
                     params: Mapping[str, Any] | None = None) -> dict:
        found = fetch_page(self.session, select(TaxClass).order_by(TaxClass.id), page, page_size)
        return page_body(found, [class_body(row) for row in found.rows], base_url, params or {})

    def _class(self, class_id: int) -> TaxClass:
        row = self.session.get(TaxClass, class_id)
        if row is None:
            raise NotFound("Tax class not found.")
        return row

    def class_by_code(self, code: Any, field: str = "tax_class") -> TaxClass:
        # Checked before it reaches the database (a null byte is an error there, not a miss).
        known = isinstance(code, str) and CODE_PATTERN.match(code)
        row = self.session.scalar(select(TaxClass).where(TaxClass.code == code)) if known else None
        if row is None:
            raise InvalidInput(field, f"No tax class {code!r}.")
        return row

    def get_class(self, class_id: int) -> dict:
        return class_body(self._class(class_id))

    def create_class(self, fields: Mapping[str, Any]) -> dict:
        code = _text("code", fields.get("code"), CODE_MAX)
        if not CODE_PATTERN.match(code):
            raise InvalidInput("code", "Lower-case letters, digits, '-' and '_' only.")
        row = TaxClass(code=code, name=_text("name", fields.get("name"), NAME_MAX))
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict(f"A tax class {code!r} exists already.", [{"field": "code", "message": "Taken."}]) from None
        self.request.audit(CLASS_CREATED, CLASS_OBJECT, row.id, before=None, after=audited(class_body(row)))
        return class_body(row)

    def update_class(self, class_id: int, changes: Mapping[str, Any]) -> dict:
        row = self._class(class_id)
        before = audited(class_body(row))
        if "name" in changes:
            row.name = _text("name", changes["name"], NAME_MAX)
        self.session.flush()
        if audited(class_body(row)) != before:
            self.request.audit(CLASS_UPDATED, CLASS_OBJECT, row.id, before=before, after=audited(class_body(row)))
        return class_body(row)

    def delete_class(self, class_id: int) -> None:
        row = self._class(class_id)
        if row.code in (STANDARD, self.settings.shipping_class):
            raise Conflict(f"The {row.code!r} class is the one products without a class (or shipping) are taxed "
                           f"by; it cannot be deleted.")
        # Its products fall back to the standard class: their cached bodies must say so.
        products = self.session.scalars(select(ProductTaxClass.product_id)
                                        .where(ProductTaxClass.tax_class_id == row.id)).all()
        self.request.audit(CLASS_DELETED, CLASS_OBJECT, row.id, before={**audited(class_body(row)),
                                                                        "products": sorted(products)}, after=None)
        self.session.delete(row)
        self.session.flush()
        if products:
            self.request.invalidate_body(PRODUCT_BODY, list(products))

    # --- rates -----------------------------------------------------------------------------------------

    def list_rates(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
                   params: Mapping[str, Any] | None = None, country: str | None = None) -> dict:
        statement = select(TaxRate).order_by(TaxRate.id)
        if country is not None:
            statement = statement.where(TaxRate.country == check_country(country))
        found = fetch_page(self.session, statement, page, page_size)
        codes = dict(self.session.execute(select(TaxClass.id, TaxClass.code).where(
            TaxClass.id.in_({rate.tax_class_id for rate in found.rows}))).all()) if found.rows else {}
        return page_body(found, [rate_body(rate, codes[rate.tax_class_id]) for rate in found.rows], base_url,
                         params or {})

    def _rate(self, rate_id: int) -> tuple[TaxRate, str]:
        row = self.session.execute(select(TaxRate, TaxClass.code).join(TaxClass, TaxClass.id == TaxRate.tax_class_id)
                                   .where(TaxRate.id == rate_id)).first()
        if row is None:
            raise NotFound("Tax rate not found.")
        return row[0], row[1]

    def get_rate(self, rate_id: int) -> dict:
        return rate_body(*self._rate(rate_id))

    def create_rate(self, fields: Mapping[str, Any]) -> dict:
        for required in ("country", "rate"):
            if required not in fields:
                raise InvalidInput(required, "This field is required.")
        tax_class = self.class_by_code(fields.get("tax_class", STANDARD))
        country = check_country(fields["country"])
        row = TaxRate(tax_class_id=tax_class.id, country=country, region=self._region(country, fields.get("region", "")),
                      rate=parse_rate(fields["rate"]), label=_text("label", fields.get("label", ""), NAME_MAX,
                                                                   blank=True))
        self.session.add(row)
        self._flush_rate(row)
        self.request.audit(RATE_CREATED, RATE_OBJECT, row.id, before=None, after=audited(rate_body(row, tax_class.code)))
        return rate_body(row, tax_class.code)

    def update_rate(self, rate_id: int, changes: Mapping[str, Any]) -> dict:
        row, code = self._rate(rate_id)
        before = audited(rate_body(row, code))
        if "tax_class" in changes:
            tax_class = self.class_by_code(changes["tax_class"])
            row.tax_class_id, code = tax_class.id, tax_class.code
        if "country" in changes:
            row.country = check_country(changes["country"])
        if "region" in changes or "country" in changes:
            row.region = self._region(row.country, changes.get("region", row.region))
        if "rate" in changes:
            row.rate = parse_rate(changes["rate"])
        if "label" in changes:
            row.label = _text("label", changes["label"], NAME_MAX, blank=True)
        self._flush_rate(row)
        if audited(rate_body(row, code)) != before:
            self.request.audit(RATE_UPDATED, RATE_OBJECT, row.id, before=before, after=audited(rate_body(row, code)))
        return rate_body(row, code)

    def delete_rate(self, rate_id: int) -> None:
        row, code = self._rate(rate_id)
        self.request.audit(RATE_DELETED, RATE_OBJECT, row.id, before=audited(rate_body(row, code)), after=None)
        self.session.delete(row)
        self.session.flush()

    @staticmethod
    def _region(country: str, region: Any) -> str:
        from shopcore.accounts.addresses import normalize_region

        return normalize_region(country, _text("region", region, 50, blank=True))

    def _flush_rate(self, row: TaxRate) -> None:
        try:
            self.session.flush()
        except IntegrityError:
            message = "This class has a rate for this country and region already; change that one."
            raise Conflict(message, [{"field": "region", "message": message}]) from None

    # --- product classes -------------------------------------------------------------------------------

    def _product_exists(self, product_id: int) -> None:
        if self.request.find_service(CatalogService).get_product(product_id) is None:
            raise NotFound("Product not found.")

    def classes_of(self, product_ids) -> dict[int, str]:
        ids = list(product_ids)
        if not ids:
            return {}
        return dict(self.session.execute(
            select(ProductTaxClass.product_id, TaxClass.code).join(TaxClass, TaxClass.id == ProductTaxClass.tax_class_id)
            .where(ProductTaxClass.product_id.in_(ids))).all())

    def get_product_class(self, product_id: int) -> dict:
        self._product_exists(product_id)
        return {"product": product_id, "tax_class": self.classes_of([product_id]).get(product_id, STANDARD)}

    def set_product_class(self, product_id: int, code: str | None) -> dict:
        self._product_exists(product_id)
        before = self.classes_of([product_id]).get(product_id, STANDARD)
        if code is None or code == STANDARD:
            self.session.execute(delete(ProductTaxClass).where(ProductTaxClass.product_id == product_id))
        else:
            tax_class = self.class_by_code(code)
            upsert(self.session, ProductTaxClass, {"product_id": product_id, "tax_class_id": tax_class.id},
                   conflict=[ProductTaxClass.product_id], update=["tax_class_id"])
        self.request.invalidate_body(PRODUCT_BODY, [product_id])
        if before != (code or STANDARD):
            self.request.audit(PRODUCT_CLASS_SET, PRODUCT_CLASS_OBJECT, product_id, before={"tax_class": before},
                               after={"tax_class": code or STANDARD})
        return {"product": product_id, "tax_class": code or STANDARD}

    # --- quotes ----------------------------------------------------------------------------------------

    def destination(self, query: TaxQuery) -> Destination | None:
        if query.destination is not None:
            return query.destination
        return Destination(self.settings.default_country) if self.settings.default_country else None

    def rates_at(self, destination: Destination) -> dict[str, tuple[Decimal, str]]:
        """Class code -> (rate, label) at the destination, a region's rate over its country's."""
        rows = self.session.execute(
            select(TaxClass.code, TaxClass.name, TaxRate.rate, TaxRate.label, TaxRate.region)
            .join(TaxClass, TaxClass.id == TaxRate.tax_class_id)
            .where(TaxRate.country == destination.country,
                   or_(TaxRate.region == "", TaxRate.region == destination.region))
            .order_by(TaxRate.region)).all()
        rates: dict[str, tuple[Decimal, str]] = {}
        for code, name, rate, label, _region in rows:  # "" sorts first: the region's rate comes last and wins
            rates[code] = (rate, label or f"{name} {rate.normalize():f}%")
        return rates

    def quote(self, query: TaxQuery) -> TaxQuote:
        destination = self.destination(query)
        if destination is None:
            return TaxQuote(missing=NO_DESTINATION)
        rates = self.rates_at(destination)
        if not rates:
            return TaxQuote()
        classes = self.classes_of(line.product_id for line in query.lines if line.product_id is not None)
        included = self.settings.prices_include_tax
        lines = []
        for line in query.lines:
            code = classes.get(line.product_id, STANDARD) if line.product_id is not None else self.settings.shipping_class
            if code not in rates:
                continue
            rate, label = rates[code]
            lines.append(TaxLine(key=line.key, label=label, rate=rate, amount=line_tax(line.amount, rate, included),
                                 included=included))
        return TaxQuote(lines=tuple(lines))


def tax_quote(request, query: TaxQuery) -> TaxQuote:
    """The `cart.tax_quote` implementation."""
    return TaxService(request).quote(query)


def product_tax_classes(request, ids: list[int]) -> dict[int, dict]:
    """The catalog's product body gains `tax_class` (the class code; `standard` when none is set)."""
    classes = TaxService(request).classes_of(ids)
    return {product_id: {CLASS_FIELD: classes.get(product_id, STANDARD)} for product_id in ids}
