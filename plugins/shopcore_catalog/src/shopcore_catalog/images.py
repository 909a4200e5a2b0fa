"""Uploaded product images: checked from their content with Pillow, stored with a thumbnail made once.

The type is what Pillow reads in the bytes (JPEG, PNG or WebP), never the file name or the client's
Content-Type. Limits are settings: `image_max_bytes` (413 past it) and `image_max_pixels` (400, and a
decompression bomb, an image far larger decoded than its file, is refused before it is decoded).
The original is kept as uploaded; the thumbnail fits in `thumbnail_size` pixels square, in the
original's format (a PNG keeps its transparency).
"""
from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from shopcore.errors import InvalidInput, ShopError

from shopcore_catalog.media import MediaStorage, delete_unless_committed

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


class ImageTooLarge(ShopError):
    status = 413


@dataclass(frozen=True)
class StoredImage:
    key: str
    thumbnail_key: str
    content_type: str
    width: int
    height: int
    source: str = ""


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    thumbnail_size: int

    @classmethod
    def from_settings(cls, settings) -> "ImageLimits":
        return cls(settings["shopcore.catalog.image_max_bytes"], settings["shopcore.catalog.image_max_pixels"],
                   settings["shopcore.catalog.thumbnail_size"])


def read_upload(upload, limits: ImageLimits, field: str = "file") -> bytes:
    """The bytes of a form field (a cgi.FieldStorage-like upload, or bytes), checked against the size limit."""
    if isinstance(upload, (bytes, bytearray)):
        data = bytes(upload)
    elif hasattr(upload, "file"):
        data = upload.file.read(limits.max_bytes + 1)
    else:
        raise InvalidInput(field, "Upload the image as a file.")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"{field}: the image is larger than {limits.max_bytes} bytes.",
                            [{"field": field, "message": f"At most {limits.max_bytes} bytes."}])
    if not data:
        raise InvalidInput(field, "The file is empty.")
    return data


def checked_image(data: bytes, limits: ImageLimits, field: str = "file") -> tuple[PILImage.Image, str]:
    """The decoded image and its format name, or a 400 naming `field`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise InvalidInput(field, "Upload a JPEG, PNG or WebP image.")
            width, height = image.size
            if width * height > limits.max_pixels:
                raise InvalidInput(field, f"The image has {width}x{height} pixels; at most {limits.max_pixels}.")
            image.load()  # decodes: a truncated or corrupt file fails here
    except InvalidInput:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise InvalidInput(field, "The image decodes to far more pixels than allowed.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise InvalidInput(field, "Upload a JPEG, PNG or WebP image.") from None
    return image, image.format


def thumbnail_bytes(image: PILImage.Image, image_format: str, size: int) -> bytes:
    thumbnail = image.copy()
    thumbnail.thumbnail((size, size))
    if image_format == "JPEG" and thumbnail.mode not in ("RGB", "L"):
        thumbnail = thumbnail.convert("RGB")
    out = io.BytesIO()
    thumbnail.save(out, format=image_format, quality=85) if image_format != "PNG" else thumbnail.save(out, "PNG")
    return out.getvalue()


def store_image(request, media: MediaStorage, product_id: int, upload, source: str = "") -> StoredImage:
    """Check and store an upload and its thumbnail; both files go if the request does not commit."""
    limits = request.find_service(ImageLimits)
    data = read_upload(upload, limits)
    return store_image_bytes(request, media, product_id, data, limits, source=source)


def store_image_bytes(request, media: MediaStorage, product_id: int, data: bytes, limits: ImageLimits,
                      source: str = "", field: str = "file") -> StoredImage:
    image, image_format = checked_image(data, limits, field)
    content_type, extension = FORMATS[image_format]
    name = uuid.uuid4().hex
    key = f"products/{product_id}/{name}.{extension}"
    thumbnail_key = f"products/{product_id}/{name}.thumb.{extension}"
    thumbnail = thumbnail_bytes(image, image_format, limits.thumbnail_size)
    delete_unless_committed(request, media, [key, thumbnail_key])
    media.save(key, data, content_type)
    media.save(thumbnail_key, thumbnail, content_type)
    return StoredImage(key=key, thumbnail_key=thumbnail_key, content_type=content_type, width=image.width,
                       height=image.height, source=source)
