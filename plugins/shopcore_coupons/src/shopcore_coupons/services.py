"""Coupon rules with the database: admins' codes, the code on a customer's cart, and its use at checkout.

Registered as a service under its own class (`request.find_service(CouponService)`). The extension
points in `shopcore_coupons.checkout` call `price`, `take_use`, `record_redemption` and `release`;
the views call the rest.

How a use is counted: checkout's validator takes it with one conditional UPDATE
(`uses = uses + 1 WHERE uses < usage_limit AND not expired AND active`) and one conditional upsert of
the customer's own count, both in the checkout's transaction. Concurrent checkouts queue on the
coupon's row and each sees the count the one before it committed, so a limit of N gives N orders;
the others are refused with a 409 saying why, and a checkout that fails later gives its use back by
rolling back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shopcore.accounts.ratelimit import client_ip
from shopcore.clock import utcnow
from shopcore.db import upsert
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore_cart.api import CartSnapshot
from shopcore_orders.api import CheckoutRefused
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body

from shopcore_coupons.models import AppliedCoupon, Coupon, CustomerUses, Redemption
from shopcore_coupons.terms import (ZERO, Terms, money, parse_active, parse_code, parse_expiry, parse_kind,
                                    parse_limit, parse_minimum, parse_value)

ADJUSTMENT_SOURCE = "coupons"
RATE_LIMIT_PREFIX = "coupons."
# Unknown, inactive, expired and used-up codes get this same answer, so trying codes tells nothing
# about which exist (a customer's own per-customer limit is still explained: they know that code).
NOT_USABLE = "This code does not exist or can no longer be used."
EDITABLE = ("code", "kind", "value", "minimum_total", "expires_at", "usage_limit", "per_customer_limit", "active")
COUPON_COLUMNS = tuple(Coupon.__table__.c)


@dataclass(frozen=True)
class Pricing:
    """What the code on a cart does to it now: the coupon (None without one), its discount, or why not."""

    terms: Terms | None
    discount: Decimal = ZERO
    refusal: str | None = None


@dataclass
class CheckoutState:
    """One request's pricing and taken use, so checkout counts a use exactly when it priced a discount."""

    priced: dict[int, tuple[CartSnapshot, Pricing]] = field(default_factory=dict)
    taken: dict[int, tuple[Terms, Decimal]] = field(default_factory=dict)


def checkout_state(request) -> CheckoutState:
    """`request.coupons_checkout`, made once per request."""
    return CheckoutState()


def coupon_body(coupon) -> dict:
    return {
        "id": coupon.id,
        "code": coupon.code,
        "kind": coupon.kind,
        "value": money(coupon.value),
        "minimum_total": None if coupon.minimum_total is None else money(coupon.minimum_total),
        "expires_at": coupon.expires_at,
        "usage_limit": coupon.usage_limit,
        "per_customer_limit": coupon.per_customer_limit,
        "uses": coupon.uses,
        "active": coupon.active,
        "created_at": coupon.created_at,
        "updated_at": coupon.updated_at,
    }


# Admin actions recorded in the audit log (declared in the plugin's includeme), and their object type.
COUPON_OBJECT = "coupons.coupon"
COUPON_CREATED, COUPON_UPDATED, COUPON_DELETED = "coupons.coupon.create", "coupons.coupon.update", "coupons.coupon.delete"
AUDITED_ACTIONS = {COUPON_CREATED: "A coupon was created", COUPON_UPDATED: "A coupon's terms changed",
                   COUPON_DELETED: "A coupon was deleted"}


def audited_terms(coupon) -> dict:
    """A coupon's terms as the audit log keeps them (its body without the moments of its own row)."""
    body = coupon_body(coupon)
    del body["created_at"], body["updated_at"]
    return body


def applied_body(terms: Terms) -> dict:
    """What a customer sees of the coupon on their cart (not its usage counts)."""
    return {"code": terms.code, "label": terms.label, "kind": terms.kind, "value": terms.value,
            "minimum_total": terms.minimum_total, "expires_at": terms.expires_at}


