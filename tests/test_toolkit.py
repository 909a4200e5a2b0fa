"""The core's toolkit for plugins: clock, AwareDateTime, upsert and money, on PostgreSQL and SQLite alike."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from shopcore.accounts.models import RevokedToken, User
from shopcore.clock import UTC, as_utc, utcnow
from shopcore.db import upsert
from shopcore.errors import InvalidInput
from shopcore.money import MONEY_MAX, Money, round_money, to_money

PARIS_SUMMER = datetime.timezone(datetime.timedelta(hours=2))


# --- clock ---------------------------------------------------------------------------------------------

def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(seconds=5)


def test_as_utc_reads_naive_as_utc_and_converts_other_zones():
    naive = datetime.datetime(2026, 7, 1, 12, 0)
    assert as_utc(naive) == datetime.datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    converted = as_utc(datetime.datetime(2026, 7, 1, 14, 0, tzinfo=PARIS_SUMMER))
    assert (converted, converted.tzinfo) == (datetime.datetime(2026, 7, 1, 12, 0, tzinfo=UTC), UTC)
    assert as_utc(None) is None


# --- AwareDateTime -------------------------------------------------------------------------------------

def test_aware_columns_give_back_aware_utc_on_either_database(make_user, make_request):
    user_id = make_user("alice")
    moment = datetime.datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=PARIS_SUMMER)
    with make_request() as request:
        request.dbsession.get(User, user_id).tokens_valid_after = moment
    with make_request() as request:
        user = request.dbsession.get(User, user_id)
        read = (user.tokens_valid_after, request.dbsession.scalar(select(User.created_at).where(User.id == user_id)))
    for value in read:
        assert value.tzinfo is UTC
    assert read[0] == moment and read[0].hour == 12  # the same instant, in UTC


def test_a_naive_datetime_is_refused_when_written(make_user, make_request):
    user_id = make_user("bob")
    with pytest.raises(StatementError, match="naive datetime"):
        with make_request() as request:
            request.dbsession.get(User, user_id).tokens_valid_after = datetime.datetime(2026, 1, 1)
            request.dbsession.flush()


# --- upsert --------------------------------------------------------------------------------------------

def expiry(hours: int) -> datetime.datetime:
    return (utcnow() + datetime.timedelta(hours=hours)).replace(microsecond=0)


def test_upsert_inserts_ignores_or_updates_and_commits(make_request):
    with make_request() as request:
        inserted = upsert(request.dbsession, RevokedToken, {"key": "jti:1", "expires_at": expiry(1)},
                          conflict=[RevokedToken.key], returning=[RevokedToken.key]).all()
        ignored = upsert(request.dbsession, RevokedToken, {"key": "jti:1", "expires_at": expiry(5)},
                         conflict=[RevokedToken.key], returning=[RevokedToken.key]).all()
    assert (inserted, ignored) == ([("jti:1",)], [])
    with make_request() as request:  # committed: the first request was marked as changed
        assert request.dbsession.get(RevokedToken, "jti:1").expires_at == expiry(1)
        # Updated only where the condition holds: a later expiry replaces, an earlier one does not.
        later = upsert(request.dbsession, RevokedToken, {"key": "jti:1", "expires_at": expiry(3)},
                       conflict=["key"], update=["expires_at"], where=RevokedToken.expires_at < expiry(3),
                       returning=[RevokedToken.expires_at]).all()
        earlier = upsert(request.dbsession, RevokedToken, {"key": "jti:1", "expires_at": expiry(2)},
                         conflict=["key"], update={"expires_at": lambda excluded: excluded.expires_at},
                         where=RevokedToken.expires_at < expiry(2), returning=[RevokedToken.key]).all()
    assert (later, earlier) == ([(expiry(3),)], [])
    with make_request() as request:
        assert request.dbsession.get(RevokedToken, "jti:1").expires_at == expiry(3)


# --- money ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("30000", Decimal("30000.00")), ("0.5", Decimal("0.50")), (Decimal("12.30"), Decimal("12.30")), (7, Decimal("7.00")),
    (" 1.25 ", Decimal("1.25")), ("9999999999.99", MONEY_MAX),
])
def test_to_money_accepts_exact_amounts(value, expected):
    amount = to_money(value, "price")
    assert amount == expected and amount.as_tuple().exponent == -2


@pytest.mark.parametrize(("value", "message"), [
    (0.1, "A valid number is required"), (True, "A valid number is required"), ("abc", "A valid number is required"),
    ("NaN", "A valid number is required"), ("1" * 40, "A valid number is required"),
    ("1.005", "no more than 2 decimal places"), ("-1.00", "greater than or equal to 0"),
    ("10000000000.00", "less than or equal to 9999999999.99"),
])
def test_to_money_refuses_floats_excess_places_and_out_of_range_naming_the_field(value, message):
    with pytest.raises(InvalidInput) as refused:
        to_money(value, "price")
    assert refused.value.errors == [{"field": "price", "message": refused.value.errors[0]["message"]}]
    assert message in refused.value.errors[0]["message"]


def test_to_money_bounds_and_rounding():
    assert to_money("-5.00", "amount", minimum=None) == Decimal("-5.00")
    assert round_money(Decimal("2.345")) == Decimal("2.35") and round_money(Decimal("-2.345")) == Decimal("-2.35")
    with pytest.raises(TypeError):
        round_money(0.1)
    with pytest.raises(TypeError):
        Money().process_bind_param(0.1, None)
    assert Money().process_result_value(Decimal("3.5"), None).as_tuple().exponent == -2
