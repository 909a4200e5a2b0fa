"""Money: Decimal amounts with two places, in `Numeric(12, 2)` columns and as strings in JSON.

- `Money`: the column type (`mapped_column(Money, nullable=False)`); values come back as Decimals
  with exactly two places on every database.
- `to_money(value, field=...)`: an amount from outside (a request, a script), refused with
  `InvalidInput` naming `field` when it is a float, not a finite number, has more than two decimal
  places, or is out of range.
- `round_money(value)`: a computed amount (a percentage of a subtotal) rounded half-up to the cent.

Never use floats for money: 0.1 + 0.2 is not 0.3, and a float may already have lost the amount the
client meant.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Numeric
from sqlalchemy.types import TypeDecorator

from shopcore.errors import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount a Numeric(12, 2) column holds.
MONEY_MAX = Decimal("9999999999.99")
# Longer strings are refused before Decimal parses them (a megabyte of digits is not a price).
MAX_TEXT = 32


def round_money(value: Decimal | int | str) -> Decimal:
    """`value` rounded half-up to the cent (Decimal, int or numeric string; never a float)."""
    if isinstance(value, float):
        raise TypeError("money is never a float; use Decimal or a string")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_money(value: Any, field: str = "amount", *, minimum: Decimal | None = ZERO,
             maximum: Decimal | None = MONEY_MAX) -> Decimal:
    """An amount given from outside, as a Decimal with two places, or `InvalidInput` naming `field`.

    Accepts a Decimal, an int or a numeric string. Refuses floats (and booleans), text that is not a
    finite number, more than two decimal places, and amounts outside [minimum, maximum]
    (0 to 9999999999.99 unless said otherwise; `minimum=None` allows negative amounts).
    """
    if isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int, str)):
        raise InvalidInput(field, "A valid number is required (a string like \"30000.00\" or a JSON number).")
    if isinstance(value, str) and (len(value) > MAX_TEXT or not value.strip()):
        raise InvalidInput(field, "A valid number is required.")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise InvalidInput(field, "A valid number is required.") from None
    if not amount.is_finite():
        raise InvalidInput(field, "A valid number is required.")
    if minimum is not None and amount < minimum:
        raise InvalidInput(field, f"Ensure this value is greater than or equal to {minimum.normalize():f}.")
    if maximum is not None and amount > maximum:
        raise InvalidInput(field, f"Ensure this value is less than or equal to {maximum}.")
    if amount.as_tuple().exponent < -2:
        raise InvalidInput(field, "Ensure that there are no more than 2 decimal places.")
    return amount.quantize(CENT)


class Money(TypeDecorator):
    """`Numeric(12, 2)` giving Decimals with exactly two places (SQLite may hand back fewer)."""

    impl = Numeric(12, 2)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, float):
            raise TypeError("money is never a float; use Decimal or a string")
        return value

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(CENT)
