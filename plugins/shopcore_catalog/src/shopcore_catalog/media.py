"""Where product images are kept: a media storage backend, chosen by `shopcore.catalog.media_storage`.

- `filesystem` (development): files under `shopcore.catalog.media_root`, served by the app itself
  under `shopcore.catalog.media_url` (`/media/`).
- `s3` (production): any S3-compatible object store through boto3 (AWS S3, MinIO, Ceph, ...), with
  `shopcore.catalog.s3_*`; the objects are served by the store (or a CDN in front of it) at
  `shopcore.catalog.s3_public_url`.

The catalog finds the backend as a service, `request.find_service(MediaStorage)`. Files are written
before the database row that names them and removed if that transaction does not commit; files of a
deleted image or product are removed only once the deletion has committed. A crash between the two
can leave a file no row names, never a row naming a missing file.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)


class MediaStorage:
    """What the catalog needs of a storage backend."""

    def save(self, key: str, data: bytes, content_type: str) -> None:
        raise NotImplementedError

    def delete(self, keys: Iterable[str]) -> None:
        """Remove these files; a missing one is no error."""
        raise NotImplementedError

    def url(self, key: str) -> str:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError


class FileSystemStorage(MediaStorage):
    def __init__(self, root: str, base_url: str):
        self.root = Path(root).resolve()
        self.base_url = base_url.rstrip("/") + "/"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:  # keys are made by the catalog; this only guards against a bug
            raise ValueError(f"media key {key!r} leaves the media root")
        return path

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers never see half a file

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self.base_url + key

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage(MediaStorage):
    def __init__(self, bucket: str, *, endpoint_url: str = "", region: str = "", access_key_id: str = "",
                 secret_access_key: str = "", public_url: str = ""):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        # Empty keys leave boto3 its own lookup (AWS_* variables, instance roles).
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                          s3={"addressing_style": "path"} if endpoint_url else None))
        base = public_url or (f"{endpoint_url.rstrip('/')}/{bucket}" if endpoint_url
                              else f"https://{bucket}.s3.amazonaws.com")
        self.base_url = base.rstrip("/") + "/"

    def save(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                               CacheControl="public, max-age=31536000, immutable")

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        for start in range(0, len(keys), 1000):  # the most one request deletes
            self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": key} for key in keys[start:start + 1000]], "Quiet": True})

    def url(self, key: str) -> str:
        return self.base_url + key

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def media_storage_from_settings(settings) -> MediaStorage:
    if settings["shopcore.catalog.media_storage"] == "s3":
        return S3Storage(settings["shopcore.catalog.s3_bucket"],
                         endpoint_url=settings["shopcore.catalog.s3_endpoint_url"],
                         region=settings["shopcore.catalog.s3_region"],
                         access_key_id=settings["shopcore.catalog.s3_access_key_id"],
                         secret_access_key=settings["shopcore.catalog.s3_secret_access_key"],
                         public_url=settings["shopcore.catalog.s3_public_url"])
    return FileSystemStorage(settings["shopcore.catalog.media_root"] or os.path.join("var", "media"),
                             settings["shopcore.catalog.media_url"])


def _after_commit(request, media: MediaStorage, keys: list[str], when_committed: bool) -> None:
    if not keys:
        return

    def delete_files() -> None:
        try:
            media.delete(keys)
        except Exception:  # the data is settled either way; a file left behind is logged, not fatal
            log.exception("could not delete media files %s", keys)

    def after_commit(success: bool) -> None:
        if success == when_committed:
            delete_files()

    transaction = request.tm.get()
    transaction.addAfterCommitHook(after_commit)
    if not when_committed:
        # An aborted transaction (a view raised) runs the abort hooks, not the commit hooks.
        transaction.addAfterAbortHook(delete_files)


def delete_after_commit(request, media: MediaStorage, keys: Iterable[str]) -> None:
    """Remove these files once the request's transaction has committed (kept if it rolls back)."""
    _after_commit(request, media, list(keys), when_committed=True)


def delete_unless_committed(request, media: MediaStorage, keys: Iterable[str]) -> None:
    """Remove these just-written files if the request's transaction does not commit."""
    _after_commit(request, media, list(keys), when_committed=False)
