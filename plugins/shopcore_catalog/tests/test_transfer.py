"""catalog-import and catalog-export: CSV rows upserted by SKU, every bad row reported with its line and
column, all or nothing unless --skip-invalid, --dry-run, and export -> import changes nothing."""
import csv
import io

import pytest
from sqlalchemy import func, select

from shopcore.settings import SETTINGS
from shopcore_catalog.models import Category, Image, Product, Variant
from shopcore_catalog.testing import image_bytes


@pytest.fixture(scope="module")
def shopcore_extra_settings(tmp_path_factory):
    return {"shopcore.catalog.media_root": str(tmp_path_factory.mktemp("media"))}


@pytest.fixture
def shop_ini(shopcore_settings, committed_db, tmp_path, monkeypatch):
    """An ini file for the suite's database, as `shopcore-admin` reads it."""
    for setting in SETTINGS:
        for variable in setting.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT"):
        monkeypatch.delenv(variable, raising=False)
    ini = tmp_path / "shop.ini"
    ini.write_text("\n".join([
        "[app:main]", "use = egg:shopcore", "shopcore.env = testing",
        f"shopcore.secret = {shopcore_settings['shopcore.secret']}",
        f"sqlalchemy.url = {shopcore_settings['sqlalchemy.url']}",
        f"shopcore.redis_url = {shopcore_settings['shopcore.redis_url']}",
        f"shopcore.catalog.media_root = {shopcore_settings['shopcore.catalog.media_root']}",
        "shopcore.plugins = catalog", ""]))
    return str(ini)


