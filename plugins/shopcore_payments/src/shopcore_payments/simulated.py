"""The built-in `simulated` provider: what `POST /api/orders/{id}/pay/` always did, as a payment provider.

Every payment is authorised at once and captured when the customer confirms it; nothing leaves any
account, so a shop offers it only for trying things out (the default of `shopcore.payments.providers`,
warned about in production). It keeps no state of its own: the payments plugin's rows say what each
payment is, and decide every transition before the provider is asked. It sends no webhooks.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

from shopcore.errors import NotFound

from shopcore_payments.api import (AUTHORIZED, CAPTURED, VOIDED, PaymentProvider, PaymentRequest, ProviderPayment,
                                   ProviderRefund, WebhookEvent)

SIMULATED = "simulated"


class SimulatedProvider(PaymentProvider):
    def create(self, request, payment: PaymentRequest) -> ProviderPayment:
        return ProviderPayment(reference=f"sim_{uuid.uuid4().hex}", status=AUTHORIZED, amount=payment.amount)

    def capture(self, request, reference: str, amount: Decimal, currency: str) -> ProviderPayment:
        return ProviderPayment(reference=reference, status=CAPTURED, amount=amount)

    def void(self, request, reference: str) -> ProviderPayment:
        return ProviderPayment(reference=reference, status=VOIDED)

    def refund(self, request, reference: str, amount: Decimal, currency: str, *, key: str) -> ProviderRefund:
        return ProviderRefund(reference=f"simre_{uuid.uuid4().hex}", status="succeeded", amount=amount)

    def parse_webhook(self, request) -> WebhookEvent | None:
        raise NotFound("The simulated provider sends no webhooks.")
