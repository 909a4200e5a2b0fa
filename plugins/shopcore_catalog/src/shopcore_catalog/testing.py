"""The catalog's test kit (a pytest plugin, loaded by this package's `pytest11` entry point): categories
and products made through the catalog service, for any suite whose allow-list has `catalog`.

- `make_category(name=None, parent=None, **fields)` -> the new category's id.
- `make_product(name="Product", price="10.00", stock=10, category=None, is_active=True, **fields)`
  -> the new product's id (rolled back with the test, like `make_user`).
- `make_committed_product(...)`: the same, committed for real (concurrency tests, with `committed_db`).
- `s3_server` (session): a real S3 endpoint on this machine, moto's server mode (`moto[server]`, in
  this package's `testing` extra) started as its own process on a free port and stopped afterwards;
  it has `.endpoint_url` and `.client()` (a boto3 client). `s3_bucket` makes an empty bucket for a test.
- `image_bytes(format="PNG", size=(64, 48))`: a real image made with Pillow.

A suite without `catalog` in its allow-list that asks for one of these is skipped, saying so.
"""
from __future__ import annotations

import io
import itertools
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest

__all__ = ["image_bytes", "make_category", "make_committed_product", "make_product", "product_factory",
           "s3_bucket", "s3_server"]


def _catalog(request):
    from shopcore_catalog.api import catalog_service

    return catalog_service(request)


def _require_catalog(registry) -> None:
    if "catalog" not in {manifest.name for manifest in registry["shopcore.plugins"]}:
        pytest.skip("needs the catalog plugin: add 'catalog' to this suite's shopcore_plugins allow-list")


@pytest.fixture
def make_category(shopcore_registry, make_request):
    """`make_category(name=None, parent=None, **fields)` creates a category and returns its id."""
    _require_catalog(shopcore_registry)
    made = itertools.count(1)

    def make(name: str | None = None, parent: int | None = None, **fields) -> int:
        with make_request() as request:
            return _catalog(request).create_category(name or f"Category {next(made)}", parent=parent, **fields).id

    return make


def product_factory(open_request):
    """`make(name="Product", price="10.00", stock=10, ...)` -> product id, written in `open_request()`."""

    def make(name: str = "Product", price="10.00", stock: int = 10, category: int | None = None,
             is_active: bool = True, **fields) -> int:
        with open_request() as request:
            return _catalog(request).create_product(name, price, stock=stock, category=category,
                                                    is_active=is_active, **fields).id

    return make


@pytest.fixture
def make_product(shopcore_registry, make_request):
    """`make_product(name="Product", price="10.00", stock=10, category=None, is_active=True)` -> its id."""
    _require_catalog(shopcore_registry)
    return product_factory(make_request)


@pytest.fixture
def make_committed_product(shopcore_registry, make_committed_request):
    """`make_product`, committed for real (for concurrency tests)."""
    _require_catalog(shopcore_registry)
    return product_factory(make_committed_request)


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (64, 48), color=(200, 30, 30)) -> bytes:
    """A real image of `image_format` (PNG, JPEG, WEBP, GIF, ...), made with Pillow."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=image_format)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class S3Server:
    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = "us-east-1"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server in its own process on a free port of 127.0.0.1, for the whole session."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = S3Server(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60  # a loaded machine takes a while to import moto
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start within 60 s") from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket on `s3_server`; its name."""
    name = f"shop-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return name
