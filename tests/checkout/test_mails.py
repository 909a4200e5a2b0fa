"""The order-placed mail shows the addresses, the shipping method and the tax lines (one per tax)."""
from pathlib import Path

BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "DE", "phone": "030 901820"}


def test_the_order_mail_shows_addresses_shipping_and_tax(customer_app, admin_app, germany, make_product,
                                                         shopcore_settings):
    mail_dir = Path(shopcore_settings["shopcore.mail.dir"])
    earlier = set(mail_dir.glob("*.eml"))
    book, lamp = make_product(name="Book", price="20.00"), make_product(name="Lamp", price="30.00")
    admin_app.put_json(f"/api/tax/products/{book}/", {"tax_class": "reduced"})
    for product in (book, lamp):
        customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 1})
    billing = {**BERLIN, "name": "Firma GmbH", "line1": "Hauptstr. 1", "postal_code": "80331", "city": "München"}
    order = customer_app.post_json("/api/orders/checkout/", {
        "shipping_address": BERLIN, "billing_address": billing, "payment_method": "card",
        "shipping_method": germany["method"]["id"]}, status=201).json

    texts = [path.read_text(encoding="utf-8") for path in sorted(set(mail_dir.glob("*.eml")) - earlier)]
    placed = next(text for text in texts if f"#{order['id']}" in text and "thank you for your order" in text)
    assert "Shipping to: Erika Mustermann, Heidestraße 17, 10557 Berlin, Germany" in placed
    assert "Phone: +4930901820" in placed
    assert "Billing address: Firma GmbH, Hauptstr. 1, 80331 München, DE" in placed
    assert "Shipping (DHL Paket): 4.90" in placed
    # 1.40 on the book; 5.70 on the lamp and 0.93 on shipping, both at 19 %: one line for it.
    assert "USt. 7%: 1.40" in placed and "USt. 19%: 6.63" in placed
    assert f"Total: {order['total_price']}" in placed
