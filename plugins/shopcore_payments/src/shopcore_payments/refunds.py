"""Refunds and returns: money of a paid order given back through its provider, never more than was captured.

A refund is an amount, or lines of the order (`{"item": <order line id>, "quantity": n}`), each line
worth its unit price times the units, less its share of the order's discounts (the order's total
over its subtotal, when that is below one: fees and shipping are not refunded per line). The
order's captured payment is locked first (`SELECT ... FOR UPDATE`), so the refunds and returns of
one order are decided one after the other; then one conditional UPDATE adds the amount to what was
refunded only while the sum stays within what was captured (and the database's own check refuses
anything else). Units refunded per line are counted, so a line is never refunded twice over.

A return is a customer's request to send back units of a delivered order, within
`shopcore.payments.return_window_days` of delivery; units already refunded or in a return waiting
for a decision cannot be asked for again. An admin approves it (its lines are refunded through the
provider, and put back in stock if asked) or rejects it with a note.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import selectinload

from shopcore.clock import utcnow
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.money import CENT, ZERO, round_money, to_money
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body, public_url
from shopcore_catalog.api import CatalogService

from shopcore_payments.events import (OrderRefunded, RefundedLine, ReturnApproved, ReturnedLine, ReturnRejected,
                                      ReturnRequested)
from shopcore_payments.models import (APPROVED, PARTIALLY_REFUNDED, REASON_MAX, REFUND_SUCCEEDED, REFUNDABLE,
                                      REFUNDED, REJECTED, REQUESTED, Payment, Refund, RefundLine, Return, ReturnLine)
from shopcore_payments.services import ORDER_BODY, call_provider

# Orders whose money was captured and may be given back (the orders plugin's statuses).
REFUNDABLE_ORDERS = ("paid", "shipped", "delivered", "partially_refunded")
RETURNABLE_ORDERS = ("delivered", "partially_refunded")
MAX_LINES = 100

# Admin actions recorded in the audit log (declared in the plugin's includeme). Entries keep ids, amounts
# and states, never a reason or a note: those are free text, a return's written by the customer.
REFUND_CREATED, RETURN_APPROVED, RETURN_REJECTED = ("payments.refund.create", "payments.return.approve",
                                                    "payments.return.reject")
AUDITED_ACTIONS = {
    REFUND_CREATED: "Money of an order was refunded (by an admin's refund, or an approved return)",
    RETURN_APPROVED: "A return was approved (its lines refunded, maybe put back in stock)",
    RETURN_REJECTED: "A return was rejected",
}
ORDER_OBJECT, RETURN_OBJECT = "orders.order", "payments.return"


def clean_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "This field may not be blank.")
    value = value.strip()
    if len(value) > REASON_MAX:
        raise InvalidInput(field, f"Ensure this field has no more than {REASON_MAX} characters.")
    if "\x00" in value:
        raise InvalidInput(field, "Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "Not valid Unicode text.") from None
    return value


def line_amount(price: Decimal, quantity: int, summary: dict) -> Decimal:
    """What `quantity` units of a line paid, after their share of the order's discounts."""
    subtotal, total = summary["subtotal"], summary["total_price"]
    ratio = total / subtotal if subtotal > 0 and total < subtotal else Decimal(1)
    return round_money(price * quantity * ratio)


def refund_body(refund: Refund) -> dict:
    return {"id": refund.id, "order": refund.order_id, "payment": refund.payment_id, "amount": refund.amount,
            "reason": refund.reason, "status": refund.status, "return": refund.return_id,
            "lines": [{"item": line.order_line_id, "product": line.product_id, "quantity": line.quantity,
                       "amount": line.amount} for line in refund.lines],
            "created_at": refund.created_at}


