"""Order rules: checkout from the cart, the order state machine, history and its per-user cache.

`DefaultOrderService` implements `shopcore_orders.api.OrderService`; every method is callable
without HTTP (tests, scripts, the notifications plugin's `order_summary`). Money is Decimal throughout.
"""
from __future__ import annotations

import datetime
from typing import Any, Mapping

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import selectinload

from shopcore.accounts.addresses import Address, address_from_input, default_address, get_address
from shopcore.accounts.models import User
from shopcore.bodies import extend_bodies
from shopcore.clock import utcnow
from shopcore.errors import Conflict, InvalidInput, NotFound, ShopError
from shopcore.extensions import call_extension, extensions, run_extension_point
from shopcore.money import round_money
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body, public_url
from shopcore_cart.api import CartService, Destination, PricedCart
from shopcore_catalog.api import CatalogService

from shopcore_orders.api import OrderService
from shopcore_orders.events import (OrderCancelled, OrderDelivered, OrderEventLine, OrderExpired, OrderPaid,
                                    OrderPlaced, OrderShipped)
from shopcore_orders.models import (ADJUSTMENT_LABEL_MAX, ADJUSTMENT_SOURCE_MAX, CANCELLED, DELIVERED, PAID,
                                    PARTIALLY_REFUNDED, PAYMENT_METHOD_MAX, PENDING, REFUNDED, SHIPPED,
                                    SHIPPING_ADDRESS_MAX, Order, OrderAdjustment, OrderLine)
from shopcore_orders.points import CHECKOUT_VALIDATORS, ORDER_PLACED, PAY_ORDER
from shopcore_orders.settings import SETTINGS_KEY, OrderSettings

CACHE_NAMESPACE = "orders"
# The order body other plugins may add fields to (the payments plugin's returns and refunds).
ORDER_BODY = "orders.order"
# Every admin view (all users' orders) is one cache collection; each customer's orders another.
ALL_ORDERS = "all"
# Statuses in which money was captured and some of it may still be given back.
REFUNDABLE = (PAID, SHIPPED, DELIVERED, PARTIALLY_REFUNDED)
# target status -> the statuses it may follow. A refund changes the status, not the fulfilment:
# `shipped_at` / `delivered_at` say whether a (partially refunded) order may still ship or be delivered.
TRANSITIONS = {PAID: (PENDING,), CANCELLED: (PENDING,), SHIPPED: (PAID, PARTIALLY_REFUNDED),
               DELIVERED: (SHIPPED, PARTIALLY_REFUNDED), PARTIALLY_REFUNDED: REFUNDABLE, REFUNDED: REFUNDABLE}
# What each target also requires of the row, and the moment it records.
FULFILMENT_CONDITIONS = {SHIPPED: lambda: Order.shipped_at.is_(None),
                         DELIVERED: lambda: Order.shipped_at.is_not(None) & Order.delivered_at.is_(None)}
MOMENTS = {SHIPPED: "shipped_at", DELIVERED: "delivered_at"}
# Refunds are described by the payments plugin's own event (it knows the amount and the reason).
EVENTS = {PAID: OrderPaid, CANCELLED: OrderCancelled, SHIPPED: OrderShipped, DELIVERED: OrderDelivered}
# What an admin may set through the status endpoint; paying and cancelling are the customer's.
FULFILMENT_STATUSES = (SHIPPED, DELIVERED)
EDITABLE_FIELDS = {"shipping_address": SHIPPING_ADDRESS_MAX, "payment_method": PAYMENT_METHOD_MAX}


CHECKOUT_RATE_LIMIT = "orders.checkout_user"
# The admin action recorded in the audit log (declared in the plugin's includeme), and its object type.
STATUS_CHANGED = "orders.order.status"
ORDER_OBJECT = "orders.order"
# Transaction data key of `DefaultOrderService._placed_orders`.
_PLACED_ORDERS = object()
# Orders expired per transaction: a backlog is worked through in short transactions.
EXPIRY_BATCH = 100


def user_collection(user_id: int) -> str:
    return f"user:{user_id}"