class CouponService:
    def __init__(self, request):
        self.request = request
        self.session = request.dbsession

    @property
    def _state(self) -> CheckoutState:
        return self.request.coupons_checkout

    # --- admin ---------------------------------------------------------------------------------------

    def create(self, fields: Mapping[str, Any]) -> dict:
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "Unknown field.")
        for required in ("code", "kind", "value"):
            if required not in fields:
                raise InvalidInput(required, "This field is required.")
        kind = parse_kind(fields["kind"])
        now = utcnow()
        coupon = Coupon(code=parse_code(fields["code"]), kind=kind, value=parse_value(kind, fields["value"]),
                        minimum_total=parse_minimum(fields.get("minimum_total")),
                        expires_at=parse_expiry(fields.get("expires_at")),
                        usage_limit=parse_limit(fields.get("usage_limit"), "usage_limit"),
                        per_customer_limit=parse_limit(fields.get("per_customer_limit"), "per_customer_limit"),
                        active=parse_active(fields.get("active", True)), uses=0, created_at=now, updated_at=now)
        self._save(coupon)
        self.request.audit(COUPON_CREATED, COUPON_OBJECT, coupon.id, before=None, after=audited_terms(coupon))
        return coupon_body(coupon)

    def list(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
             params: Mapping[str, Any] | None = None) -> dict:
        """A page of coupons, newest first."""
        found = fetch_page(self.session, select(Coupon).order_by(Coupon.id.desc()), page, page_size)
        return page_body(found, [coupon_body(coupon) for coupon in found.rows], base_url, params or {})

    def get(self, coupon_id: int) -> dict:
        row = self.session.execute(select(*COUPON_COLUMNS).where(Coupon.id == coupon_id)).first()
        if row is None:
            raise NotFound("Coupon not found.")
        return coupon_body(row)

    def update(self, coupon_id: int, changes: Mapping[str, Any]) -> dict:
        """Change any of a coupon's terms; fields left out keep their value, null clears an optional one."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "This field cannot be changed.")
        # Locked, so no checkout can count a use between the limit check below and the commit.
        coupon = self.session.scalar(select(Coupon).where(Coupon.id == coupon_id).with_for_update())
        if coupon is None:
            raise NotFound("Coupon not found.")
        values: dict[str, Any] = {}
        if "code" in changes:
            values["code"] = parse_code(changes["code"])
        if "kind" in changes or "value" in changes:
            values["kind"] = parse_kind(changes.get("kind", coupon.kind))
            # Checked against the kind it will have: 150.00 off is fine, 150% is not.
            values["value"] = parse_value(values["kind"], changes.get("value", f"{money(coupon.value)}"))
        if "minimum_total" in changes:
            values["minimum_total"] = parse_minimum(changes["minimum_total"])
        if "expires_at" in changes:
            values["expires_at"] = parse_expiry(changes["expires_at"])
        if "usage_limit" in changes:
            limit = parse_limit(changes["usage_limit"], "usage_limit")
            if limit is not None and limit < coupon.uses:
                message = f"The coupon has already been used {coupon.uses} times; the limit cannot be lower."
                raise Conflict(f"usage_limit: {message}", [{"field": "usage_limit", "message": message}])
            values["usage_limit"] = limit
        if "per_customer_limit" in changes:
            values["per_customer_limit"] = parse_limit(changes["per_customer_limit"], "per_customer_limit")
        if "active" in changes:
            values["active"] = parse_active(changes["active"])
        before = audited_terms(coupon)
        self._save(coupon, {**values, "updated_at": utcnow()})
        self.request.audit(COUPON_UPDATED, COUPON_OBJECT, coupon.id, before=before, after=audited_terms(coupon))
        return coupon_body(coupon)

    def delete(self, coupon_id: int) -> None:
        """Delete a coupon; carts holding it lose it. Orders keep their discount lines."""
        row = self.session.execute(select(*COUPON_COLUMNS).where(Coupon.id == coupon_id)).first()
        if row is None or self.session.execute(delete(Coupon).where(Coupon.id == coupon_id)).rowcount == 0:
            raise NotFound("Coupon not found.")
        self.request.audit(COUPON_DELETED, COUPON_OBJECT, coupon_id, before=audited_terms(row), after=None)

    def _save(self, coupon: Coupon, changes: Mapping[str, Any] | None = None) -> None:
        """Add a new coupon, or apply `changes` to one, in a savepoint: a code another request has taken
        is then a 409, not a failed transaction. (Changes are made inside it: opening it flushes.)"""
        code = (changes or {}).get("code", coupon.code)
        try:
            with self.session.begin_nested():
                if changes is None:
                    self.session.add(coupon)
                for name, value in (changes or {}).items():
                    setattr(coupon, name, value)
                self.session.flush()
        except IntegrityError:
            if self.session.scalar(select(Coupon.id).where(Coupon.code == code, Coupon.id != (coupon.id or 0))) is None:
                raise
            message = f"A coupon with the code {code} already exists."
            raise Conflict(f"code: {message}", [{"field": "code", "message": message}]) from None

    def redemptions(self, coupon_id: int) -> list[dict]:
        """The orders that used a coupon, oldest first (a cancelled order's has `released_at`)."""
        rows = self.session.execute(
            select(Redemption.order_id, Redemption.user_id, Redemption.discount, Redemption.created_at,
                   Redemption.released_at).where(Redemption.coupon_id == coupon_id).order_by(Redemption.id)).all()
        return [{"order": row.order_id, "user": row.user_id, "discount": money(row.discount),
                 "created_at": row.created_at, "released_at": row.released_at} for row in rows]

    # --- a customer's cart -----------------------------------------------------------------------------

    def apply(self, user_id: int, code: Any) -> dict:
        """Put a code on the customer's cart, replacing any other; refused if it cannot be used now.

        The minimum order total is not checked here (a customer may apply a code and then fill the
        cart); the cart shows no discount until it is reached, and checkout refuses below it.

        Every attempt counts against the customer's and the client address's rate limits (429 with
        Retry-After once spent), so codes cannot be guessed at speed.
        """
        limits = self.request.registry["shopcore.accounts.rate_limits"]
        limits.hit(RATE_LIMIT_PREFIX + "apply_ip", client_ip(self.request))
        limits.hit(RATE_LIMIT_PREFIX + "apply_user", str(user_id))
        code = parse_code(code)
        now = utcnow()
        found = self._terms(Coupon.code == code, user_id)
        if found is None or not found[0].usable(now):
            raise InvalidInput("code", NOT_USABLE)
        terms, used = found
        reason = terms.refusal(now, used)
        if reason:
            raise Conflict(reason, [{"field": "code", "message": reason}])
        # Two applies racing for one cart: the last one wins, neither fails.
        upsert(self.session, AppliedCoupon, {"user_id": user_id, "coupon_id": terms.id, "applied_at": now},
               conflict=[AppliedCoupon.user_id], update=["coupon_id", "applied_at"])
        return applied_body(terms)

    def applied(self, user_id: int) -> dict:
        found = self._applied_terms(user_id)
        if found is None:
            raise NotFound("No coupon is applied to your cart.")
        return applied_body(found[0])

    def remove(self, user_id: int) -> None:
        """Take the code off the cart; removing when there is none is not an error."""
        self.session.execute(delete(AppliedCoupon).where(AppliedCoupon.user_id == user_id))

    def _terms(self, condition, user_id: int) -> tuple[Terms, int] | None:
        """The coupon matching `condition` and how many times `user_id` has used it, in one query."""
        row = self.session.execute(
            select(*COUPON_COLUMNS, CustomerUses.uses.label("customer_uses"))
            .outerjoin(CustomerUses, and_(CustomerUses.coupon_id == Coupon.id, CustomerUses.user_id == user_id))
            .where(condition)
        ).first()
        return None if row is None else (Terms.of(row), row.customer_uses or 0)

    def _applied_terms(self, user_id: int) -> tuple[Terms, int] | None:
        applied = select(AppliedCoupon.coupon_id).where(AppliedCoupon.user_id == user_id).scalar_subquery()
        return self._terms(Coupon.id == applied, user_id)

    # --- pricing and checkout (called by the extension points) ---------------------------------------------

    def price(self, cart: CartSnapshot) -> Pricing:
        """The discount the cart's code gives now, or why it gives none."""
        found = self._applied_terms(cart.user_id)
        if found is None:
            pricing = Pricing(None)
        else:
            terms, used = found
            subtotal = money(cart.subtotal)
            reason = terms.refusal(utcnow(), used, subtotal)
            pricing = Pricing(terms, ZERO if reason else terms.discount(subtotal), reason)
        self._state.priced[cart.user_id] = (cart, pricing)
        return pricing

    def take_use(self, cart: CartSnapshot) -> None:
        """Count one use of the cart's coupon for this checkout, or refuse the checkout saying why.

        Uses the pricing this request made of this very cart (the discount the order will carry), so a
        use is taken exactly when the order gets the discount line.
        """
        priced = self._state.priced.get(cart.user_id)
        pricing = priced[1] if priced is not None and priced[0] is cart else self.price(cart)
        terms = pricing.terms
        if terms is None:
            return
        if pricing.refusal:
            raise CheckoutRefused(pricing.refusal)
        if pricing.discount <= 0:
            return
        taken = self.session.execute(
            update(Coupon)
            .where(Coupon.id == terms.id, Coupon.active.is_(True),
                   or_(Coupon.usage_limit.is_(None), Coupon.uses < Coupon.usage_limit),
                   or_(Coupon.expires_at.is_(None), Coupon.expires_at > utcnow()))
            .values(uses=Coupon.uses + 1)
            .returning(Coupon.per_customer_limit)
            .execution_options(synchronize_session=False)
        ).first()
        if taken is None:
            raise CheckoutRefused(self._why_not(terms, cart.user_id))
        limit = taken.per_customer_limit
        counted = upsert(self.session, CustomerUses, {"coupon_id": terms.id, "user_id": cart.user_id, "uses": 1},
                         conflict=[CustomerUses.coupon_id, CustomerUses.user_id],
                         update={"uses": CustomerUses.uses + 1},
                         where=None if limit is None else CustomerUses.uses < limit,
                         returning=[CustomerUses.uses]).first()
        if counted is None:
            raise CheckoutRefused(self._why_not(terms, cart.user_id))
        self._state.taken[cart.user_id] = (terms, pricing.discount)

    def _why_not(self, seen: Terms, user_id: int) -> str:
        found = self._terms(Coupon.id == seen.id, user_id)
        if found is None:
            return f"Coupon {seen.code} no longer exists."
        terms, used = found
        return terms.refusal(utcnow(), used) or f"Coupon {seen.code} cannot be used right now."

    def record_redemption(self, order_id: int, cart: CartSnapshot) -> None:
        """The order exists: keep which coupon it used, and take the code off the cart (it is spent)."""
        taken = self._state.taken.pop(cart.user_id, None)
        if taken is None:
            return
        terms, discount = taken
        self.session.execute(insert(Redemption).values(coupon_id=terms.id, user_id=cart.user_id, order_id=order_id,
                                                       discount=discount, created_at=utcnow()))
        self.session.execute(delete(AppliedCoupon).where(AppliedCoupon.user_id == cart.user_id))

    def release(self, order_id: int) -> None:
        """A cancelled order gives its use back, to the coupon and to its customer (once, however often called)."""
        released = self.session.execute(
            update(Redemption).where(Redemption.order_id == order_id, Redemption.released_at.is_(None))
            .values(released_at=utcnow()).returning(Redemption.coupon_id, Redemption.user_id)
            .execution_options(synchronize_session=False)
        ).first()
        if released is None:
            return
        self.session.execute(update(Coupon).where(Coupon.id == released.coupon_id, Coupon.uses > 0)
                             .values(uses=Coupon.uses - 1).execution_options(synchronize_session=False))
        self.session.execute(update(CustomerUses)
                             .where(CustomerUses.coupon_id == released.coupon_id,
                                    CustomerUses.user_id == released.user_id, CustomerUses.uses > 0)
                             .values(uses=CustomerUses.uses - 1).execution_options(synchronize_session=False))


def coupon_service_factory(context, request) -> CouponService:
    return CouponService(request)

