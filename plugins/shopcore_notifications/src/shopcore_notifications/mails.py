"""Which events send which mail: in the emitting transaction, a job carrying a snapshot of what the mail needs.

Nothing is rendered here. The snapshot (recipient, names, the order's lines and total as they are at
this moment) goes into the outbox row, so the mail says what was true when the event happened, a
rolled-back request sends nothing, and the worker needs no other plugin's tables.
"""
from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import urlencode

from shopcore.accounts.events import (EmailChangeAddressTaken, EmailChanged, EmailChangeRequested, EmailChangeUndone,
                                     PasswordResetRequested, UserRegistered)
from shopcore.accounts.models import User

log = logging.getLogger(__name__)

WELCOME = "mail.welcome"
PASSWORD_RESET = "mail.password_reset"
ORDER_PLACED = "mail.order_placed"
ORDER_PAID = "mail.order_paid"
ORDER_CANCELLED = "mail.order_cancelled"
ORDER_SHIPPED = "mail.order_shipped"
ORDER_EXPIRED = "mail.order_expired"
ORDER_REFUNDED = "mail.order_refunded"
RETURN_REQUESTED = "mail.return_requested"
RETURN_REJECTED = "mail.return_rejected"
EMAIL_CHANGE_CONFIRM = "mail.email_change_confirm"
EMAIL_CHANGE_TAKEN = "mail.email_change_taken"
EMAIL_CHANGED = "mail.email_changed"
EMAIL_CHANGE_UNDONE = "mail.email_change_undone"
WEBHOOK_DISABLED = "mail.webhook_disabled"
MAIL_KINDS = (WELCOME, PASSWORD_RESET, ORDER_PLACED, ORDER_PAID, ORDER_CANCELLED, ORDER_SHIPPED, ORDER_EXPIRED,
              EMAIL_CHANGE_CONFIRM, EMAIL_CHANGE_TAKEN, EMAIL_CHANGED, EMAIL_CHANGE_UNDONE, WEBHOOK_DISABLED,
              ORDER_REFUNDED, RETURN_REQUESTED, RETURN_REJECTED)
# Raw tokens (reset, e-mail confirmation and undo links) must not stay in the database once their mail is out.
SECRET_PAYLOAD_KINDS = frozenset({PASSWORD_RESET, EMAIL_CHANGE_CONFIRM, EMAIL_CHANGED})


def template_name(kind: str) -> str:
    return kind.removeprefix("mail.")


def jsonable(value: Any) -> Any:
    """A copy of `value` that JSON can hold: money as decimal strings, moments as ISO 8601."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def order_snapshot(summary: dict) -> dict:
    order = jsonable(summary)
    for line, item in zip(order.get("items", []), summary.get("items", [])):
        line["line_total"] = str(Decimal(str(item["price"])) * int(item["quantity"]))
    # One line per tax (label) rather than per taxed line: what a receipt shows.
    summary_lines: dict[tuple[str, bool], Decimal] = {}
    for tax in summary.get("tax_lines") or ():
        key = (tax["label"], bool(tax["included"]))
        summary_lines[key] = summary_lines.get(key, Decimal("0.00")) + Decimal(str(tax["amount"]))
    order["tax_summary"] = [{"label": label, "included": included, "amount": str(amount)}
                            for (label, included), amount in summary_lines.items()]
    return order


def send_welcome(request, event: UserRegistered) -> None:
    request.enqueue_job(WELCOME, {"to": event.email, "username": event.username})


def reset_url(settings, event: PasswordResetRequested) -> str:
    """The link accounts composed (its format is an accounts setting), or the plain default."""
    if event.link:
        return event.link
    query = urlencode({"uid": event.uid, "token": event.token})
    return f"{settings['shopcore.base_url'].rstrip('/')}/reset-password?{query}"


def send_password_reset(request, event: PasswordResetRequested) -> None:
    request.enqueue_job(PASSWORD_RESET, {"to": event.email, "username": event.username,
                                         "reset_url": reset_url(request.registry.settings, event)})


def send_email_change_confirmation(request, event: EmailChangeRequested) -> None:
    """The confirmation link goes to the new address, whose owner proves it by using the link."""
    request.enqueue_job(EMAIL_CHANGE_CONFIRM, {"to": event.new_email, "username": event.username,
                                               "confirm_url": event.link})


def send_email_change_taken_notice(request, event: EmailChangeAddressTaken) -> None:
    """The address belongs to another account: its owner is told, and nothing is confirmed."""
    request.enqueue_job(EMAIL_CHANGE_TAKEN, {"to": event.new_email})


def send_email_changed(request, event: EmailChanged) -> None:
    """The old address learns of the change and gets the link that undoes it."""
    request.enqueue_job(EMAIL_CHANGED, {"to": event.old_email, "username": event.username,
                                        "new_email": event.new_email, "undo_url": event.undo_link})


def send_email_change_undone(request, event: EmailChangeUndone) -> None:
    request.enqueue_job(EMAIL_CHANGE_UNDONE, {"to": event.email, "username": event.username})


ACCOUNT_MAILS: tuple[tuple[type, Callable], ...] = (
    (UserRegistered, send_welcome),
    (PasswordResetRequested, send_password_reset),
    (EmailChangeRequested, send_email_change_confirmation),
    (EmailChangeAddressTaken, send_email_change_taken_notice),
    (EmailChanged, send_email_changed),
    (EmailChangeUndone, send_email_change_undone),
)


def order_mail(kind: str, more_specific: tuple[type, ...] = ()) -> Callable:
    """The subscriber mailing `kind`; events of a `more_specific` class get their own mail instead
    (an expired order is a cancelled one, but its customer gets the expiry mail, not both)."""
    def send_order_mail(request, event) -> None:
        if more_specific and isinstance(event, more_specific):
            return
        user = request.dbsession.get(User, event.user_id)
        if user is None:
            log.warning("%s for order %s: user %s does not exist; no mail", type(event).__name__,
                        event.order_id, event.user_id)
            return
        from shopcore_orders.api import OrderService  # only subscribed when the orders plugin is there

        summary = request.find_service(OrderService).order_summary(event.order_id)
        request.enqueue_job(kind, {"to": user.email, "username": user.username,
                                   "order": order_snapshot(summary)})

    send_order_mail.__qualname__ = f"send_{template_name(kind)}"
    return send_order_mail


def order_mails() -> list[tuple[type, str]]:
    """(event class, mail kind) for the orders plugin's events; imported only when it is enabled."""
    from shopcore_orders.events import OrderCancelled, OrderExpired, OrderPaid, OrderPlaced, OrderShipped

    return [(OrderPlaced, ORDER_PLACED), (OrderPaid, ORDER_PAID), (OrderCancelled, ORDER_CANCELLED),
            (OrderShipped, ORDER_SHIPPED), (OrderExpired, ORDER_EXPIRED)]


