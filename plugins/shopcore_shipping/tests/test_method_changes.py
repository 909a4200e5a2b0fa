"""Changing a method: every kind of change is checked and answered, never a 500."""
import pytest


@pytest.mark.parametrize("changes", [
    {"rule": "weight", "weight_bands": [{"up_to_grams": 100, "price": "1.00"}]},
    {"weight_bands": [{"up_to_grams": 100, "price": "2.00"}]},
    {"is_default": True},
    {"rule": "free_above", "free_above": None},
    {"rule": "flat"},
    {"rule": "flat", "price": "1.00"},
    {"zone": 2147483647},
    {"price": "9999999999.99"},
    {"free_above": "1.00"},
    {"weight_bands": []},
    {"name": "x\u0000"},
])
def test_a_change_is_answered(admin_app, zone, method, changes):
    eu = zone()["id"]
    weight = method(eu, "W", rule="weight", weight_bands=[{"up_to_grams": 100, "price": "1.00"}])
    response = admin_app.patch_json(f"/api/shipping/methods/{weight['id']}/", changes, expect_errors=True)
    assert response.status_int in (200, 400, 409), response.text
    flat = method(eu, "F", is_default=True)
    response = admin_app.patch_json(f"/api/shipping/methods/{flat['id']}/", changes, expect_errors=True)
    assert response.status_int in (200, 400, 409), response.text


def test_making_another_method_the_default_moves_the_flag(admin_app, zone, method):
    eu = zone()["id"]
    first, second = method(eu, "A", is_default=True), method(eu, "B")
    assert admin_app.patch_json(f"/api/shipping/methods/{second['id']}/", {"is_default": True}).json["is_default"]
    assert admin_app.get(f"/api/shipping/methods/{first['id']}/").json["is_default"] is False