def return_body(item: Return, refund_id: int | None) -> dict:
    lines = [{"item": line.order_line_id, "product": line.product_id, "product_name": line.product_name,
              "quantity": line.quantity, "amount": line.amount} for line in item.lines]
    return {"id": item.id, "order": item.order_id, "user": item.user_id, "status": item.status,
            "reason": item.reason, "note": item.note, "restocked": item.restocked, "lines": lines,
            "amount": sum((line["amount"] for line in lines), ZERO), "refund": refund_id,
            "created_at": item.created_at, "decided_at": item.decided_at}


class RefundsAndReturns:
    """Refunds (admins) and returns (customers ask, admins decide), for one request. Mixed into the
    payments service, whose `session`, `orders`, `settings` and `_settled_payment` it uses."""

    # --- refunds -----------------------------------------------------------------------------------------

    def refund(self, order_id: int, *, reason: str, amount: Any = None, lines: list[dict] | None = None,
               admin_id: int | None = None, return_id: int | None = None) -> dict:
        """Give back `amount`, or the value of `lines`, of a paid order through its provider."""
        reason = clean_text(reason, "reason")
        if (amount is None) == (lines is None):
            raise InvalidInput("amount", "Give either an amount or lines to refund, not both.")
        summary = self.orders.order_summary(order_id)
        if summary["status"] not in REFUNDABLE_ORDERS:
            raise Conflict(f"Order {order_id} is {summary['status']}; only a paid order can be refunded.",
                           [{"field": "status", "message": f"The order is {summary['status']}."}])
        payment = self._settled_payment(order_id)
        if payment is None:
            raise Conflict(f"Order {order_id} has no captured payment left to refund (an order paid before the "
                           f"payments plugin was enabled is refunded outside the shop).",
                           [{"field": "payment", "message": "Nothing captured to refund."}])
        refunded_lines: list[RefundedLine] = []
        if lines is not None:
            refunded_lines = self._priced_lines(summary, lines, "lines", self._units_refunded(order_id))
            amount = sum((line.amount for line in refunded_lines), ZERO)
            if amount <= 0:
                raise InvalidInput("lines", "These lines are worth nothing to refund.")
        else:
            amount = to_money(amount, "amount", minimum=CENT)
        # Compared in whole cents: SQLite keeps these columns as floating point, where 66.66 + 33.34
        # need not equal 100.00; the sum is stored rounded to the cent for the same reason.
        after_cents = func.round((Payment.refunded_amount + amount) * 100)
        captured_cents = func.round(Payment.captured_amount * 100)
        totals = self.session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status.in_(REFUNDABLE), after_cents <= captured_cents)
            .values(refunded_amount=func.round(Payment.refunded_amount + amount, 2),
                    status=case((after_cents == captured_cents, REFUNDED), else_=PARTIALLY_REFUNDED),
                    updated_at=utcnow())
            .returning(Payment.refunded_amount, Payment.captured_amount)
            .execution_options(synchronize_session=False)).first()
        if totals is None:
            left = payment.captured_amount - payment.refunded_amount
            raise Conflict(f"At most {left} of order {order_id} may still be refunded; {amount} was asked.",
                           [{"field": "amount" if lines is None else "lines",
                             "message": f"At most {left} may still be refunded."}])
        refund = Refund(order_id=order_id, payment_id=payment.id, return_id=return_id, amount=amount, reason=reason,
                        status=REFUND_SUCCEEDED, created_by=admin_id, created_at=utcnow())
        self.session.add(refund)
        self.session.flush()
        if refunded_lines:
            self.session.execute(insert(RefundLine), [
                {"refund_id": refund.id, "order_line_id": line.order_line_id, "product_id": line.product_id,
                 "quantity": line.quantity, "amount": line.amount} for line in refunded_lines])
        given = call_provider(self.request, payment.provider, "refund", payment.reference, amount, payment.currency,
                              key=f"shopcore-refund-{uuid.uuid4().hex}")
        refund.status, refund.reference = given.status, given.reference
        status = self.orders.mark_refunded(order_id, fully=totals.refunded_amount == totals.captured_amount)
        self.request.audit(REFUND_CREATED, ORDER_OBJECT, order_id,
                           before={"status": summary["status"], "refunded": totals.refunded_amount - amount},
                           after={"status": status, "refunded": totals.refunded_amount, "refund": refund.id,
                                  "amount": amount, "return": return_id,
                                  "lines": [{"item": line.order_line_id, "quantity": line.quantity}
                                            for line in refunded_lines]})
        self.request.notify(OrderRefunded(
            order_id=order_id, user_id=summary["user_id"], total_price=summary["total_price"],
            lines=self._event_lines(summary), refund_id=refund.id, amount=amount,
            refunded_total=totals.refunded_amount, captured_total=totals.captured_amount, status=status,
            reason=reason, refund_lines=tuple(refunded_lines), return_id=return_id, provider=payment.provider,
            currency=payment.currency))
        self._changed(order_id)
        self.session.flush()
        return refund_body(self.session.scalar(select(Refund).options(selectinload(Refund.lines))
                                               .where(Refund.id == refund.id)
                                               .execution_options(populate_existing=True)))

    @staticmethod
    def _event_lines(summary: dict):
        from shopcore_orders.events import OrderEventLine

        return tuple(OrderEventLine(item["product"], item["quantity"], item["price"]) for item in summary["items"])

    def _units_refunded(self, order_id: int) -> dict[int, int]:
        return dict(self.session.execute(
            select(RefundLine.order_line_id, func.sum(RefundLine.quantity))
            .join(Refund, Refund.id == RefundLine.refund_id).where(Refund.order_id == order_id)
            .group_by(RefundLine.order_line_id)).all())

    def _units_in_open_returns(self, order_id: int) -> dict[int, int]:
        return dict(self.session.execute(
            select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity))
            .join(Return, Return.id == ReturnLine.return_id)
            .where(Return.order_id == order_id, Return.status == REQUESTED)
            .group_by(ReturnLine.order_line_id)).all())

    def _priced_lines(self, summary: dict, lines: Iterable[dict], field: str, taken: dict[int, int]) -> list[RefundedLine]:
        """The lines asked for, each checked against the order and the units still available."""
        items = {item["id"]: item for item in summary["items"]}
        priced, seen = [], set()
        for index, line in enumerate(lines):
            item_id, quantity = line.get("item"), line.get("quantity")
            where = f"{field}[{index}]"
            if item_id not in items:
                raise InvalidInput(f"{where}.item", f"Order {summary['id']} has no line {item_id}.")
            if item_id in seen:
                raise InvalidInput(f"{where}.item", f"Line {item_id} is named twice.")
            seen.add(item_id)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise InvalidInput(f"{where}.quantity", "Ensure this value is a whole number of at least 1.")
            item = items[item_id]
            left = item["quantity"] - int(taken.get(item_id) or 0)
            if quantity > left:
                message = (f"Line {item_id} ({item['product_name']!r}) has {left} of its {item['quantity']} units "
                           f"left to give back; {quantity} asked.")
                raise Conflict(message, [{"field": f"{where}.quantity", "message": message}])
            priced.append(RefundedLine(item_id, item["product"], quantity, line_amount(item["price"], quantity, summary)))
        if not priced:
            raise InvalidInput(field, "Name at least one line.")
        return priced

    # --- returns -----------------------------------------------------------------------------------------

    def request_return(self, user_id: int, order_id: int, lines: list[dict], reason: str) -> dict:
        """A customer asks to send back units of their own delivered order, within the return window."""
        reason = clean_text(reason, "reason")
        summary = self._own_order(user_id, order_id)
        if summary["status"] not in RETURNABLE_ORDERS or summary["delivered_at"] is None:
            raise Conflict(f"Order {order_id} is {summary['status']}; only a delivered order can be returned.",
                           [{"field": "status", "message": f"The order is {summary['status']}."}])
        closes = summary["delivered_at"] + self.settings.return_window
        if utcnow() > closes:
            raise Conflict(f"Order {order_id} could be returned until {closes:%Y-%m-%d %H:%M} UTC "
                           f"({self.settings.return_window.days} days after delivery).",
                           [{"field": "order", "message": "The return window has closed."}])
        if self._settled_payment(order_id) is None:  # locks it: the order's returns are decided one by one
            raise Conflict(f"Order {order_id} has no captured payment to refund; contact the shop.",
                           [{"field": "payment", "message": "Nothing captured to refund."}])
        taken = self._units_refunded(order_id)
        for line_id, units in self._units_in_open_returns(order_id).items():
            taken[line_id] = int(taken.get(line_id) or 0) + int(units)
        priced = self._priced_lines(summary, lines, "lines", taken)
        names = {item["id"]: item["product_name"] for item in summary["items"]}
        item = Return(order_id=order_id, user_id=user_id, status=REQUESTED, reason=reason, note="", restocked=False,
                      created_at=utcnow())
        self.session.add(item)
        self.session.flush()
        self.session.execute(insert(ReturnLine), [
            {"return_id": item.id, "order_line_id": line.order_line_id, "product_id": line.product_id,
             "product_name": names[line.order_line_id], "quantity": line.quantity, "amount": line.amount}
            for line in priced])
        loaded = self._load_return(item.id)
        self.request.notify(ReturnRequested(return_id=item.id, order_id=order_id, user_id=user_id, reason=reason,
                                            lines=self._returned_lines(loaded)))
        self._changed(order_id)
        return return_body(loaded, None)

    def approve_return(self, return_id: int, *, admin_id: int, restock: bool = False) -> dict:
        """Refund a requested return's lines through the provider and, if asked, put them back in stock."""
        item = self._decide(return_id, APPROVED, admin_id, restocked=bool(restock))
        refund = self.refund(item.order_id, reason=f"Return {item.id}: {item.reason}"[:REASON_MAX],
                             lines=[{"item": line.order_line_id, "quantity": line.quantity} for line in item.lines],
                             admin_id=admin_id, return_id=item.id)
        if restock:
            # Units go back to the variant the customer bought (its order line says which; a line older
            # than variants names none, and goes back to its one-variant product).
            variants = {line["id"]: line.get("variant") for line in self.orders.order_summary(item.order_id)["items"]}
            catalog = self.request.find_service(CatalogService)
            for line in sorted(item.lines, key=lambda line: (variants.get(line.order_line_id) or 0, line.product_id)):
                variant_id = variants.get(line.order_line_id)  # sorted above: a fixed lock order
                if variant_id is not None:
                    catalog.return_variant_stock(variant_id, line.quantity)
                else:
                    catalog.return_stock(line.product_id, line.quantity)
        self.request.audit(RETURN_APPROVED, RETURN_OBJECT, item.id, before={"status": REQUESTED},
                           after={"status": APPROVED, "order": item.order_id, "refund": refund["id"],
                                  "restocked": bool(restock)})
        self.request.notify(ReturnApproved(return_id=item.id, order_id=item.order_id, user_id=item.user_id,
                                           reason=item.reason, lines=self._returned_lines(item),
                                           refund_id=refund["id"], amount=refund["amount"], restocked=bool(restock)))
        return return_body(self._load_return(return_id), refund["id"])

    def reject_return(self, return_id: int, *, admin_id: int, note: str) -> dict:
        note = clean_text(note, "note")
        item = self._decide(return_id, REJECTED, admin_id, note=note)
        self.request.audit(RETURN_REJECTED, RETURN_OBJECT, item.id, before={"status": REQUESTED},
                           after={"status": REJECTED, "order": item.order_id})
        self.request.notify(ReturnRejected(return_id=item.id, order_id=item.order_id, user_id=item.user_id,
                                           reason=item.reason, lines=self._returned_lines(item), note=note))
        self._changed(item.order_id)
        return return_body(item, None)

    def _decide(self, return_id: int, status: str, admin_id: int, **values) -> Return:
        """requested -> approved | rejected, by one conditional UPDATE: of two racing decisions one wins."""
        decided = self.session.execute(
            update(Return).where(Return.id == return_id, Return.status == REQUESTED)
            .values(status=status, decided_at=utcnow(), decided_by=admin_id, **values)
            .returning(Return.id).execution_options(synchronize_session=False)).first()
        if decided is None:
            current = self.session.scalar(select(Return.status).where(Return.id == return_id))
            if current is None:
                raise NotFound("Return not found.")
            raise Conflict(f"Return {return_id} is {current}; only a requested return can be decided.",
                           [{"field": "status", "message": f"The return is {current}."}])
        return self._load_return(return_id)

    def _load_return(self, return_id: int) -> Return:
        return self.session.scalar(select(Return).options(selectinload(Return.lines)).where(Return.id == return_id)
                                   .execution_options(populate_existing=True))

    @staticmethod
    def _returned_lines(item: Return) -> tuple[ReturnedLine, ...]:
        return tuple(ReturnedLine(line.order_line_id, line.product_id, line.product_name, line.quantity)
                     for line in item.lines)

    def _refund_ids(self, return_ids: list[int]) -> dict[int, int]:
        if not return_ids:
            return {}
        return dict(self.session.execute(select(Refund.return_id, Refund.id)
                                         .where(Refund.return_id.in_(return_ids))).all())

    def get_return(self, viewer_id: int, return_id: int, *, is_admin: bool = False) -> dict:
        statement = select(Return).options(selectinload(Return.lines)).where(Return.id == return_id)
        if not is_admin:
            statement = statement.where(Return.user_id == viewer_id)
        item = self.session.scalar(statement)
        if item is None:
            raise NotFound("Return not found.")
        return return_body(item, self._refund_ids([item.id]).get(item.id))

    def list_returns(self, viewer_id: int, *, is_admin: bool = False, page: int = 1,
                     page_size: int = DEFAULT_PAGE_SIZE, status: str | None = None) -> dict:
        """A page of returns, newest first: the viewer's own, or (admins) everyone's."""
        statement = select(Return).options(selectinload(Return.lines)).order_by(Return.created_at.desc(),
                                                                                Return.id.desc())
        if not is_admin:
            statement = statement.where(Return.user_id == viewer_id)
        if status is not None:
            statement = statement.where(Return.status == status)
        found = fetch_page(self.session, statement, page, page_size)
        refunds = self._refund_ids([item.id for item in found.rows])
        params: dict[str, Any] = {"status": status} if status is not None else {}
        if page_size != DEFAULT_PAGE_SIZE:
            params["page_size"] = page_size
        return page_body(found, [return_body(item, refunds.get(item.id)) for item in found.rows],
                         public_url(self.request, "payments.returns"), params)


def order_returns_and_refunds(request, ids: list[int]) -> dict[int, dict]:
    """The `orders.order` body extension: each order's returns and refunds (two queries each, per page)."""
    session = request.dbsession
    returns: dict[int, list[Return]] = {order_id: [] for order_id in ids}
    for item in session.scalars(select(Return).options(selectinload(Return.lines)).where(Return.order_id.in_(ids))
                                .order_by(Return.id)):
        returns[item.order_id].append(item)
    refunds: dict[int, list[Refund]] = {order_id: [] for order_id in ids}
    for refund in session.scalars(select(Refund).options(selectinload(Refund.lines)).where(Refund.order_id.in_(ids))
                                  .order_by(Refund.id)):
        refunds[refund.order_id].append(refund)
    by_return = {refund.return_id: refund.id for found in refunds.values() for refund in found if refund.return_id}
    return {order_id: {"returns": [return_body(item, by_return.get(item.id)) for item in returns[order_id]],
                       "refunds": [refund_body(refund) for refund in refunds[order_id]]} for order_id in ids}
