"""The seed's pay and cancel requests with the payments plugin enabled (the default shop): the same answers
as before, now through the built-in `simulated` provider; and without it offered, pay needs a payment."""
import pytest

from shopcore.testing import make_test_configurator


def test_pay_answers_as_the_seed_did_and_records_a_captured_simulated_payment(customer_app, place_order, payments_of):
    order = place_order()
    response = customer_app.post(f"/api/orders/{order['id']}/pay/", status=200)
    assert response.json == {"detail": "Payment successful."}
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "paid"
    [(provider, status, amount, captured, refunded, settled_by)] = payments_of(order["id"])
    assert (provider, status, str(captured), str(refunded), settled_by) == (
        "simulated", "captured", order["total_price"], "0.00", "confirmation")


def test_paying_twice_a_cancelled_or_anothers_order_is_refused_as_before(customer_app, other_customer_app,
                                                                        place_order, payments_of):
    order = place_order()
    other_customer_app.post(f"/api/orders/{order['id']}/pay/", status=404)
    customer_app.post(f"/api/orders/{order['id']}/pay/", status=200)
    assert customer_app.post(f"/api/orders/{order['id']}/pay/", status=409).json == {
        "detail": f"Order {order['id']} is paid; it cannot become paid.",
        "errors": [{"field": "status", "message": "The order is paid."}]}
    customer_app.post(f"/api/orders/{order['id']}/cancel/", status=409)
    cancelled = place_order()
    assert customer_app.post(f"/api/orders/{cancelled['id']}/cancel/", status=200).json == {
        "detail": "Order cancelled successfully."}
    assert customer_app.post(f"/api/orders/{cancelled['id']}/pay/", status=409).json["detail"] == (
        f"Order {cancelled['id']} is cancelled; it cannot become paid.")
    assert payments_of(cancelled["id"]) == []


def test_a_retried_pay_with_its_key_replays_the_first_answer(customer_app, place_order, payments_of):
    order = place_order()
    first = customer_app.post(f"/api/orders/{order['id']}/pay/", headers={"Idempotency-Key": "p"}, status=200)
    again = customer_app.post(f"/api/orders/{order['id']}/pay/", headers={"Idempotency-Key": "p"}, status=200)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert len(payments_of(order["id"])) == 1


def test_the_kits_paid_orders_go_through_the_payments_plugin(make_paid_order, customer, payments_of):
    order = make_paid_order(customer)
    assert order["status"] == "paid"
    assert [status for _p, status, *_rest in payments_of(order["id"])] == ["captured"]


@pytest.fixture
def shop_without_simulated(shopcore_settings, shopcore_registry, db_connection):
    """The shop offering only a provider of the test's own (no simulated payments)."""
    import webtest

    from shopcore_payments.api import PAYMENT_PROVIDERS
    from shopcore_payments.simulated import SimulatedProvider

    def offer(config):
        config.add_extension(PAYMENT_PROVIDERS, SimulatedProvider(), key="card")

    config = make_test_configurator({**shopcore_settings, "shopcore.payments.providers": "card"},
                                    extra_includes=(offer,), **{
                                        "shopcore.engine": shopcore_registry["shopcore.engine"],
                                        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def test_without_the_simulated_provider_pay_confirms_a_started_payment_only(shop_without_simulated, customer_app,
                                                                          place_order, payments_of):
    shop = shop_without_simulated
    bearer = {"Authorization": f"Bearer {customer_app.token}"}
    order = place_order()
    answer = shop.post(f"/api/orders/{order['id']}/pay/", headers=bearer, status=409).json
    assert answer["detail"] == (f"Order {order['id']} has no payment to confirm: start one with "
                                f"POST /api/orders/{order['id']}/payments/.")
    shop.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "simulated"}, headers=bearer, status=422)
    shop.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "card"}, headers=bearer, status=201)
    shop.post(f"/api/orders/{order['id']}/pay/", headers=bearer, status=200)
    assert [(provider, status) for provider, status, *_rest in payments_of(order["id"])] == [("card", "captured")]


def test_offering_a_provider_no_plugin_offers_stops_start_up(shopcore_settings):
    from shopcore.plugins import PluginError

    with pytest.raises(PluginError, match=r"setting shopcore.payments.providers names 'paypal', which no enabled "
                                          r"plugin offers \(offered: simulated"):
        make_test_configurator({**shopcore_settings, "sqlalchemy.url": "sqlite://",
                                "shopcore.payments.providers": "simulated paypal"})
