"""Admins' coupon endpoints: create, list, show, change, delete; who may; every validation error."""
import pytest

COUPON_FIELDS = {"id", "code", "kind", "value", "minimum_total", "expires_at", "usage_limit", "per_customer_limit",
                 "uses", "active", "created_at", "updated_at"}


def created(admin_app, **body) -> dict:
    return admin_app.post_json("/api/coupons/", {"code": "SAVE10", "kind": "percentage", "value": "10", **body},
                               status=201).json


# --- who may ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/coupons/"), ("POST", "/api/coupons/"), ("GET", "/api/coupons/1/"),
    ("PATCH", "/api/coupons/1/"), ("DELETE", "/api/coupons/1/"),
])
def test_customers_may_not_manage_coupons(testapp, customer_app, method, path):
    body = {"code": "SAVE10", "kind": "fixed", "value": "5.00"} if method == "POST" else {"active": False}
    kwargs = {"json": body} if method in ("POST", "PATCH") else {}
    anonymous = testapp.request(path, method=method, status=401, **kwargs)
    assert anonymous.json == {"detail": "Authentication credentials were not provided or are invalid."}
    customer = customer_app.request(path, method=method, status=403,
                                    headers={"Authorization": f"Bearer {customer_app.token}"}, **kwargs)
    assert customer.json == {"detail": "You do not have permission to perform this action."}


# --- the rows of the API ------------------------------------------------------------------------------

def test_creating_a_coupon_with_every_term(admin_app):
    body = created(admin_app, code="spring-25", kind="fixed", value="25.5", minimum_total="100",
                   expires_at="2031-03-01T12:00:00+02:00", usage_limit=100, per_customer_limit=1, active=False)
    assert set(body) == COUPON_FIELDS
    assert {key: body[key] for key in COUPON_FIELDS - {"id", "created_at", "updated_at"}} == {
        "code": "SPRING-25", "kind": "fixed", "value": "25.50", "minimum_total": "100.00",
        "expires_at": "2031-03-01T10:00:00+00:00", "usage_limit": 100, "per_customer_limit": 1, "uses": 0,
        "active": False,
    }
    assert admin_app.get(f"/api/coupons/{body['id']}/").json == body


def test_optional_terms_default_to_none_and_active(admin_app):
    body = created(admin_app)
    assert (body["code"], body["value"], body["minimum_total"], body["expires_at"], body["usage_limit"],
            body["per_customer_limit"], body["active"]) == ("SAVE10", "10.00", None, None, None, None, True)


def test_the_list_is_paged_newest_first(admin_app):
    ids = [created(admin_app, code=f"CODE{i}")["id"] for i in range(3)]
    first = admin_app.get("/api/coupons/?page_size=2").json
    assert first["count"] == 3
    assert [c["id"] for c in first["results"]] == ids[::-1][:2]
    assert first["next"] == "http://localhost/api/coupons/?page_size=2&page=2"
    assert first["previous"] is None
    second = admin_app.get(first["next"]).json
    assert [c["id"] for c in second["results"]] == [ids[0]]
    assert (second["next"], second["previous"]) == (None, "http://localhost/api/coupons/?page_size=2")
    assert admin_app.get("/api/coupons/?page=9", status=404).json == {"detail": "Invalid page."}
    assert admin_app.get("/api/coupons/").json["next"] is None


def test_changing_terms_keeps_the_others_and_null_clears_one(admin_app):
    coupon = created(admin_app, minimum_total="50.00", usage_limit=5, expires_at="2031-01-01T00:00:00Z")
    changed = admin_app.patch_json(f"/api/coupons/{coupon['id']}/",
                                   {"value": "12.5", "minimum_total": None, "expires_at": None}).json
    assert (changed["value"], changed["minimum_total"], changed["expires_at"], changed["usage_limit"],
            changed["code"]) == ("12.50", None, None, 5, "SAVE10")
    assert changed["updated_at"] >= coupon["updated_at"]
    assert admin_app.get(f"/api/coupons/{coupon['id']}/").json == changed


def test_a_percentage_becoming_fixed_may_exceed_100_but_not_the_reverse(admin_app):
    coupon = created(admin_app, kind="fixed", value="150.00")
    refused = admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"kind": "percentage"}, status=400)
    assert refused.json == {"detail": "value: A percentage is at most 100.",
                            "errors": [{"field": "value", "message": "A percentage is at most 100."}]}
    assert admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"kind": "percentage", "value": "15"}).json[
        "value"] == "15.00"


