"""The payments plugin's `PaymentService`: payment flows (`services`) and refunds and returns (`refunds`)
for one request, and the orders plugin's extension points and events it answers."""
from __future__ import annotations

from shopcore_payments.api import PaymentService
from shopcore_payments.refunds import RefundsAndReturns
from shopcore_payments.services import PaymentFlows


class DefaultPaymentService(RefundsAndReturns, PaymentFlows, PaymentService):
    """Bound to one request: its session and transaction."""


def payment_service_factory(context, request) -> DefaultPaymentService:
    return DefaultPaymentService(request)


def take_payment(request, order_id: int, user_id: int) -> dict:
    """The `orders.pay` extension: `POST /api/orders/{id}/pay/` is the customer's confirmation."""
    return request.find_service(PaymentService).confirm(user_id, order_id)


def release_on_cancellation(request, event) -> None:
    """`OrderCancelled` (and `OrderExpired`), in the cancelling transaction: its open payments are released."""
    request.find_service(PaymentService).release_open_payments(event.order_id)
