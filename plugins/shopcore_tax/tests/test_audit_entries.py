"""Issue 20, point 5, for tax: classes, rates and products' classes an admin makes, changes or deletes are in
the audit log, before and after as their bodies show them."""
from __future__ import annotations


def entries(admin_app, **params) -> list[dict]:
    return admin_app.get("/api/audit/", params={"page_size": 100, **params}).json["results"]


def test_classes_rates_and_product_classes_are_recorded(admin_app, admin, make_product, audit_trail):
    lamp = make_product("Lamp")
    books = admin_app.post_json("/api/tax/classes/", {"code": "books", "name": "Books"}, status=201).json
    admin_app.patch_json(f"/api/tax/classes/{books['id']}/", {"name": "Books and papers"}, status=200)
    rate = admin_app.post_json("/api/tax/rates/", {"tax_class": "books", "country": "DE", "rate": "7"},
                               status=201).json
    admin_app.patch_json(f"/api/tax/rates/{rate['id']}/", {"rate": "5"}, status=200)
    admin_app.put_json(f"/api/tax/products/{lamp}/", {"tax_class": "books"}, status=200)
    admin_app.delete(f"/api/tax/rates/{rate['id']}/", status=204)
    admin_app.delete(f"/api/tax/classes/{books['id']}/", status=204)
    assert audit_trail("tax.class", books["id"]) == [
        ("tax.class.create", None, {"code": "books", "name": "Books"}),
        ("tax.class.update", {"code": "books", "name": "Books"}, {"code": "books", "name": "Books and papers"}),
        ("tax.class.delete", {"code": "books", "name": "Books and papers", "products": [lamp]}, None)]
    german = {"tax_class": "books", "country": "DE", "region": "", "label": ""}
    assert audit_trail("tax.rate", rate["id"]) == [
        ("tax.rate.create", None, {**german, "rate": "7.000"}),
        ("tax.rate.update", {**german, "rate": "7.000"}, {**german, "rate": "5.000"}),
        ("tax.rate.delete", {**german, "rate": "5.000"}, None)]
    assert audit_trail("tax.product_class", lamp) == [
        ("tax.product_class.set", {"tax_class": "standard"}, {"tax_class": "books"})]
    assert {entry["actor_id"] for entry in entries(admin_app) if entry["action"].startswith("tax.")} == {admin}