def test_deleting_a_coupon(admin_app):
    coupon = created(admin_app)
    admin_app.delete(f"/api/coupons/{coupon['id']}/", status=204)
    assert admin_app.get(f"/api/coupons/{coupon['id']}/", status=404).json == {"detail": "Coupon not found."}
    assert admin_app.delete(f"/api/coupons/{coupon['id']}/", status=404).json == {"detail": "Coupon not found."}
    assert admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"active": True}, status=404).json == {
        "detail": "Coupon not found."}


# --- conflicts and validation -------------------------------------------------------------------------

def test_a_code_is_unique_in_any_case(admin_app):
    created(admin_app, code="SAVE10")
    response = admin_app.post_json("/api/coupons/", {"code": "save10", "kind": "fixed", "value": "1.00"}, status=409)
    message = "A coupon with the code SAVE10 already exists."
    assert response.json == {"detail": f"code: {message}", "errors": [{"field": "code", "message": message}]}
    other = created(admin_app, code="OTHER")
    response = admin_app.patch_json(f"/api/coupons/{other['id']}/", {"code": "Save10"}, status=409)
    assert response.json["errors"] == [{"field": "code", "message": message}]
    assert admin_app.get(f"/api/coupons/{other['id']}/").json["code"] == "OTHER"


def test_the_usage_limit_cannot_go_below_the_uses_counted(admin_app, make_coupon, customer_app, fill_cart,
                                                          checkout_body):
    coupon = make_coupon("ONCE", usage_limit=3)
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "ONCE"})
    customer_app.post_json("/api/orders/checkout/", checkout_body, status=201)
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "ONCE"})
    customer_app.post_json("/api/orders/checkout/", checkout_body, status=201)
    response = admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"usage_limit": 1}, status=409)
    message = "The coupon has already been used 2 times; the limit cannot be lower."
    assert response.json == {"detail": f"usage_limit: {message}",
                             "errors": [{"field": "usage_limit", "message": message}]}
    assert admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"usage_limit": 2}).json["usage_limit"] == 2


@pytest.mark.parametrize("body, field, message", [
    ({"value": "0.00"}, "value", "Must be greater than 0."),
    ({"value": "100.01"}, "value", "A percentage is at most 100."),
])
def test_rules_beyond_the_schema_are_400s_naming_the_field(admin_app, body, field, message):
    response = admin_app.post_json("/api/coupons/", {"code": "SAVE10", "kind": "percentage", "value": "10", **body},
                                   status=400)
    assert response.json == {"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]}


@pytest.mark.parametrize("body, field", [
    ({"value": 10}, "value"),                       # a number could be a float: money is a string
    ({"value": "10.005"}, "value"),
    ({"value": "-5.00"}, "value"),
    ({"minimum_total": "ten"}, "minimum_total"),
    ({"kind": "bogo"}, "kind"),
    ({"code": "ab"}, "code"),
    ({"code": "no spaces"}, "code"),
    ({"usage_limit": 0}, "usage_limit"),
    ({"per_customer_limit": -1}, "per_customer_limit"),
    ({"expires_at": "soon"}, "expires_at"),
    ({"expires_at": "2031-01-01T00:00:00"}, "expires_at"),  # no time zone
    ({"uses": 5}, "uses"),
])
def test_schema_violations_are_400s_naming_the_field(admin_app, body, field):
    response = admin_app.post_json("/api/coupons/", {"code": "SAVE10", "kind": "percentage", "value": "10", **body},
                                   status=400)
    assert [error["field"] for error in response.json["errors"]] == [field]


def test_missing_fields_and_empty_changes_are_400s(admin_app):
    response = admin_app.post_json("/api/coupons/", {"code": "SAVE10"}, status=400)
    assert sorted(error["field"] for error in response.json["errors"]) == ["kind", "value"]
    coupon = created(admin_app)
    response = admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {}, status=400)
    assert response.json["errors"][0]["field"] == "body"


def test_the_service_refuses_what_the_schema_would_for_direct_callers(coupons):
    import datetime

    from shopcore.errors import InvalidInput

    naive = datetime.datetime(2031, 1, 1)
    for fields, field in (({"expires_at": naive}, "expires_at"), ({"value": 10.0}, "value"),
                          ({"usage_limit": True}, "usage_limit"), ({"code": "x y"}, "code"),
                          ({"uses": 3}, "uses")):
        with pytest.raises(InvalidInput) as refused:
            with coupons() as service:
                service.create({"code": "SAVE10", "kind": "percentage", "value": "10", **fields})
        assert refused.value.errors[0]["field"] == field
