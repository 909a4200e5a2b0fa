"""The orders plugin's part of a customer's personal data (the core's `accounts.personal_data_*` points).

Export: every order of the customer, as the API shows it. Erasure: the orders stay, for the shop's
accounts (totals, lines, statuses, the anonymised customer's id), but their addresses (the text and
the structured copies of shipping and billing) are emptied; the cached order pages are dropped after
commit. (The customer's Idempotency-Keys, whose stored responses repeat those addresses, are the
core's and go with the account's own data.)
"""
from __future__ import annotations

from sqlalchemy import update

from shopcore_orders.models import Order
from shopcore_orders.services import DefaultOrderService, loaded_order_body

ERASED_ADDRESS = ""


def export_orders(request, user_id: int) -> dict:
    service = DefaultOrderService(request)
    orders = service.session.scalars(service._loaded().where(Order.user_id == user_id)
                                     .order_by(Order.created_at, Order.id))

    return {"orders": [loaded_order_body(order) for order in orders]}


def erase_orders(request, user_id: int) -> None:
    service = DefaultOrderService(request)
    service.session.execute(update(Order).where(Order.user_id == user_id)
                            .values(shipping_address=ERASED_ADDRESS, shipping_address_details=None,
                                    billing_address=None)
                            .execution_options(synchronize_session=False))
    service._changed(user_id)
