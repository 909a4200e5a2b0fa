"""Product images on S3-compatible storage (boto3), against a real S3 endpoint: moto's server mode,
started by the `s3_server` fixture as its own process on a free port."""
import json
import urllib.request

import pytest

from shopcore_catalog.testing import image_bytes

BUCKET = "shop-media"


@pytest.fixture(scope="module")
def shopcore_extra_settings(s3_server):
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    # Served to anyone, as a shop's image bucket is (or through a CDN): an operator's bucket policy.
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    return {"shopcore.catalog.media_storage": "s3", "shopcore.catalog.s3_bucket": BUCKET,
            "shopcore.catalog.s3_endpoint_url": s3_server.endpoint_url, "shopcore.catalog.s3_region": "us-east-1",
            "shopcore.catalog.s3_access_key_id": s3_server.access_key_id,
            "shopcore.catalog.s3_secret_access_key": s3_server.secret_access_key}


def keys(s3_server) -> set[str]:
    listed = s3_server.client().list_objects_v2(Bucket=BUCKET)
    return {item["Key"] for item in listed.get("Contents", [])}


def test_images_go_to_the_bucket_and_are_served_from_it(admin_app, testapp, make_product, s3_server):
    lamp = make_product("Lamp")
    before = keys(s3_server)
    data = image_bytes("JPEG", size=(500, 300))
    image = admin_app.post(f"/api/products/{lamp}/images/", [("alt", "Lamp")],
                           upload_files=[("file", "lamp.jpg", data)], status=201).json
    assert image["url"].startswith(f"{s3_server.endpoint_url}/{BUCKET}/products/{lamp}/")
    assert len(keys(s3_server) - before) == 2
    # What a browser would fetch: the object at the URL the body gives, with its content type.
    with urllib.request.urlopen(image["url"], timeout=10) as response:
        assert response.read() == data and response.headers["Content-Type"] == "image/jpeg"
    with urllib.request.urlopen(image["thumbnail_url"], timeout=10) as response:
        assert response.headers["Content-Type"] == "image/jpeg"
    assert testapp.get(f"/api/products/{lamp}/").json["images"] == [image]

    admin_app.delete(f"/api/images/{image['id']}/", status=204)
    assert keys(s3_server) == before


def test_deleting_a_product_deletes_its_objects(admin_app, make_product, s3_server):
    lamp = make_product("Lamp")
    before = keys(s3_server)
    for image_format in ("PNG", "WEBP"):
        admin_app.post(f"/api/products/{lamp}/images/", upload_files=[("file", "x", image_bytes(image_format))],
                       status=201)
    assert len(keys(s3_server) - before) == 4
    admin_app.delete(f"/api/products/{lamp}/", status=204)
    assert keys(s3_server) == before


def test_a_bad_image_stores_nothing(admin_app, make_product, s3_server):
    lamp = make_product("Lamp")
    before = keys(s3_server)
    admin_app.post(f"/api/products/{lamp}/images/", upload_files=[("file", "x.png", b"GIF89a not really")],
                   status=400)
    assert keys(s3_server) == before
