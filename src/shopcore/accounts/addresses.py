"""The address book: a customer's postal addresses, checked once here for every place that takes one.

A plugin that takes an address (the orders plugin's checkout) uses this module, never the table:

    from shopcore.accounts.addresses import address_from_input, get_address

    address = get_address(request, user_id, address_id)    # the owner's address, else NotFound
    address = address_from_input(body["shipping_address"])   # an address object given inline, checked

Both give an `Address` (frozen): its fields, `as_json()` (the API body without id and flags) and
`postal_label()` (one line of text, for the order's `shipping_address` and mails).

Checks, the same for the book and for inline addresses:

- `name`, `line1`, `city` are required; no field holds control characters;
- `country` is an ISO 3166-1 alpha-2 code known to pycountry (`de` is read as `DE`);
- `region` is read as an ISO 3166-2 subdivision of the country when it names one, by code (`CA`,
  `US-CA`) or by name (`California`), and then kept as the code's second part (`CA`), so tax rates per
  region can match it; anything else is kept as given (not every country's regions are in ISO 3166-2);
- `phone` is parsed by phonenumbers in the address's country (or with a `+` prefix, in any) and must
  be a valid number; it is kept in E.164 form (`+4930901820`).

A customer has at most `MAX_ADDRESSES` addresses; at most one is the default shipping address and one
the default billing address (setting a default takes the flag off the previous one, and a partial
unique index makes two defaults impossible even for racing requests).

`addresses_of(request, user_id)` lists a customer's addresses as bodies, for a data export.
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import phonenumbers
import pycountry
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from shopcore.accounts.models import Address as AddressRow
from shopcore.clock import utcnow
from shopcore.errors import Conflict, InvalidInput, NotFound

MAX_ADDRESSES = 50
# Field -> the longest value kept; together they fit the orders' 500-character address text.
LIMITS = {"name": 100, "line1": 100, "line2": 100, "city": 60, "region": 50, "postal_code": 16, "country": 2,
          "phone": 32}
REQUIRED = ("name", "line1", "city", "country")
FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
FLAGS = ("is_default_shipping", "is_default_billing")


@dataclass(frozen=True)
class Address:
    """A checked postal address (no id: the order keeps a copy of the fields, not a reference)."""

    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str

    def as_json(self) -> dict:
        return asdict(self)

    def postal_label(self) -> str:
        country = pycountry.countries.get(alpha_2=self.country)
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        parts = (self.name, self.line1, self.line2, place, self.region, country.name if country else self.country)
        return ", ".join(part for part in parts if part)


def _text(field: str, value: Any, limit: int | None = None) -> str:
    limit = LIMITS[field] if limit is None else limit
    if not isinstance(value, str):
        raise InvalidInput(field, "Not a valid string.")
    value = value.strip()
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise InvalidInput(field, "Control characters are not allowed.")
    if len(value) > limit:
        raise InvalidInput(field, f"Ensure this field has no more than {limit} characters.")
    return value


def check_country(value: Any, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper-case, or `InvalidInput` naming `field`."""
    code = _text(field, value, limit=10).upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidInput(field, f"Not an ISO 3166-1 alpha-2 country code: {value!r}.")
    return code


def normalize_region(country: str, region: str) -> str:
    """The subdivision code (second part) when `region` names an ISO 3166-2 subdivision of `country`."""
    if not region:
        return ""
    wanted = region.upper()
    code = wanted if wanted.startswith(f"{country}-") else f"{country}-{wanted}"
    subdivision = pycountry.subdivisions.get(code=code)
    if subdivision is None:
        folded = region.casefold()
        subdivision = next((sub for sub in pycountry.subdivisions.get(country_code=country) or ()
                            if sub.name.casefold() == folded), None)
    return subdivision.code.split("-", 1)[1] if subdivision is not None else region


def check_phone(value: str, country: str) -> str:
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone", f"Not a phone number: {value!r}.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", f"Not a valid phone number for {country}: {value!r}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def address_from_input(data: Mapping[str, Any], field: str | None = None) -> Address:
    """Check an address object given whole (a new book entry, or an address given at checkout).

    `field` prefixes the error's field (`shipping_address.country`) when the address is part of a body.
    """
    try:
        return _checked({name: data.get(name, "") for name in FIELDS})
    except InvalidInput as exc:
        if field is None:
            raise
        inner = exc.errors[0]["field"]
        raise InvalidInput(f"{field}.{inner}", exc.errors[0]["message"]) from None