def send_webhook_disabled(request, event) -> None:
    """Every active admin hears that a webhook subscription was disabled (subscribed when apps is enabled)."""
    from sqlalchemy import select

    admins = request.dbsession.execute(
        select(User.email, User.username).where(User.is_admin.is_(True), User.is_active.is_(True))).all()
    for email, username in admins:
        if email:
            request.enqueue_job(WEBHOOK_DISABLED, {"to": email, "username": username,
                                                   "subscription_id": event.subscription_id, "url": event.url,
                                                   "failures": event.failures, "last_error": event.last_error})


def _customer_and_order(request, event) -> tuple | None:
    user = request.dbsession.get(User, event.user_id)
    if user is None:
        log.warning("%s for order %s: user %s does not exist; no mail", type(event).__name__, event.order_id,
                    event.user_id)
        return None
    from shopcore_orders.api import OrderService  # only subscribed when the payments (and orders) plugin is there

    return user, request.find_service(OrderService).order_summary(event.order_id)


def send_refund_mail(request, event) -> None:
    """`OrderRefunded`: how much came back, why, for which lines, and how much so far."""
    found = _customer_and_order(request, event)
    if found is None:
        return
    user, summary = found
    names = {item["id"]: item["product_name"] for item in summary["items"]}
    refund = {"amount": event.amount, "currency": event.currency, "reason": event.reason, "status": event.status,
              "refunded_total": event.refunded_total, "captured_total": event.captured_total,
              "return_id": event.return_id,
              "lines": [{"product_name": names.get(line.order_line_id, f"line {line.order_line_id}"),
                         "quantity": line.quantity, "amount": line.amount} for line in event.refund_lines]}
    request.enqueue_job(ORDER_REFUNDED, {"to": user.email, "username": user.username,
                                         "order": order_snapshot(summary), "refund": jsonable(refund)})


def return_mail(kind: str) -> Callable:
    """`ReturnRequested` / `ReturnRejected`: the return's lines, its reason (and the shop's note)."""
    def send_return_mail(request, event) -> None:
        found = _customer_and_order(request, event)
        if found is None:
            return
        user, summary = found
        ret = {"id": event.return_id, "reason": event.reason, "note": getattr(event, "note", ""),
               "lines": [{"product_name": line.product_name, "quantity": line.quantity} for line in event.lines]}
        request.enqueue_job(kind, {"to": user.email, "username": user.username, "order": order_snapshot(summary),
                                   "ret": ret})

    send_return_mail.__qualname__ = f"send_{template_name(kind)}"
    return send_return_mail


def payment_mails() -> list[tuple[type, Callable]]:
    """(event class, subscriber) for the payments plugin's events; imported only when it is enabled."""
    from shopcore_payments.events import OrderRefunded, ReturnRejected, ReturnRequested

    return [(OrderRefunded, send_refund_mail), (ReturnRequested, return_mail(RETURN_REQUESTED)),
            (ReturnRejected, return_mail(RETURN_REJECTED))]


def send_mail_job(registry, job) -> None:
    """The job handler of every mail kind: render the snapshot and hand it to the mail backend."""
    from shopcore_notifications import COMPOSER, MAILER

    name = template_name(job.kind)
    message = registry[COMPOSER].compose(name, job.payload, message_key=job.id)
    registry[MAILER].send(message, name=f"{job.created_at:%Y%m%dT%H%M%S}-{name}-{job.id}")
