"""Property tests (hypothesis) of the totals: over random carts, rates, coupons and shipping prices the
total equals its parts exactly, nothing is negative, tax is its rounded lines, and the cart shows exactly
the totals the order is then placed for."""
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopcore_cart.api import Adjustment, CartLine, CartSnapshot
from shopcore_cart.totals import goods_lines, share_in_cents
from shopcore_tax.services import line_tax

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
money = st.integers(min_value=1, max_value=500_000).map(lambda cents: Decimal(cents) * CENT)
percent = st.sampled_from(["0", "2.5", "5.5", "7", "7.7", "8.875", "19", "21", "25"])
BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "DE"}


@given(total=st.integers(min_value=0, max_value=10_000_000), weights=st.lists(
    st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=12))
def test_a_discount_is_shared_in_cents_that_add_up_and_never_exceed_a_line(total, weights):
    weights = [Decimal(weight) * CENT for weight in weights]
    total = min(Decimal(total) * CENT, sum(weights, ZERO))
    shares = share_in_cents(total, weights)
    if sum(weights, ZERO) > 0:
        assert sum(shares, ZERO) == total
    assert all(ZERO <= share <= weight for share, weight in zip(shares, weights))


@given(lines=st.lists(st.tuples(money, st.integers(min_value=1, max_value=20)), min_size=1, max_size=8),
       adjustments=st.lists(st.integers(min_value=-1_000_000, max_value=50_000), max_size=3))
def test_goods_after_discount_and_fees_add_up(lines, adjustments):
    snapshot = CartSnapshot(user_id=1, lines=tuple(CartLine(index, f"P{index}", price, quantity)
                                                   for index, (price, quantity) in enumerate(lines)))
    adjusted = tuple(Adjustment("x", Decimal(cents) * CENT) for cents in adjustments)
    subtotal, discount, fees, taxable = goods_lines(snapshot, adjusted)
    goods = max(ZERO, subtotal + sum((a.amount for a in adjusted), ZERO))
    assert discount >= ZERO and fees >= ZERO
    assert subtotal - discount + fees == goods
    assert sum((line.amount for line in taxable), ZERO) == goods
    assert all(line.amount >= ZERO for line in taxable)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(money, st.integers(min_value=1, max_value=4), st.booleans()), min_size=1, max_size=4),
       standard=percent, reduced=percent, shipping=st.integers(min_value=0, max_value=5000),
       coupon=st.one_of(st.none(), st.tuples(st.just("percentage"), st.integers(min_value=1, max_value=100)),
                        st.tuples(st.just("fixed"), st.integers(min_value=1, max_value=200_000))))
def test_the_cart_shows_the_totals_the_order_is_placed_for_and_they_add_up(
        new_customer, admin_app, germany, make_product, lines, standard, reduced, shipping, coupon):
    admin_app.patch_json(f"/api/tax/rates/{germany['standard']['id']}/", {"rate": standard})
    admin_app.patch_json(f"/api/tax/rates/{germany['reduced']['id']}/", {"rate": reduced})
    method = germany["method"]["id"]
    admin_app.patch_json(f"/api/shipping/methods/{method}/", {"price": f"{Decimal(shipping) * CENT}"})
    customer = new_customer()
    for price, quantity, is_reduced in lines:
        product = make_product(price=str(price), stock=10)
        if is_reduced:
            admin_app.put_json(f"/api/tax/products/{product}/", {"tax_class": "reduced"})
        customer.post_json("/api/cart/items/", {"product": product, "quantity": quantity})
    if coupon is not None:
        kind, value = coupon
        code = f"PROP{customer.user_id}"
        amount = str(value) if kind == "percentage" else str(Decimal(value) * CENT)
        admin_app.post_json("/api/coupons/", {"code": code, "kind": kind, "value": amount}, status=201)
        customer.post_json("/api/cart/coupon/", {"code": code})

    cart = customer.get(f"/api/cart/?country=DE&shipping_method={method}").json
    order = customer.post_json("/api/orders/checkout/", {"shipping_address": BERLIN, "payment_method": "card",
                                                         "shipping_method": method}, status=201).json

    totals = {name: Decimal(value) for name, value in order["totals"].items()}
    assert order["totals"] == cart["totals"]
    assert all(value >= ZERO for value in totals.values())
    assert totals["total"] == (totals["subtotal"] - totals["discount"] + totals["fees"] + totals["shipping"]
                               + totals["tax"] - totals["tax_included"])
    assert Decimal(order["total_price"]) == totals["total"]
    assert totals["tax"] == sum((Decimal(line["amount"]) for line in order["tax_lines"]), ZERO)
    # Each tax line is its line's amount at its rate, rounded half-up on its own.
    rates = {"USt. 19%": Decimal(standard), "USt. 7%": Decimal(reduced)}
    shipping_line = [line for line in order["tax_lines"] if line["line"] == "shipping"]
    assert [line["amount"] for line in shipping_line] == [str(line_tax(totals["shipping"], Decimal(standard), False))]
    assert all(line["rate"] == f"{rates[line['label']]:.3f}" for line in order["tax_lines"])
