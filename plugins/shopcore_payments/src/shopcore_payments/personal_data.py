"""The payments plugin's part of a customer's personal data (the core's `accounts.personal_data_*` points).

Export: the customer's payments (without the client secret, a credential for the provider, not data about
them), the refunds of those payments and the customer's returns, as the API shows them.

Erasure: all of them stay for the shop's accounts (amounts, states, dates, the provider's reference,
lines), under the anonymised customer's id. What is free text goes: a return's `reason` is the
customer's own words, an admin's `note` on it and a refund's `reason` (an approved return's repeats the
customer's) are written about them, and any of them can name the person or hold a phone number or an
address. An open payment's client secret, of no use to the accounts, goes too.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from shopcore_payments.models import Payment, Refund, Return
from shopcore_payments.refunds import refund_body, return_body
from shopcore_payments.services import ORDER_BODY, payment_body

ERASED_TEXT = ""


def export_payments(request, user_id: int) -> dict:
    session = request.dbsession
    payments = list(session.scalars(select(Payment).where(Payment.user_id == user_id).order_by(Payment.id)))
    refunds = session.scalars(select(Refund).options(selectinload(Refund.lines))
                              .where(Refund.payment_id.in_([payment.id for payment in payments]))
                              .order_by(Refund.id)) if payments else []
    returns = list(session.scalars(select(Return).options(selectinload(Return.lines))
                                   .where(Return.user_id == user_id).order_by(Return.id)))
    refund_of_return = dict(session.execute(select(Refund.return_id, Refund.id).where(
        Refund.return_id.in_([item.id for item in returns]))).all()) if returns else {}
    return {
        "payments": [{name: value for name, value in payment_body(payment).items() if name != "client_secret"}
                     for payment in payments],
        "refunds": [refund_body(refund) for refund in refunds],
        "returns": [return_body(item, refund_of_return.get(item.id)) for item in returns],
    }


def erase_payment_texts(request, user_id: int) -> None:
    session = request.dbsession
    payments = select(Payment.id).where(Payment.user_id == user_id).scalar_subquery()
    session.execute(update(Return).where(Return.user_id == user_id).values(reason=ERASED_TEXT, note=ERASED_TEXT)
                    .execution_options(synchronize_session=False))
    session.execute(update(Refund).where(Refund.payment_id.in_(payments)).values(reason=ERASED_TEXT)
                    .execution_options(synchronize_session=False))
    session.execute(update(Payment).where(Payment.user_id == user_id).values(client_secret=None)
                    .execution_options(synchronize_session=False))
    orders = list(session.scalars(select(Payment.order_id).where(Payment.user_id == user_id).distinct()))
    orders += list(session.scalars(select(Return.order_id).where(Return.user_id == user_id).distinct()))
    if orders:
        # The order bodies carry the returns and refunds (the `orders.order` body extension).
        request.invalidate_body(ORDER_BODY, sorted(set(orders)))
