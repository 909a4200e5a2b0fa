"""Coupon terms: what an admin may set, what a coupon takes off a cart, and why it cannot be used now.

Pure rules, no database: the service, the hooks and tests all decide through these functions.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shopcore.errors import InvalidInput
from shopcore.money import MONEY_MAX, ZERO
from shopcore.money import round_money as money

from shopcore_coupons.models import CODE_MAX, KINDS, PERCENTAGE

HUNDRED = Decimal("100")
LIMIT_MAX = 2_147_483_647
CODE_PATTERN = re.compile(rf"^[A-Z0-9_-]{{3,{CODE_MAX}}}$")
MONEY_PATTERN = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")


@dataclass(frozen=True)
class Terms:
    """A coupon as the rules see it (a row read in this transaction)."""

    id: int
    code: str
    kind: str
    value: Decimal
    minimum_total: Decimal | None
    expires_at: datetime.datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    uses: int
    active: bool

    @classmethod
    def of(cls, coupon) -> "Terms":
        return cls(id=coupon.id, code=coupon.code, kind=coupon.kind, value=money(coupon.value),
                   minimum_total=None if coupon.minimum_total is None else money(coupon.minimum_total),
                   expires_at=coupon.expires_at, usage_limit=coupon.usage_limit,
                   per_customer_limit=coupon.per_customer_limit, uses=coupon.uses, active=coupon.active)

    @property
    def label(self) -> str:
        if self.kind == PERCENTAGE:
            return f"Coupon {self.code} ({plain(self.value)}% off)"
        return f"Coupon {self.code} ({self.value} off)"

    def discount(self, subtotal: Decimal) -> Decimal:
        """What the coupon takes off goods worth `subtotal`: exact to the cent, never more than the goods."""
        if self.kind == PERCENTAGE:
            amount = money(subtotal * self.value / HUNDRED)
        else:
            amount = self.value
        return money(min(amount, subtotal))

    def usable(self, now: datetime.datetime) -> bool:
        """Whether anyone could use the coupon now: active, not expired, not used up."""
        return (self.active and (self.expires_at is None or self.expires_at > now)
                and (self.usage_limit is None or self.uses < self.usage_limit))

    def refusal(self, now: datetime.datetime, customer_uses: int, subtotal: Decimal | None = None) -> str | None:
        """Why this coupon cannot be used now by a customer who has used it `customer_uses` times.

        `subtotal` is checked against the minimum only when given: a code may be applied to a cart
        that does not reach the minimum yet, but not used at checkout.
        """
        if not self.active:
            return f"Coupon {self.code} is not active."
        if self.expires_at is not None and self.expires_at <= now:
            return f"Coupon {self.code} expired at {self.expires_at:%Y-%m-%d %H:%M} UTC."
        if self.usage_limit is not None and self.uses >= self.usage_limit:
            return f"Coupon {self.code} has reached its usage limit."
        if self.per_customer_limit is not None and customer_uses >= self.per_customer_limit:
            return (f"Coupon {self.code} can be used {times(self.per_customer_limit)} per customer, "
                    f"and you have used it {times(customer_uses)}.")
        if subtotal is not None and self.minimum_total is not None and subtotal < self.minimum_total:
            return (f"Coupon {self.code} needs a subtotal of at least {self.minimum_total}; "
                    f"the cart's is {money(subtotal)}.")
        return None


def plain(value: Decimal) -> str:
    """12.50 -> "12.5", 10.00 -> "10"."""
    return f"{value.normalize():f}"


def times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


# --- input (the HTTP layer validates against the spec too; services are also called directly) --------

def parse_code(value: Any, field: str = "code") -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "A string is required.")
    code = value.strip().upper()
    if not CODE_PATTERN.match(code):
        raise InvalidInput(field, f"Use 3 to {CODE_MAX} letters, digits, '-' or '_'.")
    return code


def parse_kind(value: Any) -> str:
    if value not in KINDS:
        raise InvalidInput("kind", f"Must be one of: {', '.join(KINDS)}.")
    return value


def parse_money(value: Any, field: str, *, positive: bool) -> Decimal:
    """An amount as a string with at most two decimals ("10", "10.5", "10.50"); never a float."""
    if not isinstance(value, str) or not MONEY_PATTERN.match(value):
        raise InvalidInput(field, 'An amount as a string with at most two decimals is required, like "10.00".')
    try:
        amount = Decimal(value)
    except InvalidOperation:  # the pattern keeps this out; kept for direct callers' odd strings
        raise InvalidInput(field, "A valid amount is required.") from None
    if positive and amount <= 0:
        raise InvalidInput(field, "Must be greater than 0.")
    if amount > MONEY_MAX:
        raise InvalidInput(field, f"Must be at most {MONEY_MAX}.")
    return money(amount)


def parse_value(kind: str, value: Any) -> Decimal:
    amount = parse_money(value, "value", positive=True)
    if kind == PERCENTAGE and amount > HUNDRED:
        raise InvalidInput("value", "A percentage is at most 100.")
    return amount


def parse_expiry(value: Any) -> datetime.datetime | None:
    """An ISO 8601 moment with a time zone, kept in UTC; a moment in the past ends the coupon now."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput("expires_at", "A date and time like 2027-01-31T23:59:59Z is required.") from None
    elif isinstance(value, datetime.datetime):
        moment = value
    else:
        raise InvalidInput("expires_at", "A date and time like 2027-01-31T23:59:59Z is required.")
    if moment.tzinfo is None:
        raise InvalidInput("expires_at", "Give a time zone, like 2027-01-31T23:59:59Z.")
    return moment.astimezone(datetime.timezone.utc)


def parse_limit(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "A whole number is required.")
    if not 1 <= value <= LIMIT_MAX:
        raise InvalidInput(field, f"Must be between 1 and {LIMIT_MAX}.")
    return value


def parse_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("active", "Must be true or false.")
    return value


def parse_minimum(value: Any) -> Decimal | None:
    return None if value is None else parse_money(value, "minimum_total", positive=False)

