"""The README's five-minute tour, request by request, ending with the mails under the mail folder."""
from pathlib import Path


def test_the_readme_tour(testapp, make_product, shopcore_settings):
    lamp = make_product(name="Desk lamp", price="25.00", stock=5)
    mail_dir = Path(shopcore_settings["shopcore.mail.dir"])
    earlier_mails = set(mail_dir.glob("*.eml"))
    api = "/api"
    registered = testapp.post_json(f"{api}/auth/register/", {
        "username": "john", "email": "john@example.com", "password": "a long passphrase"}, status=201).json
    assert registered["username"] == "john"
    tokens = testapp.post_json(f"{api}/auth/login/", {"username": "john", "password": "a long passphrase"}).json
    auth = {"Authorization": f"Bearer {tokens['access']}"}

    listing = testapp.get(f"{api}/products/?search=lamp&ordering=-price&page_size=5").json
    assert [p["id"] for p in listing["results"]] == [lamp]
    testapp.post_json(f"{api}/cart/items/", {"product": lamp, "quantity": 2}, headers=auth, status=201)
    cart = testapp.get(f"{api}/cart/", headers=auth).json
    assert cart["total_price"] == "50.00"
    order = testapp.post_json(f"{api}/orders/checkout/", {"shipping_address": "123 Main St",
                                                         "payment_method": "credit_card"},
                              headers={**auth, "Idempotency-Key": "first-order"}, status=201).json
    assert order["status"] == "pending" and order["total_price"] == "50.00"
    assert testapp.post(f"{api}/orders/{order['id']}/pay/", headers=auth).json == {"detail": "Payment successful."}

    mails = sorted(set(mail_dir.glob("*.eml")) - earlier_mails)
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in mails]
    to_john = [text for text in texts if "john@example.com" in text]
    subjects = [line for text in to_john for line in text.splitlines() if line.startswith("Subject:")]
    assert len(subjects) == 3, subjects  # welcome, order placed, order paid
    assert any(f"#{order['id']}" in subject or str(order["id"]) in subject for subject in subjects)