@pytest.fixture
def admin_command(shop_ini, capsys):
    from shopcore.scripts.admin import main

    def run(*argv) -> tuple[int, str, str]:
        code = main([shop_ini, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def write_csv(path, rows: list[dict], header: list[str] | None = None):
    header = header or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def count(committed_db, model) -> int:
    with committed_db.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


TSHIRT_ROWS = [
    {"sku": "TS-S", "product": "T-shirt", "slug": "", "category": "Clothing", "description": "Soft", "active": "",
     "price": "19.90", "stock": "5", "variant_active": "", "option:size": "S", "option:color": "red"},
    {"sku": "TS-M", "product": "T-shirt", "slug": "", "category": "Clothing", "description": "Soft", "active": "",
     "price": "18.00", "stock": "2", "variant_active": "", "option:size": "M", "option:color": "red"},
    {"sku": "MUG", "product": "Mug", "slug": "mug", "category": "", "description": "", "active": "true",
     "price": "7", "stock": "", "variant_active": "", "option:size": "", "option:color": ""},
]


def test_import_creates_products_variants_and_categories(admin_command, tmp_path, testapp, committed_db):
    code, out, err = admin_command("catalog-import", write_csv(tmp_path / "in.csv", TSHIRT_ROWS))
    assert code == 0, err
    assert "3 rows: 2 products created, 0 updated; 3 variants created" in out
    assert "3/3" in err  # the progress bar
    products = {p["slug"]: p for p in testapp.get("/api/products/?ordering=name").json["results"]}
    shirt = products["t-shirt"]
    assert (shirt["option_names"], shirt["price"], shirt["stock"]) == (["size", "color"], "18.00", 7)
    assert [(v["sku"], v["options"]) for v in shirt["variants"]] == [
        ("TS-S", {"size": "S", "color": "red"}), ("TS-M", {"size": "M", "color": "red"})]
    category = testapp.get(f"/api/categories/{shirt['category']}/").json
    assert category["name"] == "Clothing"
    assert (products["mug"]["price"], products["mug"]["stock"], products["mug"]["option_names"]) == ("7.00", 0, [])


def test_import_upserts_by_sku_and_export_import_changes_nothing(admin_command, tmp_path, testapp, committed_db):
    admin_command("catalog-import", write_csv(tmp_path / "in.csv", TSHIRT_ROWS))
    changed = [dict(row) for row in TSHIRT_ROWS]
    changed[1].update(sku="ts-m", price="21.00", stock="9")  # the same SKU, whatever its case
    changed.append(dict(TSHIRT_ROWS[0], sku="TS-L", **{"option:size": "L"}))
    code, out, err = admin_command("catalog-import", write_csv(tmp_path / "again.csv", changed))
    assert code == 0, err
    assert "0 products created, 1 updated; 1 variants created, 1 updated, 2 unchanged" in out
    shirt = testapp.get("/api/products/?search=ts").json["results"][0]  # found by its SKUs' prefix
    assert [(v["sku"], v["price"], v["stock"]) for v in shirt["variants"]] == [
        ("TS-S", "19.90", 5), ("ts-m", "21.00", 9), ("TS-L", "19.90", 5)]
    assert count(committed_db, Product) == 2 and count(committed_db, Variant) == 4

    exported = tmp_path / "out.csv"
    code, _out, err = admin_command("catalog-export", str(exported))
    assert code == 0 and "4 rows written" in err
    rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert [row["sku"] for row in rows] == ["TS-S", "ts-m", "TS-L", "MUG"]
    assert rows[0]["category"] == "clothing" and rows[0]["option:size"] == "S" and rows[3]["price"] == "7.00"
    before = testapp.get("/api/products/").json
    code, out, err = admin_command("catalog-import", str(exported))
    assert code == 0, err
    assert "0 products created, 0 updated; 0 variants created, 0 updated, 4 unchanged" in out
    after = testapp.get("/api/products/").json
    assert after == before  # not even updated_at moved


def test_every_bad_row_is_reported_and_nothing_is_written(admin_command, tmp_path, committed_db):
    rows = [dict(row) for row in TSHIRT_ROWS]
    rows[0]["price"] = "12.345"
    rows[1]["option:size"] = ""  # the T-shirt's other row names a size
    rows.append(dict(TSHIRT_ROWS[2], sku="MUG"))  # the same SKU twice
    rows.append(dict(TSHIRT_ROWS[2], sku="BAD SKU", slug="other", product="Other"))
    rows.append(dict(TSHIRT_ROWS[2], sku="OK-1", slug="ok", product="Fine", stock="-2"))
    code, out, err = admin_command("catalog-import", write_csv(tmp_path / "bad.csv", rows))
    assert code == 1
    assert "line 2, column price: Ensure that there are no more than 2 decimal places." in err
    assert "line 5, column sku: The SKU is also on line 4." in err
    assert "line 6, column sku: " in err
    assert "line 7, column stock: A whole number of 0 or more is required." in err
    assert "nothing was written" in err
    assert count(committed_db, Product) == 0 and count(committed_db, Category) == 0


def test_skip_invalid_loads_the_good_products(admin_command, tmp_path, committed_db, testapp):
    rows = [dict(row) for row in TSHIRT_ROWS]
    rows[0]["price"] = "-1"
    code, out, err = admin_command("catalog-import", "--skip-invalid", write_csv(tmp_path / "bad.csv", rows))
    assert code == 0
    assert "line 2, column price:" in err
    # The T-shirt had a bad row: its rows are left out whole; the mug goes in.
    assert "1 products created" in out and "2 rows skipped" in out
    assert [p["slug"] for p in testapp.get("/api/products/").json["results"]] == ["mug"]


def test_dry_run_checks_and_counts_without_writing(admin_command, tmp_path, committed_db):
    code, out, _err = admin_command("catalog-import", "--dry-run", write_csv(tmp_path / "in.csv", TSHIRT_ROWS))
    assert code == 0
    assert "dry run, nothing written" in out and "2 products created" in out and "1 categories created" in out
    assert count(committed_db, Product) == 0 and count(committed_db, Category) == 0


def test_header_problems_are_line_1(admin_command, tmp_path):
    code, _out, err = admin_command("catalog-import", write_csv(tmp_path / "h.csv", [{"sku": "A", "colour": "x"}]))
    assert code == 1
    assert "line 1, column colour: Unknown column" in err and "line 1, column price: This column is required." in err


def test_attributes_and_images_round_trip(admin_command, tmp_path, testapp, committed_db):
    from sqlalchemy import insert

    from shopcore_catalog.models import Attribute

    with committed_db.begin() as connection:  # committed, so the command's own connection sees them
        connection.execute(insert(Attribute), [
            {"code": "material", "name": "Material", "type": "choice", "choices": ["oak", "pine"]},
            {"code": "width_cm", "name": "Width", "type": "number", "choices": []}])
    (tmp_path / "table.png").write_bytes(image_bytes("PNG", size=(80, 40)))
    rows = [{"sku": "TABLE", "product": "Table", "price": "100", "attribute:material": "oak",
             "attribute:width_cm": "120.0", "images": "table.png"}]
    code, out, err = admin_command("catalog-import", write_csv(tmp_path / "t.csv", rows))
    assert code == 0, err
    table = testapp.get("/api/products/?attribute=material:oak&attribute=width_cm:120").json["results"][0]
    assert table["attributes"] == {"material": "oak", "width_cm": 120}
    assert len(table["images"]) == 1 and testapp.get(table["images"][0]["url"]).status_code == 200
    bad = [dict(rows[0], **{"attribute:material": "steel"})]
    code, _out, err = admin_command("catalog-import", write_csv(tmp_path / "b.csv", bad))
    assert code == 1 and "line 2, column attribute:material: Must be one of: oak, pine." in err
    exported = tmp_path / "out.csv"
    admin_command("catalog-export", str(exported))
    code, out, err = admin_command("catalog-import", str(exported))
    assert code == 0 and "0 updated" in out and "1 unchanged" in out, (out, err)
    assert count(committed_db, Image) == 1