def _checked(values: Mapping[str, Any]) -> Address:
    cleaned = {name: _text(name, values.get(name, "")) for name in FIELDS if name != "country"}
    for name in REQUIRED:
        if name != "country" and not cleaned[name]:
            raise InvalidInput(name, "This field may not be blank.")
    country = check_country(values.get("country", ""))
    cleaned["region"] = normalize_region(country, cleaned["region"])
    # Upper-casing can lengthen text ("ß" -> "SS"): checked again after it.
    cleaned["postal_code"] = _text("postal_code", cleaned["postal_code"].upper())
    cleaned["phone"] = check_phone(cleaned["phone"], country)
    return Address(country=country, **cleaned)


def _row_address(row: AddressRow) -> Address:
    return Address(**{name: getattr(row, name) for name in FIELDS})


def address_body(row: AddressRow) -> dict:
    return {"id": row.id, **_row_address(row).as_json(), "is_default_shipping": row.is_default_shipping,
            "is_default_billing": row.is_default_billing, "created_at": row.created_at, "updated_at": row.updated_at}


def _own_row(request, user_id: int, address_id: int) -> AddressRow:
    # Another customer's address is answered exactly like a missing one.
    row = request.dbsession.scalar(select(AddressRow).where(AddressRow.id == address_id,
                                                            AddressRow.user_id == user_id))
    if row is None:
        raise NotFound("Address not found.")
    return row


def get_address(request, user_id: int, address_id: int, field: str = "address_id") -> Address:
    """The owner's address `address_id`; anyone else's, or none, is an `InvalidInput` naming `field`."""
    try:
        return _row_address(_own_row(request, user_id, address_id))
    except NotFound:
        raise InvalidInput(field, f"No address {address_id} in your address book.") from None


def default_address(request, user_id: int, flag: str = "is_default_shipping") -> Address | None:
    row = request.dbsession.scalar(select(AddressRow).where(AddressRow.user_id == user_id,
                                                            getattr(AddressRow, flag).is_(True)))
    return None if row is None else _row_address(row)


def list_addresses(request, user_id: int) -> list[dict]:
    rows = request.dbsession.scalars(select(AddressRow).where(AddressRow.user_id == user_id).order_by(AddressRow.id))
    return [address_body(row) for row in rows]


addresses_of = list_addresses


def show_address(request, user_id: int, address_id: int) -> dict:
    return address_body(_own_row(request, user_id, address_id))


def _clear_other_defaults(request, user_id: int, flags: Mapping[str, bool], keep_id: int | None) -> None:
    session = request.dbsession
    for flag in FLAGS:
        if flags.get(flag):
            column = getattr(AddressRow, flag)
            statement = update(AddressRow).where(AddressRow.user_id == user_id, column.is_(True))
            if keep_id is not None:
                statement = statement.where(AddressRow.id != keep_id)
            session.execute(statement.values({column: False}).execution_options(synchronize_session="fetch"))


def _flush(request) -> None:
    try:
        request.dbsession.flush()
    except IntegrityError:  # another request made a default at the same moment
        raise Conflict("Another change to your default addresses was made at the same time; try again.") from None


def create_address(request, user_id: int, data: Mapping[str, Any]) -> dict:
    address = address_from_input(data)
    flags = {flag: bool(data.get(flag, False)) for flag in FLAGS}
    session = request.dbsession
    count = session.scalar(select(func.count()).select_from(AddressRow).where(AddressRow.user_id == user_id))
    if count >= MAX_ADDRESSES:
        raise Conflict(f"An address book holds at most {MAX_ADDRESSES} addresses; delete one first.")
    _clear_other_defaults(request, user_id, flags, keep_id=None)
    now = utcnow()
    row = AddressRow(user_id=user_id, **address.as_json(), **flags, created_at=now, updated_at=now)
    session.add(row)
    _flush(request)
    return address_body(row)


def update_address(request, user_id: int, address_id: int, changes: Mapping[str, Any]) -> dict:
    """Change some fields; the address is checked again as a whole (a new country re-checks the phone)."""
    row = _own_row(request, user_id, address_id)
    merged = {name: changes.get(name, getattr(row, name)) for name in FIELDS}
    address = _checked(merged)
    flags = {flag: changes[flag] for flag in FLAGS if flag in changes}
    _clear_other_defaults(request, user_id, flags, keep_id=row.id)
    for name, value in address.as_json().items():
        setattr(row, name, value)
    for flag, value in flags.items():
        setattr(row, flag, bool(value))
    row.updated_at = utcnow()
    _flush(request)
    return address_body(row)


def delete_address(request, user_id: int, address_id: int) -> None:
    row = _own_row(request, user_id, address_id)
    request.dbsession.delete(row)
    request.dbsession.flush()
