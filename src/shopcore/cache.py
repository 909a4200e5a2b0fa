"""Cache: dogpile.cache regions from settings, generation-numbered keys, and a fallback when Redis is away.

Keys look like `<namespace>:<collection>@<generation>:<parts>`. Bumping a collection's generation
makes every key built on the old one unreachable at once (all cached pages of a list), and the old
entries simply expire. Generations are bumped after commit, so no request can re-cache data that an
uncommitted write is about to replace.

A cache backend error never fails a request: reads become misses, writes are dropped, and the
error is logged.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Callable, Iterable

from dogpile.cache import make_region
from dogpile.cache.api import NO_VALUE
from dogpile.cache.proxy import ProxyBackend

log = logging.getLogger(__name__)


class TolerantBackend(ProxyBackend):
    """Turns backend failures into misses so the database answers instead."""

    def _fail(self, operation: str, exc: Exception):
        log.warning("cache %s failed, serving without cache: %s: %s", operation, type(exc).__name__, exc)

    def get(self, key):
        try:
            return self.proxied.get(key)
        except Exception as exc:
            self._fail("get", exc)
            return NO_VALUE

    def get_multi(self, keys):
        try:
            return self.proxied.get_multi(keys)
        except Exception as exc:
            self._fail("get", exc)
            return [NO_VALUE] * len(keys)

    def set(self, key, value):
        try:
            self.proxied.set(key, value)
        except Exception as exc:
            self._fail("set", exc)

    def set_multi(self, mapping):
        try:
            self.proxied.set_multi(mapping)
        except Exception as exc:
            self._fail("set", exc)

    def delete(self, key):
        try:
            self.proxied.delete(key)
        except Exception as exc:
            self._fail("delete", exc)

    def delete_multi(self, keys):
        try:
            self.proxied.delete_multi(keys)
        except Exception as exc:
            self._fail("delete", exc)


def make_cache_region(settings, ttl: int | None = None):
    backend = settings["shopcore.cache.backend"]
    ttl = ttl or settings["shopcore.cache.ttl"]
    arguments: dict[str, Any] = {}
    if backend.startswith("dogpile.cache.redis"):
        arguments = {
            "url": settings["shopcore.redis_url"],
            # Redis forgets entries a little after dogpile considers them stale.
            "redis_expiration_time": ttl + 60,
            "connection_kwargs": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    region = make_region(key_mangler=None)
    region.configure(backend, expiration_time=ttl, arguments=arguments, wrap=[TolerantBackend])
    return region


class CacheNamespace:
    """One plugin's part of the cache."""

    def __init__(self, region, namespace: str):
        self.region = region
        self.namespace = namespace

    def _generation_key(self, collection: str) -> str:
        return f"{self.namespace}:gen:{collection}"

    def generations(self, collections: Iterable[str]) -> str:
        collections = list(collections)
        keys = [self._generation_key(c) for c in collections]
        values = self.region.get_multi(keys, expiration_time=-1)
        tokens = []
        for key, value in zip(keys, values):
            if value is NO_VALUE:
                value = uuid.uuid4().hex[:12]
                self.region.set(key, value)
            tokens.append(value)
        return ".".join(tokens)

    def key(self, collections: str | Iterable[str], *parts: Any) -> str:
        """A key valid until any of `collections` is invalidated."""
        if isinstance(collections, str):
            collections = [collections]
        collections = list(collections)
        generation = self.generations(collections)
        return ":".join([self.namespace, "+".join(collections) + "@" + generation, *map(str, parts)])

    def get(self, key: str):
        value = self.region.get(key)
        return None if value is NO_VALUE else value

    def set(self, key: str, value) -> None:
        self.region.set(key, value)

    def get_or_create(self, key: str, creator: Callable[[], Any]):
        value = self.get(key)
        if value is None:
            value = creator()
            self.set(key, value)
        return value

    def invalidate(self, *collections: str) -> None:
        for collection in collections:
            self.region.set(self._generation_key(collection), uuid.uuid4().hex[:12])

    def invalidate_after_commit(self, request, *collections: str) -> None:
        """Invalidate when the request's transaction commits (and also now, for this request)."""
        self.invalidate(*collections)

        def after_commit(success: bool) -> None:
            if success:
                self.invalidate(*collections)

        request.tm.get().addAfterCommitHook(after_commit)


def add_cache_namespace(config, namespace: str, ttl: int | None = None) -> None:
    """Give a plugin its own cache namespace (and region, when it wants its own TTL)."""
    registry = config.registry
    region = registry["shopcore.cache_region"] if ttl is None else make_cache_region(registry.settings, ttl)
    registry.setdefault("shopcore.cache_namespaces", {})[namespace] = CacheNamespace(region, namespace)


def get_cache(request, namespace: str) -> CacheNamespace:
    return request.registry["shopcore.cache_namespaces"][namespace]


def includeme(config) -> None:
    config.registry["shopcore.cache_region"] = make_cache_region(config.get_settings())
    config.add_directive("add_cache_namespace", add_cache_namespace)
    config.add_request_method(get_cache, "cache")