def parse_order_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "Not a valid string.")
    value = value.strip()
    if not value:
        raise InvalidInput(field, "This field may not be blank.")
    if len(value) > EDITABLE_FIELDS[field]:
        raise InvalidInput(field, f"Ensure this field has no more than {EDITABLE_FIELDS[field]} characters.")
    if "\x00" in value:
        raise InvalidInput(field, "Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can produce
        raise InvalidInput(field, "Not valid Unicode text.") from None
    return value


def money_text(value) -> str:
    return f"{round_money(value):.2f}"


def order_totals(order: Order) -> dict:
    return {"subtotal": order.subtotal, "discount": order.discount_total, "fees": order.fee_total,
            "shipping": order.shipping_total, "tax": order.tax_total, "tax_included": order.tax_included,
            "total": order.total_price}


def order_body(order: Order, items: list[dict], adjustments: list[dict]) -> dict:
    """The API's (and the notifications plugin's) view of an order."""
    return {
        "id": order.id,
        "user": order.user_id,
        "status": order.status,
        "subtotal": order.subtotal,
        "total_price": order.total_price,
        "totals": order_totals(order),
        "shipping_method": order.shipping_method,
        "tax_lines": order.tax_lines or [],
        "shipping_address_details": order.shipping_address_details,
        "billing_address": order.billing_address,
        "shipping_address": order.shipping_address,
        "payment_method": order.payment_method,
        "items": items,
        "adjustments": adjustments,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
    }


def line_body(line_id: int, product_id: int, product_name: str, quantity: int, price, variant_id: int | None = None,
              sku: str | None = None, options: dict | None = None) -> dict:
    """One line; its `id` is what a return or a refund names (`{"item": id, "quantity": n}`)."""
    return {"id": line_id, "product": product_id, "product_name": product_name, "quantity": quantity,
            "price": price, "variant": variant_id, "sku": sku, "options": options}


def loaded_order_body(order: Order) -> dict:
    """`order_body` of an order loaded with its lines and adjustments."""
    return order_body(order, [line_body(line.id, line.product_id, line.product_name, line.quantity, line.price,
                                        line.variant_id, line.sku, line.options)
                              for line in order.lines],
                      [{"label": a.label, "amount": a.amount} for a in order.adjustments])


def checkout_copies(cart: PricedCart, address: Address | None, billing: Address | None) -> dict:
    """The order's columns taken from the priced cart: its totals and copies of what they were made of."""
    totals = cart.totals
    shipping = cart.shipping
    return {
        "subtotal": totals.subtotal, "discount_total": totals.discount, "fee_total": totals.fees,
        "shipping_total": totals.shipping, "tax_total": totals.tax, "tax_included": totals.tax_included,
        "total_price": totals.total,
        "shipping_method": None if shipping is None else {"id": shipping.method_id, "name": shipping.name,
                                                          "price": money_text(shipping.price)},
        "tax_lines": [{**line.as_json(), "amount": money_text(line.amount)} for line in cart.tax_lines],
        "shipping_address_details": None if address is None else address.as_json(),
        "billing_address": None if billing is None else billing.as_json(),
    }


class DefaultOrderService(OrderService):
    """The orders plugin's own `OrderService`, bound to one request (its session and transaction)."""

    def __init__(self, request):
        self.request = request

    @property
    def session(self):
        # Made when first used: a request answered from the cache opens no database session.
        return self.request.dbsession

    @property
    def cache(self):
        return self.request.cache(CACHE_NAMESPACE)

    @property
    def settings(self) -> OrderSettings:
        return self.request.registry[SETTINGS_KEY]

    def _changed(self, user_id: int, order_id: int | None = None) -> None:
        self.cache.invalidate_after_commit(self.request, user_collection(user_id), ALL_ORDERS)
        if order_id is not None:
            self._placed_orders().pop(order_id, None)  # a subscriber changed the order it was told of

    # --- checkout ------------------------------------------------------------------------------------

    def _checkout_addresses(self, user_id: int, shipping_address, shipping_address_id: int | None,
                            billing_address, billing_address_id: int | None) -> tuple[str, Address | None,
                                                                                      Address | None]:
        """(the address text, the structured shipping address or None, the billing address or None).

        The shipping address is given as text (the seed's form), as an address object, or by its id
        in the customer's address book; given none of them, the book's default shipping address is
        used. The billing address (object or id) is optional: none means the shipping address.
        """
        if shipping_address is not None and shipping_address_id is not None:
            raise InvalidInput("shipping_address_id", "Give shipping_address or shipping_address_id, not both.")
        if billing_address is not None and billing_address_id is not None:
            raise InvalidInput("billing_address_id", "Give billing_address or billing_address_id, not both.")
        if isinstance(shipping_address, str):
            structured = None
            text = parse_order_text(shipping_address, "shipping_address")
        else:
            if shipping_address is not None:
                structured = address_from_input(shipping_address, field="shipping_address")
            elif shipping_address_id is not None:
                structured = get_address(self.request, user_id, shipping_address_id, field="shipping_address_id")
            else:
                structured = default_address(self.request, user_id)
                if structured is None:
                    raise ShopError("shipping_address: give an address (text or object) or shipping_address_id; "
                                    "your address book has no default shipping address.",
                                    [{"field": "shipping_address", "message": "This field is required."}])
            text = structured.postal_label()[:SHIPPING_ADDRESS_MAX]
        billing = None
        if billing_address is not None:
            billing = address_from_input(billing_address, field="billing_address")
        elif billing_address_id is not None:
            billing = get_address(self.request, user_id, billing_address_id, field="billing_address_id")
        return text, structured, billing

    def place_order(self, user_id: int, shipping_address: str | Mapping[str, Any] | None, payment_method: str, *,
                    shipping_address_id: int | None = None, billing_address: Mapping[str, Any] | None = None,
                    billing_address_id: int | None = None, shipping_method: int | None = None) -> dict:
        """Turn the user's cart into a pending order, all or nothing, in the request's transaction.

        The order is placed for the totals the cart shows for the same destination and shipping
        method (`CartService.priced_cart`), and keeps copies of the addresses, the method and the
        tax lines. A checkout the shipping or tax plugin cannot price yet (no method ships there, no
        country for tax) is a 400 naming the field to give.

        Every line's stock is taken by one conditional UPDATE; if any line is short, a 409 names it
        and nothing is written (the caller's transaction rolls back; the catalog has already put
        back what it took). Prices are those of the cart now, copied into the order's lines.

        The stock is taken last, after the order, its lines, the emptied cart and the `OrderPlaced`
        subscribers' writes (the order-placed mail's outbox row): on PostgreSQL the UPDATE row-locks
        the products, the hottest rows of the shop, which every other checkout of them then waits
        for, so they are held only from that UPDATE to the commit (bench/README.md measures it).
        A short line rolls all of it back, as any 409 does.

        Each attempt counts against the customer's checkout rate limit (429 with Retry-After), and a
        customer may hold at most `max_pending_quantity` units of a product in unpaid orders.
        """
        self.request.registry["shopcore.accounts.rate_limits"].hit(CHECKOUT_RATE_LIMIT, str(user_id))
        payment_method = parse_order_text(payment_method, "payment_method")
        address_text, address, billing = self._checkout_addresses(user_id, shipping_address, shipping_address_id,
                                                                  billing_address, billing_address_id)
        destination = None if address is None else Destination(address.country, address.region,
                                                                address.postal_code)
        carts = self.request.find_service(CartService)
        cart = carts.priced_cart(user_id, destination=destination, shipping_method=shipping_method)
        if not cart.lines:
            raise ShopError("Your cart is empty.", [{"field": "cart", "message": "Add products before checking out."}])
        if cart.checkout_problems:
            field, message = cart.checkout_problems[0]
            raise InvalidInput(field, message)
        if cart.unavailable_lines:
            # Known short already; the conditional UPDATE below still decides for lines that look fine.
            line = cart.unavailable_lines[0]
            raise self._unavailable(line.product_id, line.product_name, line.quantity, line.quantity_available,
                                    sold=line.sold)
        self._check_pending_quantities(user_id, cart.lines)
        # A validator refuses with CheckoutRefused, a Conflict: it propagates as the 409.
        run_extension_point(self.request, CHECKOUT_VALIDATORS, cart.snapshot)

        now = utcnow()
        order = Order(user_id=user_id, status=PENDING, payment_method=payment_method, created_at=now, updated_at=now,
                      shipping_address=address_text, **checkout_copies(cart, address, billing))
        self.session.add(order)
        self.session.flush()
        lines = [{"order_id": order.id, "product_id": line.product_id, "product_name": line.product_name,
                  "quantity": line.quantity, "price": line.unit_price, "variant_id": line.variant_id,
                  "sku": line.sku, "options": line.options} for line in cart.lines]
        adjustments = [{"order_id": order.id, "label": a.label[:ADJUSTMENT_LABEL_MAX],
                        "amount": round_money(a.amount),
                        "source": a.source[:ADJUSTMENT_SOURCE_MAX]} for a in cart.adjustments]
        # One multi-row INSERT each, whatever the number of lines (the ORM's unit of work would
        # insert them one by one on SQLite to read back their ids). RETURNING gives the line ids; one
        # multi-row INSERT numbers its rows in VALUES order on PostgreSQL (serial) and SQLite (rowid),
        # so the ascending ids pair with the lines in order (asking SQLAlchemy to sort them would make
        # it insert row by row on SQLite).
        line_ids = sorted(self.session.scalars(insert(OrderLine).returning(OrderLine.id), lines).all())
        if adjustments:
            self.session.execute(insert(OrderAdjustment), adjustments)
        run_extension_point(self.request, ORDER_PLACED, order, cart.snapshot)
        carts.clear(user_id)
        body = order_body(order, [line_body(line_id, v["product_id"], v["product_name"], v["quantity"], v["price"],
                                            v["variant_id"], v["sku"], v["options"])
                                  for line_id, v in zip(line_ids, lines)],
                          [{"label": a["label"], "amount": a["amount"]} for a in adjustments])
        # While its subscribers run, `order_summary` of this order is the body just built: the
        # order-placed mail then re-reads nothing of what this transaction has just written.
        placed = self._placed_orders()
        placed[order.id] = body
        try:
            self.request.notify(OrderPlaced(order_id=order.id, user_id=user_id, total_price=order.total_price,
                                            lines=tuple(OrderEventLine(v["product_id"], v["quantity"], v["price"])
                                                        for v in lines)))
        finally:
            placed.pop(order.id, None)

        # The customer's cached orders go stale at the commit; said now, so that its Redis write is not
        # made while the products are locked.
        self._changed(user_id)
        # Last: the stock (see the docstring). Nothing after this but the commit (and, with an
        # Idempotency-Key, the one UPDATE that keeps the response).
        catalog = self.request.find_service(CatalogService)
        # Per variant (a cart holds one line per variant), all or nothing, race-free.
        short = catalog.take_variant_stock_many({line.variant_id: line.quantity for line in cart.lines})
        if short:
            line = next(line for line in cart.lines if line.variant_id in short)
            variant = catalog.get_variants([line.variant_id]).get(line.variant_id)
            sold = variant is not None and variant.is_active
            raise self._unavailable(line.product_id, line.product_name, line.quantity,
                                    variant.stock if sold else 0, sold=sold)
        return body

    def _placed_orders(self) -> dict[int, dict]:
        """Bodies of the orders this transaction placed, while their `OrderPlaced` subscribers run."""
        transaction = self.request.tm.get()
        try:
            return transaction.data(_PLACED_ORDERS)
        except KeyError:
            placed: dict[int, dict] = {}
            transaction.set_data(_PLACED_ORDERS, placed)
            return placed

    def _check_pending_quantities(self, user_id: int, lines) -> None:
        """409 if this order would give the customer more than `max_pending_quantity` units of a
        product in unpaid orders: no one holds a product's stock back from everyone else by never paying.

        The customer's row is locked first, so two checkouts of one customer are counted one after
        the other (PostgreSQL; SQLite writes one transaction at a time anyway).
        """
        cap = self.settings.max_pending_quantity
        # FOR NO KEY UPDATE: rows that merely reference the user (a cart line, a key) are not held up.
        self.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
        held = dict(self.session.execute(
            select(OrderLine.product_id, func.sum(OrderLine.quantity))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.user_id == user_id, Order.status == PENDING,
                   OrderLine.product_id.in_([line.product_id for line in lines]))
            .group_by(OrderLine.product_id)).all())
        # A product's variants count together (a cart has a line per variant).
        in_cart: dict[int, int] = {}
        for line in lines:
            in_cart[line.product_id] = in_cart.get(line.product_id, 0) + line.quantity
        for line in lines:
            already = int(held.get(line.product_id) or 0)
            if already + in_cart[line.product_id] > cap:
                label = f"{line.product_name!r} (product {line.product_id})"
                message = (f"At most {cap} units of {label} may wait in unpaid orders; you have {already} in "
                           f"unpaid orders and {in_cart[line.product_id]} in the cart. Pay or cancel those "
                           "orders first.")
                raise Conflict(message, [{"field": "cart", "message": message}])

    @staticmethod
    def _unavailable(product_id: int, name: str | None, wanted: int, available: int, *, sold: bool) -> Conflict:
        label = f"{name!r} (product {product_id})" if name else f"Product {product_id}"
        if sold:
            message = f"Not enough stock for {label}: {available} available, {wanted} in the cart."
        else:
            message = f"{label} is no longer available: 0 available, {wanted} in the cart."
        return Conflict(message, [{"field": "cart", "message": message}])

    # --- reading ---------------------------------------------------------------------------------------

    def _loaded(self):
        return select(Order).options(selectinload(Order.lines), selectinload(Order.adjustments))

    def get_order(self, viewer_id: int, order_id: int, *, is_admin: bool = False) -> dict:
        """One order; a customer sees only their own (anyone else's is a 404), an admin any."""
        collection = ALL_ORDERS if is_admin else user_collection(viewer_id)
        key = self.cache.key(collection, "order", order_id)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        statement = self._loaded().where(Order.id == order_id)
        if not is_admin:
            statement = statement.where(Order.user_id == viewer_id)
        order = self.session.scalar(statement)
        if order is None:
            raise NotFound("Order not found.")
        body = loaded_order_body(order)
        extend_bodies(self.request, ORDER_BODY, [body])
        self.cache.set(key, body)
        return body

    def list_orders(self, viewer_id: int, *, is_admin: bool = False, page: int = 1,
                    page_size: int = DEFAULT_PAGE_SIZE, status: str | None = None, user: int | None = None) -> dict:
        """A page of orders, newest first: the viewer's own, or (admins) everyone's, filtered.

        Three queries whatever the number of lines: the page, its lines, its adjustments (and a
        count when the page is full). The cache key and the page links are made of these arguments
        alone; the links start at `shopcore.base_url`.
        """
        collection = ALL_ORDERS if is_admin else user_collection(viewer_id)
        key = self.cache.key(collection, "list", page, page_size, status or "", user or "")
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        statement = self._loaded().order_by(Order.created_at.desc(), Order.id.desc())
        if not is_admin:
            statement = statement.where(Order.user_id == viewer_id)
        if user is not None:
            statement = statement.where(Order.user_id == user)
        if status is not None:
            statement = statement.where(Order.status == status)
        found = fetch_page(self.session, statement, page, page_size)
        params: dict[str, Any] = {name: value for name, value in (("status", status), ("user", user))
                                  if value is not None}
        if page_size != DEFAULT_PAGE_SIZE:
            params["page_size"] = page_size
        results = [loaded_order_body(order) for order in found.rows]
        extend_bodies(self.request, ORDER_BODY, results)
        body = page_body(found, results, public_url(self.request, "orders"), params)
        self.cache.set(key, body)
        return body

    def order_summary(self, order_id: int) -> dict:
        """An order as the notifications plugin mails it (uncached: it is called inside the transaction)."""
        just_placed = self._placed_orders().get(order_id)
        if just_placed is not None:
            return {**just_placed, "items": [dict(item) for item in just_placed["items"]],
                    "adjustments": [dict(a) for a in just_placed["adjustments"]], "user_id": just_placed["user"]}
        order = self.session.scalar(self._loaded().where(Order.id == order_id))
        if order is None:
            raise NotFound("Order not found.")
        summary = loaded_order_body(order)
        summary["user_id"] = summary["user"]
        return summary

    def is_product_referenced(self, product_id: int) -> bool:
        return bool(self.session.scalar(select(exists().where(OrderLine.product_id == product_id))))

    # --- changes -----------------------------------------------------------------------------------------

    def update_order(self, user_id: int, order_id: int, changes: Mapping[str, Any]) -> dict:
        """Change the shipping address or payment method of one's own pending order."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "This field cannot be changed.")
        if not changes:
            raise ShopError("Nothing to change.", [{"field": "body", "message": "Give shipping_address or "
                                                                                  "payment_method."}])
        values = {field: parse_order_text(value, field) for field, value in changes.items()}
        statement = update(Order).where(Order.id == order_id, Order.user_id == user_id, Order.status == PENDING)
        if "shipping_address" in values:
            # Shipping and tax were priced for a structured address: its text cannot change alone.
            statement = statement.where(Order.shipping_address_details.is_(None))
        changed = self.session.execute(
            statement
            .values(**values, updated_at=utcnow()).execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            current = self._current_status(order_id, user_id)
            if current == PENDING:
                message = ("This order's shipping and tax were priced for its structured address, which "
                           "cannot change; cancel the order and check out again.")
                raise Conflict(message, [{"field": "shipping_address", "message": message}])
            raise Conflict(f"Order {order_id} is {current}; only a pending order can be changed.",
                           [{"field": "status", "message": f"The order is {current}."}])
        self._changed(user_id, order_id)
        order = self.session.scalar(self._loaded().where(Order.id == order_id).execution_options(
            populate_existing=True))
        return loaded_order_body(order)

    def pay(self, user_id: int, order_id: int) -> dict:
        """Pay one's own pending order: through the first `orders.pay` implementation that takes the
        payment (the payments plugin's providers), else by the simulation of the seed (a status change)."""
        for extension in extensions(self.request.registry, PAY_ORDER):
            answer = call_extension(self.request, extension, order_id, user_id)
            if answer is not None:
                return answer
        self._transition(order_id, PAID, owner_id=user_id)
        return {"detail": "Payment successful."}

    def mark_paid(self, order_id: int) -> None:
        """A pending order's payment was taken (by the payments plugin): pending -> paid, emits `OrderPaid`."""
        self._transition(order_id, PAID)

    def mark_refunded(self, order_id: int, *, fully: bool) -> str:
        """Money of a paid (shipped, delivered) order was given back: -> `refunded` when all of what was
        captured is back, else `partially_refunded`. Emits no event of its own: the refund's owner
        (the payments plugin) emits one saying how much and why. Returns the new status."""
        target = REFUNDED if fully else PARTIALLY_REFUNDED
        self._transition(order_id, target)
        return target

    def cancel(self, user_id: int, order_id: int) -> dict:
        """Cancel one's own pending order and put its units back in stock."""
        self._transition(order_id, CANCELLED, owner_id=user_id)
        self._return_stock(select(OrderLine.product_id, OrderLine.variant_id, OrderLine.quantity)
                           .where(OrderLine.order_id == order_id))
        return {"detail": "Order cancelled successfully."}

    def expire_pending(self, older_than: datetime.timedelta, *, now: datetime.datetime | None = None,
                       limit: int = EXPIRY_BATCH) -> list[int]:
        """Cancel up to `limit` orders still pending `older_than` after checkout and put their stock back.

        One conditional UPDATE (`status = 'pending'` again in its WHERE) decides which orders expire:
        a payment or a cancellation racing with it waits for the row and then finds it cancelled (a
        409), or wins and the expiry skips that order. Only the orders this UPDATE changed return
        their stock and emit `OrderExpired` (the customer's mail, the coupons' use given back), so
        each order's stock comes back exactly once. Returns their ids.
        """
        cutoff = (now or utcnow()) - older_than
        due = (select(Order.id).where(Order.status == PENDING, Order.created_at < cutoff)
               .order_by(Order.created_at, Order.id).limit(limit))
        expired = self.session.execute(
            update(Order).where(Order.id.in_(due.scalar_subquery()), Order.status == PENDING,
                                Order.created_at < cutoff)
            .values(status=CANCELLED, updated_at=utcnow()).returning(Order.id, Order.user_id, Order.total_price)
            .execution_options(synchronize_session=False)
        ).all()
        if not expired:
            return []
        # One query for every expired order's lines: their events carry them, and the stock goes back
        # per product, in product order (a fixed lock order against concurrent stock changes).
        lines: dict[int, list[OrderEventLine]] = {row.id: [] for row in expired}
        for line in self.session.execute(
                select(OrderLine.order_id, OrderLine.product_id, OrderLine.quantity, OrderLine.price)
                .where(OrderLine.order_id.in_(list(lines))).order_by(OrderLine.order_id, OrderLine.id)):
            lines[line.order_id].append(OrderEventLine(line.product_id, line.quantity, line.price))
        self._return_stock(select(OrderLine.product_id, OrderLine.variant_id, OrderLine.quantity)
                           .where(OrderLine.order_id.in_(list(lines))))
        for row in sorted(expired):
            self._changed(row.user_id, row.id)
            self.request.notify(OrderExpired(order_id=row.id, user_id=row.user_id, total_price=row.total_price,
                                             lines=tuple(lines[row.id])))
        return sorted(row.id for row in expired)

    def _return_stock(self, lines_query) -> None:
        """Give the lines' units back to their variants, per variant in id order (a fixed lock order
        against concurrent stock changes); a line older than variants goes back to its product."""
        to_variants: dict[int, int] = {}
        to_products: dict[int, int] = {}
        for line in self.session.execute(lines_query):
            if line.variant_id is not None:
                to_variants[line.variant_id] = to_variants.get(line.variant_id, 0) + line.quantity
            else:
                to_products[line.product_id] = to_products.get(line.product_id, 0) + line.quantity
        catalog = self.request.find_service(CatalogService)
        for variant_id in sorted(to_variants):
            catalog.return_variant_stock(variant_id, to_variants[variant_id])
        for product_id in sorted(to_products):
            catalog.return_stock(product_id, to_products[product_id])

    def set_status(self, order_id: int, status: str) -> dict:
        """An admin moves a paid order on: paid -> shipped -> delivered."""
        if status not in FULFILMENT_STATUSES:
            raise InvalidInput("status", f"Must be one of: {', '.join(FULFILMENT_STATUSES)}.")
        # A status may follow more than one (shipped follows paid or partially refunded): the audit entry
        # records the one the order really had, read under the row lock the transition takes anyway.
        before = self.session.scalar(select(Order.status).where(Order.id == order_id).with_for_update())
        self._transition(order_id, status)
        self.request.audit(STATUS_CHANGED, ORDER_OBJECT, order_id, before={"status": before},
                           after={"status": status})
        order = self.session.scalar(self._loaded().where(Order.id == order_id).execution_options(
            populate_existing=True))
        return loaded_order_body(order)

    def _transition(self, order_id: int, target: str, owner_id: int | None = None) -> tuple[OrderEventLine, ...]:
        """Move the order from the one status `target` may follow, with one conditional UPDATE.

        Two requests racing (a pay and a cancel) both aim at `status = 'pending'`; the database lets
        exactly one of them match, the other sees the new status and gets a 409 naming it.
        Returns the order's lines (as its event carries them).
        """
        statement = update(Order).where(Order.id == order_id, Order.status.in_(TRANSITIONS[target]))
        if target in FULFILMENT_CONDITIONS:
            statement = statement.where(FULFILMENT_CONDITIONS[target]())
        if owner_id is not None:
            statement = statement.where(Order.user_id == owner_id)
        now = utcnow()
        values = {"status": target, "updated_at": now}
        if target in MOMENTS:
            values[MOMENTS[target]] = now
        row = self.session.execute(
            statement.values(**values).returning(Order.user_id, Order.total_price)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            current = self._current_status(order_id, owner_id)
            raise Conflict(f"Order {order_id} is {current}; it cannot become {target}.",
                           [{"field": "status", "message": f"The order is {current}."}])
        self._changed(row.user_id, order_id)
        if target not in EVENTS:
            return ()
        lines = tuple(OrderEventLine(line.product_id, line.quantity, line.price) for line in self.session.execute(
            select(OrderLine.product_id, OrderLine.quantity, OrderLine.price)
            .where(OrderLine.order_id == order_id).order_by(OrderLine.id)))
        self.request.notify(EVENTS[target](order_id=order_id, user_id=row.user_id, total_price=row.total_price,
                                           lines=lines))
        return lines

    def _current_status(self, order_id: int, owner_id: int | None) -> str:
        statement = select(Order.status).where(Order.id == order_id)
        if owner_id is not None:
            statement = statement.where(Order.user_id == owner_id)
        current = self.session.scalar(statement)
        if current is None:
            raise NotFound("Order not found.")
        return current


def order_service_factory(context, request) -> DefaultOrderService:
    return DefaultOrderService(request)


def forget_order_bodies(request, ids: list[int]) -> None:
    """The `orders.order` body's invalidation: the orders' cached bodies (their customers' and the
    admins' lists and details) go when the transaction commits."""
    users = request.dbsession.scalars(select(Order.user_id).where(Order.id.in_(ids)).distinct()).all()
    request.cache(CACHE_NAMESPACE).invalidate_after_commit(request, ALL_ORDERS, *map(user_collection, users))


def order_lines_keep_product(request, product_id: int) -> bool:
    """The `catalog.product_referenced` extension: a product some order line names is deactivated, not deleted."""
    return request.find_service(OrderService).is_product_referenced(product_id)
