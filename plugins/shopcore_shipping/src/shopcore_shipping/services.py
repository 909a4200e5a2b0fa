"""Shipping rules: zones and methods an admin keeps, product weights, and the quote the cart asks for.

`ShippingService` is this plugin's own (its views and its `cart.shipping_quote` implementation use
it); other plugins see shipping only through the cart's point. How a method is priced for a cart:

- `flat`: its `price`;
- `free_above`: its `price`, or nothing once the goods after discounts reach `free_above`;
- `weight`: the price of the first band (by `up_to_grams`) the cart's weight fits in; a cart heavier
  than the last band is not offered the method. A product without a weight weighs 0 g.

A destination's methods are the active ones of the zone holding its country (a country is in one
zone at most). For a free-text address (no destination) only the default method is offered: a
shop that wants to take such orders marks one method `is_default`.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Mapping

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from shopcore.accounts.addresses import check_country
from shopcore.db import upsert
from shopcore.clock import utcnow
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.money import ZERO, round_money, to_money
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body
from shopcore_cart.api import ShippingOption, ShippingQuery
from shopcore_catalog.api import CatalogService

from shopcore_shipping.models import (FLAT, FREE_ABOVE, NAME_MAX, RULES, WEIGHT, ProductWeight, ShippingMethod,
                                      ShippingZone, WeightBand, ZoneCountry)

PRODUCT_BODY = "catalog.product"
WEIGHT_FIELD = "shipping_weight_grams"
MAX_WEIGHT_GRAMS = 10_000_000
MAX_BANDS = 50
MAX_COUNTRIES = 300
METHOD_FIELDS = ("zone", "name", "rule", "price", "free_above", "weight_bands", "is_active", "is_default")

# Admin actions recorded in the audit log (declared in the plugin's includeme): zones, methods and product
# weights, each before and after as its body shows it.
ZONE_OBJECT, METHOD_OBJECT, WEIGHT_OBJECT = "shipping.zone", "shipping.method", "shipping.product_weight"
ZONE_CREATED, ZONE_UPDATED, ZONE_DELETED = "shipping.zone.create", "shipping.zone.update", "shipping.zone.delete"
METHOD_CREATED, METHOD_UPDATED, METHOD_DELETED = ("shipping.method.create", "shipping.method.update",
                                                  "shipping.method.delete")
WEIGHT_SET = "shipping.product_weight.set"
AUDITED_ACTIONS = {
    ZONE_CREATED: "A shipping zone was made", ZONE_UPDATED: "A shipping zone's name or countries changed",
    ZONE_DELETED: "A shipping zone was deleted, with its methods",
    METHOD_CREATED: "A shipping method was made", METHOD_UPDATED: "A shipping method's price rule or state changed",
    METHOD_DELETED: "A shipping method was deleted",
    WEIGHT_SET: "A product's shipping weight was set or cleared",
}


def audited(body: dict) -> dict:
    """A zone's or method's body as the audit log keeps it (its id is the entry's object id)."""
    return {name: value for name, value in body.items() if name != "id"}


def zone_body(zone: ShippingZone) -> dict:
    return {"id": zone.id, "name": zone.name, "countries": [row.country for row in zone.countries]}


def method_body(method: ShippingMethod) -> dict:
    return {"id": method.id, "zone": method.zone_id, "name": method.name, "rule": method.rule,
            "price": round_money(method.price),
            "free_above": None if method.free_above is None else round_money(method.free_above),
            "weight_bands": [{"up_to_grams": band.up_to_grams, "price": round_money(band.price)}
                             for band in method.bands],
            "is_active": method.is_active, "is_default": method.is_default}


def method_price(method: ShippingMethod, goods_total, weight_grams: int):
    """The method's price for a cart of these goods and weight, or None when the method cannot take it."""
    if method.rule == FLAT:
        return round_money(method.price)
    if method.rule == FREE_ABOVE:
        return ZERO if goods_total >= method.free_above else round_money(method.price)
    band = next((band for band in method.bands if weight_grams <= band.up_to_grams), None)
    return None if band is None else round_money(band.price)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("name", "This field may not be blank.")
    value = value.strip()
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise InvalidInput("name", "Control characters are not allowed.")
    if len(value) > NAME_MAX:
        raise InvalidInput("name", f"Ensure this field has no more than {NAME_MAX} characters.")
    return value


def _countries(values: Any) -> list[str]:
    if not isinstance(values, list) or len(values) > MAX_COUNTRIES:
        raise InvalidInput("countries", f"A list of at most {MAX_COUNTRIES} country codes is required.")
    codes = [check_country(value, "countries") for value in values]
    if len(set(codes)) != len(codes):
        raise InvalidInput("countries", "A country is listed twice.")
    return sorted(codes)


def _bands(values: Any) -> list[tuple[int, Any]]:
    if not isinstance(values, list) or not values or len(values) > MAX_BANDS:
        raise InvalidInput("weight_bands", f"A weight rule needs 1 to {MAX_BANDS} bands.")
    bands = []
    for index, band in enumerate(values):
        up_to = band.get("up_to_grams") if isinstance(band, Mapping) else None
        if isinstance(up_to, bool) or not isinstance(up_to, int) or not 1 <= up_to <= MAX_WEIGHT_GRAMS:
            raise InvalidInput(f"weight_bands.{index}.up_to_grams", f"A whole number from 1 to {MAX_WEIGHT_GRAMS}.")
        bands.append((up_to, to_money(band.get("price"), f"weight_bands.{index}.price")))
    bands.sort()
    if len({up_to for up_to, _price in bands}) != len(bands):
        raise InvalidInput("weight_bands", "Two bands end at the same weight.")
    return bands


class ShippingService:
    """The plugin's rules, for one request (its session and transaction)."""

    def __init__(self, request):
        self.request = request
        self.session = request.dbsession

    # --- zones -----------------------------------------------------------------------------------------

    def list_zones(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
                   params: Mapping[str, Any] | None = None) -> dict:
        found = fetch_page(self.session, select(ShippingZone).order_by(ShippingZone.id), page, page_size)
        return page_body(found, [zone_body(zone) for zone in found.rows], base_url, params or {})

    def _zone(self, zone_id: int, field: str | None = None) -> ShippingZone:
        zone = self.session.get(ShippingZone, zone_id)
        if zone is None:
            if field:
                raise InvalidInput(field, f"Shipping zone {zone_id} does not exist.")
            raise NotFound("Shipping zone not found.")
        return zone

    def get_zone(self, zone_id: int) -> dict:
        return zone_body(self._zone(zone_id))

    def create_zone(self, fields: Mapping[str, Any]) -> dict:
        zone = ShippingZone(name=_name(fields.get("name")), created_at=utcnow())
        self.session.add(zone)
        self.session.flush()
        self._set_countries(zone, _countries(fields.get("countries", [])))
        self.request.audit(ZONE_CREATED, ZONE_OBJECT, zone.id, before=None, after=audited(zone_body(zone)))
        return zone_body(zone)

    def update_zone(self, zone_id: int, changes: Mapping[str, Any]) -> dict:
        zone = self._zone(zone_id)
        before = audited(zone_body(zone))
        if "name" in changes:
            zone.name = _name(changes["name"])
        if "countries" in changes:
            self._set_countries(zone, _countries(changes["countries"]))
        self.session.flush()
        if audited(zone_body(zone)) != before:
            self.request.audit(ZONE_UPDATED, ZONE_OBJECT, zone.id, before=before, after=audited(zone_body(zone)))
        return zone_body(zone)

    def delete_zone(self, zone_id: int) -> None:
        zone = self._zone(zone_id)
        methods = list(self.session.scalars(select(ShippingMethod.id).where(ShippingMethod.zone_id == zone.id)
                                            .order_by(ShippingMethod.id)))
        self.request.audit(ZONE_DELETED, ZONE_OBJECT, zone.id, before={**audited(zone_body(zone)), "methods": methods},
                           after=None)
        self.session.delete(zone)
        self.session.flush()

    def _set_countries(self, zone: ShippingZone, countries: list[str]) -> None:
        taken = self.session.execute(
            select(ZoneCountry.country, ShippingZone.name).join(ShippingZone, ShippingZone.id == ZoneCountry.zone_id)
            .where(ZoneCountry.country.in_(countries), ZoneCountry.zone_id != zone.id)).first()
        if taken is not None:
            message = f"{taken.country} is already in zone {taken.name!r}; a country belongs to one zone."
            raise Conflict(message, [{"field": "countries", "message": message}])
        zone.countries = [row for row in zone.countries if row.country in countries]
        have = {row.country for row in zone.countries}
        zone.countries.extend(ZoneCountry(country=country) for country in countries if country not in have)
        try:
            self.session.flush()
        except IntegrityError:  # another zone took one of them at the same moment
            raise Conflict("Another zone took one of these countries at the same time; try again.") from None

    # --- methods ---------------------------------------------------------------------------------------

    def list_methods(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
                     params: Mapping[str, Any] | None = None, zone: int | None = None) -> dict:
        statement = select(ShippingMethod).order_by(ShippingMethod.id)
        if zone is not None:
            statement = statement.where(ShippingMethod.zone_id == zone)
        found = fetch_page(self.session, statement, page, page_size)
        return page_body(found, [method_body(method) for method in found.rows], base_url, params or {})

    def _method(self, method_id: int) -> ShippingMethod:
        method = self.session.get(ShippingMethod, method_id)
        if method is None:
            raise NotFound("Shipping method not found.")
        return method

    def get_method(self, method_id: int) -> dict:
        return method_body(self._method(method_id))

    def create_method(self, fields: Mapping[str, Any]) -> dict:
        for required in ("zone", "name", "rule"):
            if required not in fields:
                raise InvalidInput(required, "This field is required.")
        now = utcnow()
        method = ShippingMethod(created_at=now, updated_at=now, is_active=True, is_default=False, price=ZERO)
        self._apply(method, {"is_active": True, "is_default": False, **fields}, creating=True)
        self.request.audit(METHOD_CREATED, METHOD_OBJECT, method.id, before=None, after=audited(method_body(method)))
        return method_body(method)

    def update_method(self, method_id: int, changes: Mapping[str, Any]) -> dict:
        method = self._method(method_id)
        before = audited(method_body(method))
        self._apply(method, changes, creating=False)
        if audited(method_body(method)) != before:
            self.request.audit(METHOD_UPDATED, METHOD_OBJECT, method.id, before=before,
                               after=audited(method_body(method)))
        return method_body(method)

    def delete_method(self, method_id: int) -> None:
        method = self._method(method_id)
        self.request.audit(METHOD_DELETED, METHOD_OBJECT, method.id, before=audited(method_body(method)), after=None)
        self.session.delete(method)
        self.session.flush()

    def _apply(self, method: ShippingMethod, changes: Mapping[str, Any], *, creating: bool) -> None:
        """Check the method as it will be (fields changed over fields kept) and write it."""
        unknown = set(changes) - set(METHOD_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "Unknown field.")
        previous = method.rule
        rule = changes.get("rule", previous)
        if rule not in RULES:
            raise InvalidInput("rule", f"Must be one of: {', '.join(RULES)}.")
        if "zone" in changes:
            method.zone_id = self._zone(changes["zone"], field="zone").id
        if "name" in changes:
            method.name = _name(changes["name"])
        method.rule = rule
        if "price" in changes:
            method.price = to_money(changes["price"], "price")
        elif rule != WEIGHT and (creating or previous == WEIGHT):
            raise InvalidInput("price", "This field is required for this rule.")
        if "free_above" in changes:
            method.free_above = None if changes["free_above"] is None else to_money(changes["free_above"],
                                                                                    "free_above")
        if rule == FREE_ABOVE and method.free_above is None:
            raise InvalidInput("free_above", "A free-above rule needs its threshold.")
        if rule != FREE_ABOVE:
            if changes.get("free_above") is not None:
                raise InvalidInput("free_above", "Only a free-above rule has a threshold.")
            method.free_above = None
        if rule == WEIGHT:
            if "weight_bands" in changes or creating or previous != WEIGHT:
                bands = _bands(changes.get("weight_bands"))
                method.bands = [WeightBand(up_to_grams=up_to, price=price) for up_to, price in bands]
            method.price = ZERO
        elif changes.get("weight_bands"):
            raise InvalidInput("weight_bands", "Only a weight rule has bands.")
        else:
            method.bands = []
        for flag in ("is_active", "is_default"):
            if flag in changes:
                if not isinstance(changes[flag], bool):
                    raise InvalidInput(flag, "Must be true or false.")
                setattr(method, flag, changes[flag])
        if method.is_default:
            # One default shop-wide: choosing another moves the flag (the partial unique index decides races).
            statement = update(ShippingMethod).where(ShippingMethod.is_default.is_(True))
            if method.id is not None:
                statement = statement.where(ShippingMethod.id != method.id)
            # Before this method's own flag is flushed: the index would refuse two defaults for a moment.
            with self.session.no_autoflush:
                self.session.execute(statement.values(is_default=False)
                                     .execution_options(synchronize_session="fetch"))
        method.updated_at = utcnow()
        self.session.add(method)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict("Another method was made the default at the same time; try again.") from None

    # --- product weights -------------------------------------------------------------------------------

    def _product_exists(self, product_id: int) -> None:
        if self.request.find_service(CatalogService).get_product(product_id) is None:
            raise NotFound("Product not found.")

    def get_weight(self, product_id: int) -> dict:
        self._product_exists(product_id)
        weight = self.session.get(ProductWeight, product_id)
        return {"product": product_id, "weight_grams": None if weight is None else weight.weight_grams}

    def set_weight(self, product_id: int, weight_grams: int | None) -> dict:
        self._product_exists(product_id)
        before = self.session.scalar(select(ProductWeight.weight_grams).where(ProductWeight.product_id == product_id))
        if weight_grams is None:
            self.session.execute(delete(ProductWeight).where(ProductWeight.product_id == product_id))
        else:
            upsert(self.session, ProductWeight, {"product_id": product_id, "weight_grams": weight_grams},
                   conflict=[ProductWeight.product_id], update=["weight_grams"])
        self.request.invalidate_body(PRODUCT_BODY, [product_id])
        if before != weight_grams:
            self.request.audit(WEIGHT_SET, WEIGHT_OBJECT, product_id, before={"weight_grams": before},
                               after={"weight_grams": weight_grams})
        return {"product": product_id, "weight_grams": weight_grams}

    def weights(self, product_ids) -> dict[int, int]:
        ids = list(product_ids)
        if not ids:
            return {}
        return dict(self.session.execute(select(ProductWeight.product_id, ProductWeight.weight_grams)
                                         .where(ProductWeight.product_id.in_(ids))).all())

    # --- quotes ----------------------------------------------------------------------------------------

    def quote(self, query: ShippingQuery) -> list[ShippingOption]:
        """The methods that can ship the cart to the destination, priced, cheapest first."""
        statement = select(ShippingMethod).where(ShippingMethod.is_active.is_(True))
        if query.destination is None:
            statement = statement.where(ShippingMethod.is_default.is_(True))
        else:
            zone = select(ZoneCountry.zone_id).where(ZoneCountry.country == query.destination.country)
            statement = statement.where(ShippingMethod.zone_id.in_(zone.scalar_subquery()))
        methods = self.session.scalars(statement.order_by(ShippingMethod.id)).all()
        if not methods:
            return []
        weights = self.weights(line.product_id for line in query.cart.lines) \
            if any(method.rule == WEIGHT for method in methods) else {}
        weight = sum(weights.get(line.product_id, 0) * line.quantity for line in query.cart.lines)
        options = []
        for method in methods:
            price = method_price(method, query.goods_total, weight)
            if price is not None:
                options.append(ShippingOption(method_id=method.id, name=method.name, price=price,
                                              is_default=method.is_default))
        return sorted(options, key=lambda option: (option.price, option.method_id))

    def count_methods(self) -> int:
        return self.session.scalar(select(func.count()).select_from(ShippingMethod))


def shipping_quote(request, query: ShippingQuery) -> list[ShippingOption]:
    """The `cart.shipping_quote` implementation."""
    return ShippingService(request).quote(query)


def product_weights(request, ids: list[int]) -> dict[int, dict]:
    """The catalog's product body gains `shipping_weight_grams` (null when none is set)."""
    weights = ShippingService(request).weights(ids)
    return {product_id: {WEIGHT_FIELD: weights.get(product_id)} for product_id in ids}
