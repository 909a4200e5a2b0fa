"""The address book: owner only, countries and regions by ISO 3166, phones by phonenumbers, one default of each kind."""
import pytest

from shopcore.accounts.addresses import MAX_ADDRESSES, address_from_input
from shopcore.errors import InvalidInput

BOOK = "/api/auth/user/addresses/"
BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "de", "phone": "030 901820"}


def entry(app, **fields) -> dict:
    return app.post_json(BOOK, {**BERLIN, **fields}, status=201).json


def test_an_address_is_checked_normalised_and_listed(customer_app):
    body = entry(customer_app, is_default_shipping=True)
    assert {key: body[key] for key in ("name", "line1", "line2", "city", "region", "postal_code", "country",
                                       "phone", "is_default_shipping", "is_default_billing")} == {
        "name": "Erika Mustermann", "line1": "Heidestraße 17", "line2": "", "city": "Berlin", "region": "",
        "postal_code": "10557", "country": "DE", "phone": "+4930901820", "is_default_shipping": True,
        "is_default_billing": False}
    assert customer_app.get(BOOK).json == [body]
    assert customer_app.get(f"{BOOK}{body['id']}/").json == body


@pytest.mark.parametrize("region, kept", [("California", "CA"), ("us-ca", "CA"), ("CA", "CA"),
                                          ("Somewhere odd", "Somewhere odd")])
def test_a_region_naming_an_iso_subdivision_is_kept_as_its_code(customer_app, region, kept):
    body = entry(customer_app, country="US", region=region, phone="+1 415 555 2671", city="San Francisco")
    assert body["region"] == kept


@pytest.mark.parametrize("fields, field, message", [
    ({"country": "XX"}, "country", "Not an ISO 3166-1 alpha-2 country code: 'XX'."),
    ({"country": "D1"}, "country", "Not an ISO 3166-1 alpha-2 country code: 'D1'."),
    ({"phone": "12"}, "phone", "Not a valid phone number for DE: '12'."),
    ({"phone": "call me"}, "phone", "Not a phone number: 'call me'."),
    ({"name": "   "}, "name", "This field may not be blank."),
    ({"city": "Ber\x07lin"}, "city", "Control characters are not allowed."),
    # Kept upper-case, which makes 16 characters 32: refused, not a database error.
    ({"postal_code": "ß" * 16}, "postal_code", "Ensure this field has no more than 16 characters."),
])
def test_a_wrong_field_is_a_400_naming_it(customer_app, fields, field, message):
    response = customer_app.post_json(BOOK, {**BERLIN, **fields}, status=400)
    assert response.json["errors"] == [{"field": field, "message": message}]
    assert customer_app.get(BOOK).json == []


def test_the_spec_refuses_unknown_fields_and_missing_ones(customer_app):
    customer_app.post_json(BOOK, {**BERLIN, "user": 1}, status=400)
    customer_app.post_json(BOOK, {"name": "x"}, status=400)


def test_another_customers_address_is_a_404_for_every_method(customer_app, other_customer_app):
    mine = entry(customer_app)
    url = f"{BOOK}{mine['id']}/"
    other_customer_app.get(url, status=404)
    other_customer_app.patch_json(url, {"city": "Hamburg"}, status=404)
    other_customer_app.delete(url, status=404)
    assert other_customer_app.get(BOOK).json == []
    assert customer_app.get(url).json == mine


def test_the_book_needs_a_login(testapp):
    testapp.get(BOOK, status=401)
    testapp.post_json(BOOK, BERLIN, status=401)


def test_one_default_of_each_kind_moves_to_the_newest_choice(customer_app):
    first = entry(customer_app, is_default_shipping=True, is_default_billing=True)
    second = entry(customer_app, name="Max Mustermann", is_default_shipping=True)
    book = {address["id"]: address for address in customer_app.get(BOOK).json}
    assert (book[first["id"]]["is_default_shipping"], book[first["id"]]["is_default_billing"]) == (False, True)
    assert book[second["id"]]["is_default_shipping"] is True
    customer_app.patch_json(f"{BOOK}{second['id']}/", {"is_default_billing": True})
    book = {address["id"]: address for address in customer_app.get(BOOK).json}
    assert [address["id"] for address in book.values() if address["is_default_billing"]] == [second["id"]]


def test_a_change_is_checked_with_the_rest_of_the_address(customer_app):
    address = entry(customer_app)
    url = f"{BOOK}{address['id']}/"
    # A national number is read in the address's country: a Berlin number is no French one.
    response = customer_app.patch_json(url, {"country": "FR", "phone": "030 901820"}, status=400)
    assert response.json["errors"] == [{"field": "phone", "message": "Not a valid phone number for FR: '030 901820'."}]
    # A number kept in E.164 form stays valid wherever the address moves.
    assert customer_app.patch_json(url, {"country": "AT"}).json["phone"] == "+4930901820"
    changed = customer_app.patch_json(url, {"country": "FR", "phone": "+33 1 42 68 53 00", "city": "Paris"}).json
    assert (changed["country"], changed["phone"], changed["city"]) == ("FR", "+33142685300", "Paris")
    customer_app.patch_json(url, {}, status=400)


def test_deleting_an_address(customer_app):
    address = entry(customer_app)
    customer_app.delete(f"{BOOK}{address['id']}/", status=204)
    customer_app.get(f"{BOOK}{address['id']}/", status=404)
    assert customer_app.get(BOOK).json == []


def test_a_book_holds_at_most_its_maximum(customer_app):
    for number in range(MAX_ADDRESSES):
        entry(customer_app, line1=f"Heidestraße {number}")
    response = customer_app.post_json(BOOK, BERLIN, status=409)
    assert response.json["detail"] == f"An address book holds at most {MAX_ADDRESSES} addresses; delete one first."


def test_an_inline_address_names_the_field_of_its_body():
    with pytest.raises(InvalidInput) as caught:
        address_from_input({**BERLIN, "country": "ZZ"}, field="shipping_address")
    assert caught.value.errors == [{"field": "shipping_address.country",
                                    "message": "Not an ISO 3166-1 alpha-2 country code: 'ZZ'."}]
    label = address_from_input(BERLIN).postal_label()
    assert label == "Erika Mustermann, Heidestraße 17, 10557 Berlin, Germany"
