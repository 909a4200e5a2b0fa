"""Product images on the file system storage: checked with Pillow, thumbnailed once, served under /media/,
and no file left behind by a deletion or a failed request."""
import io
from pathlib import Path

import pytest
from PIL import Image as PILImage

from shopcore_catalog.testing import image_bytes


@pytest.fixture(scope="module")
def media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def shopcore_extra_settings(media_root):
    # Small limits, so the tests can cross them with small files.
    return {"shopcore.catalog.media_root": str(media_root), "shopcore.catalog.image_max_bytes": "200000",
            "shopcore.catalog.image_max_pixels": "1000000", "shopcore.catalog.thumbnail_size": "32"}


def upload(app, product, data: bytes, name="photo.png", alt=None, status=201):
    fields = [("alt", alt)] if alt is not None else []
    return app.post(f"/api/products/{product}/images/", fields, upload_files=[("file", name, data)], status=status)


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_an_upload_is_stored_with_its_thumbnail_and_served(admin_app, testapp, make_product, media_root,
                                                           image_format):
    lamp = make_product("Lamp")
    data = image_bytes(image_format, size=(400, 200))
    # The type comes from the content: the name says .png whatever the format.
    image = upload(admin_app, lamp, data, alt="The lamp, lit").json
    assert image["alt"] == "The lamp, lit" and image["position"] == 0
    assert image["url"].startswith("/media/products/") and image["thumbnail_url"].startswith("/media/products/")
    served = testapp.get(image["url"])
    assert served.body == data
    thumbnail = PILImage.open(io.BytesIO(testapp.get(image["thumbnail_url"]).body))
    assert thumbnail.format == image_format and max(thumbnail.size) == 32
    body = testapp.get(f"/api/products/{lamp}/").json
    assert body["images"] == [image]
    assert testapp.get("/api/products/").json["results"][0]["images"] == [image]


def test_images_are_ordered_and_edited(admin_app, testapp, make_product):
    lamp = make_product("Lamp")
    first = upload(admin_app, lamp, image_bytes()).json
    second = upload(admin_app, lamp, image_bytes("JPEG")).json
    assert second["position"] == 1
    admin_app.patch_json(f"/api/images/{second['id']}/", {"position": 0, "alt": "Front"})
    admin_app.patch_json(f"/api/images/{first['id']}/", {"position": 5})
    images = testapp.get(f"/api/products/{lamp}/").json["images"]
    assert [(image["id"], image["alt"]) for image in images] == [(second["id"], "Front"), (first["id"], "")]


@pytest.mark.parametrize("data, name, message", [
    (b"not an image at all", "photo.png", "Upload a JPEG, PNG or WebP image."),
    (image_bytes("GIF"), "photo.gif", "Upload a JPEG, PNG or WebP image."),
    (image_bytes("PNG")[:60], "cut.png", "Upload a JPEG, PNG or WebP image."),
    (image_bytes("PNG", size=(1200, 1000)), "big.png", "The image has 1200x1000 pixels; at most 1000000."),
])
def test_a_bad_image_is_a_400_naming_the_file(admin_app, make_product, media_root, data, name, message):
    lamp = make_product("Lamp")
    before = files_under(media_root)
    body = upload(admin_app, lamp, data, name=name, status=400).json
    assert body["errors"] == [{"field": "file", "message": message}]
    assert files_under(media_root) == before


def test_a_decompression_bomb_is_refused_before_it_is_decoded(admin_app, make_product):
    # A PNG of 20000 x 20000 pixels, all alike: a few hundred KB on disk... cut down to its header here,
    # which is all Pillow reads before the pixel limit refuses it.
    bomb = io.BytesIO()
    PILImage.new("1", (20000, 20000)).save(bomb, format="PNG")
    lamp = make_product("Lamp")
    data = bomb.getvalue()
    assert len(data) < 200000  # under the byte limit: only the pixel count can catch it
    body = upload(admin_app, lamp, data, status=400).json
    assert body["errors"][0]["field"] == "file" and "pixels" in body["errors"][0]["message"]


def test_a_file_over_the_size_limit_is_a_413(admin_app, make_product):
    lamp = make_product("Lamp")
    noisy = io.BytesIO()
    PILImage.effect_noise((600, 600), 80).convert("RGB").save(noisy, format="PNG")
    assert len(noisy.getvalue()) > 200000
    body = upload(admin_app, lamp, noisy.getvalue(), status=413).json
    assert body["errors"] == [{"field": "file", "message": "At most 200000 bytes."}]


def test_an_upload_without_a_file_is_a_400(admin_app, make_product):
    lamp = make_product("Lamp")
    response = admin_app.post(f"/api/products/{lamp}/images/", [("alt", "no file")],
                              content_type="multipart/form-data", status=400)
    assert response.json["errors"][0]["field"] == "file"


def test_uploads_are_for_admins(customer_app, testapp, make_product):
    lamp = make_product("Lamp")
    upload(customer_app, lamp, image_bytes(), status=403)
    upload(testapp, lamp, image_bytes(), status=401)


def test_deleting_an_image_or_its_product_leaves_no_file(admin_app, testapp, make_product, media_root):
    lamp = make_product("Lamp")
    before = files_under(media_root)
    kept = upload(admin_app, lamp, image_bytes()).json
    dropped = upload(admin_app, lamp, image_bytes("JPEG")).json
    assert len(files_under(media_root) - before) == 4  # two originals, two thumbnails
    admin_app.delete(f"/api/images/{dropped['id']}/", status=204)
    assert len(files_under(media_root) - before) == 2
    testapp.get(dropped["url"], status=404)
    admin_app.delete(f"/api/products/{lamp}/", status=204)
    assert files_under(media_root) == before
    testapp.get(kept["url"], status=404)


def test_a_transaction_that_does_not_commit_leaves_no_file(shopcore_registry, committed_db, make_committed_product,
                                                           media_root):
    """The files are written before the row; if the transaction aborts, they are removed with it."""
    import transaction
    from pyramid.request import Request, apply_request_extensions

    from shopcore_catalog.api import CatalogService

    lamp = make_committed_product("Lamp")
    before = files_under(media_root)
    request = Request.blank("/")
    request.registry = shopcore_registry
    apply_request_extensions(request)
    request.tm = transaction.TransactionManager(explicit=True)
    request.tm.begin()
    try:
        request.find_service(CatalogService).add_image(lamp, image_bytes(), "kept?")
        assert len(files_under(media_root) - before) == 2
    finally:
        request.tm.abort()
    assert files_under(media_root) == before
