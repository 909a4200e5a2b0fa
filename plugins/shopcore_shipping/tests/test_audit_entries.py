"""Issue 20, point 5, for shipping: zones, methods and product weights an admin makes, changes or deletes are
in the audit log, before and after as their bodies show them."""
from __future__ import annotations


def entries(admin_app, **params) -> list[dict]:
    return admin_app.get("/api/audit/", params={"page_size": 100, **params}).json["results"]


def test_zones_methods_and_weights_are_recorded(admin_app, admin, make_product, audit_trail):
    lamp = make_product("Lamp")
    zone = admin_app.post_json("/api/shipping/zones/", {"name": "EU", "countries": ["DE"]}, status=201).json
    admin_app.patch_json(f"/api/shipping/zones/{zone['id']}/", {"countries": ["DE", "FR"]}, status=200)
    method = admin_app.post_json("/api/shipping/methods/", {"zone": zone["id"], "name": "Courier", "rule": "flat",
                                                            "price": "5.00"}, status=201).json
    admin_app.patch_json(f"/api/shipping/methods/{method['id']}/", {"price": "6.00"}, status=200)
    admin_app.put_json(f"/api/shipping/products/{lamp}/", {"weight_grams": 1200}, status=200)
    admin_app.put_json(f"/api/shipping/products/{lamp}/", {"weight_grams": 1200}, status=200)  # no change
    admin_app.delete(f"/api/shipping/methods/{method['id']}/", status=204)
    admin_app.delete(f"/api/shipping/zones/{zone['id']}/", status=204)
    assert audit_trail("shipping.zone", zone["id"]) == [
        ("shipping.zone.create", None, {"name": "EU", "countries": ["DE"]}),
        ("shipping.zone.update", {"name": "EU", "countries": ["DE"]}, {"name": "EU", "countries": ["DE", "FR"]}),
        ("shipping.zone.delete", {"name": "EU", "countries": ["DE", "FR"], "methods": []}, None)]
    courier = {"zone": zone["id"], "name": "Courier", "rule": "flat", "free_above": None, "weight_bands": [],
               "is_active": True, "is_default": False}
    assert audit_trail("shipping.method", method["id"]) == [
        ("shipping.method.create", None, {**courier, "price": "5.00"}),
        ("shipping.method.update", {**courier, "price": "5.00"}, {**courier, "price": "6.00"}),
        ("shipping.method.delete", {**courier, "price": "6.00"}, None)]
    assert audit_trail("shipping.product_weight", lamp) == [
        ("shipping.product_weight.set", {"weight_grams": None}, {"weight_grams": 1200})]
    assert {entry["actor_id"] for entry in entries(admin_app) if entry["action"].startswith("shipping.")} == {admin}
