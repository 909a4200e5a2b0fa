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
import time
import uuid
from typing import Any, Callable, Iterable

from dogpile.cache import make_region
from dogpile.cache.api import NO_VALUE
from dogpile.cache.proxy import ProxyBackend

from shopcore.observability import CACHE_LOOKUPS

log = logging.getLogger(__name__)


def _tolerant_read(name: str):
    def read(self, arg):
        missing = [NO_VALUE] * len(arg) if name.endswith("multi") else NO_VALUE
        if self.is_resting() or not self._settle_missed_invalidations():
            return missing
        try:
            return getattr(self.proxied, name)(arg)
        except Exception as exc:
            self._fail(name, exc)
            return missing

    return read


def _tolerant_write(name: str):
    def write(self, *args):
        if self.is_resting() or not self._settle_missed_invalidations():
            self._missed(args[0])
            return
        try:
            getattr(self.proxied, name)(*args)
        except Exception as exc:
            self._fail(name, exc)
            self._missed(args[0])

    return write


# Generation keys (see CacheNamespace) are the cache's invalidations.
_GENERATION_MARK = ":gen:"


class TolerantBackend(ProxyBackend):
    """Turns backend failures into misses so the database answers instead.

    dogpile calls the `*_serialized` methods on serializing backends (Redis) and the plain ones on
    the memory backend; both families are covered.
    """

    # After a failure the backend is left alone for a few seconds, so a Redis that hangs costs one
    # timeout per process per pause instead of one per request (and one log line, not thousands).
    pause_seconds = 5.0

    def __init__(self):
        super().__init__()
        self._resting_until = 0.0
        # Generation keys whose write did not reach the backend (it failed, or was skipped while resting).
        # Entries cached before the outage still sit under the old generation, so those keys are deleted
        # before this process uses the backend again; otherwise a write made while Redis was away would
        # stay invisible behind the old pages for a whole TTL. (Another process may still read the old
        # pages until this one next touches the cache.)
        self._missed_generations: set[str] = set()

    def is_resting(self) -> bool:
        return time.monotonic() < self._resting_until

    def _missed(self, keys) -> None:
        keys = [keys] if isinstance(keys, str) else list(keys)  # a key, a list of keys or a mapping
        self._missed_generations.update(key for key in keys if _GENERATION_MARK in key)

    def _settle_missed_invalidations(self) -> bool:
        """Delete the generation keys writes missed; False (resting again) while the backend still fails."""
        if not self._missed_generations:
            return True
        keys = list(self._missed_generations)
        try:
            self.proxied.delete_multi(keys)
        except Exception as exc:
            self._fail("delete_multi", exc)
            return False
        self._missed_generations.difference_update(keys)
        return True

    def _fail(self, operation: str, exc: Exception):
        self._resting_until = time.monotonic() + self.pause_seconds
        log.warning("cache %s failed, serving without cache for %.0f s: %s: %s", operation, self.pause_seconds,
                    type(exc).__name__, exc)

    get = _tolerant_read("get")
    get_multi = _tolerant_read("get_multi")
    get_serialized = _tolerant_read("get_serialized")
    get_serialized_multi = _tolerant_read("get_serialized_multi")
    set = _tolerant_write("set")
    set_multi = _tolerant_write("set_multi")
    set_serialized = _tolerant_write("set_serialized")
    set_serialized_multi = _tolerant_write("set_serialized_multi")

    delete = _tolerant_write("delete")
    delete_multi = _tolerant_write("delete_multi")


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
        return f"{self.namespace}{_GENERATION_MARK}{collection}"

    def generations(self, collections: Iterable[str]) -> str:
        collections = list(collections)
        keys = [self._generation_key(c) for c in collections]
        values = self.region.get_multi(keys)
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
        CACHE_LOOKUPS.labels(self.namespace, "miss" if value is NO_VALUE else "hit").inc()
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
