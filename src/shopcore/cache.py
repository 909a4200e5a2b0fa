"""Cache: dogpile.cache regions from settings, generation-numbered entries, and a fallback when Redis is away.

Keys look like `<namespace>:<collection>:<parts>`, and each entry holds, beside its value, the
generation of every collection it depends on when it was built. Bumping a collection's generation
makes every entry built on the old one a miss at once (all cached pages of a list), and the old
entries are overwritten or simply expire. Generations are bumped after commit, so no request can
re-cache data that an uncommitted write is about to replace: a value built from what was read
before the commit carries the old generation.

Because the key does not hold the generation, `CacheNamespace.key` reads the generations and the
entry in one `MGET`: a cache hit costs one Redis round trip (it used to take two, the generations
and then the entry under a key made of them), and it is still exact across processes, since every
hit compares the generations in Redis at that moment.

A cache backend error never fails a request: reads become misses, writes are dropped, and the
error is logged.

The API a plugin uses (part of the plugin contract):

    config.add_cache_namespace("wishlist", ttl=None)        # in includeme; ttl in seconds
    cache = request.cache("wishlist")                       # a CacheNamespace
    key = cache.key("lists", user_id, page)                 # valid until "lists" is invalidated
    body = cache.get_or_create(key, lambda: build_body())   # any picklable value
    cache.invalidate_after_commit(request, "lists")         # after a write

Without Redis the cache lives in process memory, bounded: at most `shopcore.cache.max_entries`
entries, the least recently used evicted first. Production refuses it (see `shopcore.settings`).
Another process cannot reach that memory, so an admin command's writes (a catalog import) would stay
invisible behind the server's cached pages for a whole TTL. With `shopcore.cache.shared_file` set (as
development.ini does), every invalidation also rewrites that file, and each process looks at the
file (one `stat`) before it reads its memory cache: when another process has rewritten it, the whole
memory cache is dropped, so the server shows the command's writes on its next request.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from typing import Any, Callable, Iterable

import cachetools
from dogpile.cache import make_region, register_backend
from dogpile.cache.api import NO_VALUE
from dogpile.cache.backends.memory import MemoryBackend
from dogpile.cache.proxy import ProxyBackend
from pyramid.exceptions import ConfigurationError

from shopcore.metrics import CACHE_LOOKUPS

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


class BoundedMemoryBackend(MemoryBackend):
    """dogpile's memory backend over an LRU mapping: at most `max_entries` entries, the least recently
    used evicted first. dogpile's own memory backend is a plain dict that never evicts, so any
    request that makes a new key (a new page, a new filter) grew the process for good.

    The lock: waitress serves requests on threads, and an LRU mapping reorders itself on every read.
    """

    def __init__(self, arguments):
        super().__init__({"cache_dict": cachetools.LRUCache(maxsize=arguments["max_entries"])})
        self._lock = threading.Lock()
        self._shared_file = arguments.get("shared_file") or None
        self._seen = self._file_state()

    def __len__(self) -> int:
        return len(self._cache)

    def _file_state(self):
        if self._shared_file is None:
            return None
        try:
            state = os.stat(self._shared_file)
        except FileNotFoundError:
            return None
        return state.st_mtime_ns, state.st_size, state.st_ino

    def _drop_if_changed_elsewhere(self) -> None:
        """Another process invalidated something: drop everything (which entries, this process cannot know)."""
        if self._shared_file is None:
            return
        state = self._file_state()
        if state != self._seen:
            self._cache.clear()
            self._seen = state

    def _tell_other_processes(self, keys) -> None:
        if self._shared_file is None or not any(_GENERATION_MARK in key for key in keys):
            return
        self._drop_if_changed_elsewhere()  # what others wrote before this invalidation counts too
        folder = os.path.dirname(self._shared_file)
        if folder:
            os.makedirs(folder, exist_ok=True)
        partial = f"{self._shared_file}.{os.getpid()}.{threading.get_ident()}"
        with open(partial, "w") as handle:
            handle.write(uuid.uuid4().hex)
        os.replace(partial, self._shared_file)  # a new inode: a change the other processes cannot miss
        self._seen = self._file_state()

    def _read(name: str):
        def method(self, *args):
            with self._lock:
                self._drop_if_changed_elsewhere()
                return getattr(MemoryBackend, name)(self, *args)

        return method

    def _write(name: str, keys):
        def method(self, *args):
            with self._lock:
                result = getattr(MemoryBackend, name)(self, *args)
                self._tell_other_processes(keys(args[0]))
                return result

        return method

    get = _read("get")
    get_multi = _read("get_multi")
    set = _write("set", lambda key: [key])
    set_multi = _write("set_multi", lambda mapping: list(mapping))
    delete = _write("delete", lambda key: [key])
    delete_multi = _write("delete_multi", lambda keys: list(keys))


MEMORY_BACKEND = "shopcore.cache.memory"
register_backend(MEMORY_BACKEND, __name__, "BoundedMemoryBackend")
# dogpile's unbounded memory backend, when named in settings, is replaced by the bounded one.
UNBOUNDED_MEMORY_BACKENDS = frozenset({"dogpile.cache.memory", "dogpile.cache.memory_pickle"})


def make_cache_region(settings, ttl: int | None = None):
    backend = settings["shopcore.cache.backend"]
    ttl = ttl or settings["shopcore.cache.ttl"]
    arguments: dict[str, Any] = {}
    if backend in UNBOUNDED_MEMORY_BACKENDS or backend == MEMORY_BACKEND:
        backend = MEMORY_BACKEND
        arguments = {"max_entries": settings["shopcore.cache.max_entries"],
                     "shared_file": settings.get("shopcore.cache.shared_file") or None}
    elif backend.startswith("dogpile.cache.redis"):
        arguments = {
            "url": settings["shopcore.cache.redis_url"] or settings["shopcore.redis_url"],
            # Redis forgets entries a little after dogpile considers them stale.
            "redis_expiration_time": ttl + 60,
            "connection_kwargs": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    region = make_region(key_mangler=None)
    region.configure(backend, expiration_time=ttl, arguments=arguments, wrap=[TolerantBackend])
    return region


_CONSUMED = object()


class CacheKey(str):
    """A key from `CacheNamespace.key`: the generations it was made under and the entry read with them."""

    generation: str
    entry: Any


class CacheNamespace:
    """One plugin's part of the cache: what `request.cache(name)` returns.

    Values are grouped in *collections* (names the plugin chooses: "products", "product:42"). A key
    built with `key(collections, ...)` stays valid until one of its collections is invalidated; an
    invalidated collection's old entries are never read again and expire by themselves. Values
    must be picklable (Redis stores them pickled); `None` cannot be cached (it reads as a miss).
    """

    def __init__(self, region, namespace: str):
        self.region = region
        self.namespace = namespace

    def _generation_key(self, collection: str) -> str:
        return f"{self.namespace}{_GENERATION_MARK}{collection}"

    def _read(self, collections: list[str], extra_keys: list[str]) -> tuple[str, list]:
        """The generation token of `collections` and the entries of `extra_keys`, in one backend call."""
        keys = [self._generation_key(c) for c in collections]
        values = self.region.get_multi(keys + extra_keys)
        tokens = []
        for key, value in zip(keys, values):
            if value is NO_VALUE:
                value = uuid.uuid4().hex[:12]
                self.region.set(key, value)
            tokens.append(value)
        return ".".join(tokens), values[len(keys):]

    def generations(self, collections: Iterable[str]) -> str:
        return self._read(list(collections), [])[0]

    def key(self, collections: str | Iterable[str], *parts: Any) -> CacheKey:
        """A key valid until any of `collections` is invalidated (its entry is read along, see `get`)."""
        if isinstance(collections, str):
            collections = [collections]
        collections = list(collections)
        key = CacheKey(":".join([self.namespace, "+".join(collections), *map(str, parts)]))
        key.generation, (key.entry,) = self._read(collections, [key])
        return key

    def _current(self, key: str, entry) -> Any:
        """The value of an entry if it was stored under the key's generations, else None (a miss)."""
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == getattr(key, "generation", None):
            return entry[1]
        return None

    def get(self, key: str):
        """The cached value, or None on a miss (or when the cache backend is away)."""
        if isinstance(key, CacheKey) and key.entry is not _CONSUMED:
            # The entry read along with the generations; a later get() of this key reads the cache again.
            entry, key.entry = key.entry, _CONSUMED
        else:
            entry = self.region.get(key)
        value = self._current(key, entry)
        CACHE_LOOKUPS.labels(self.namespace, "hit" if value is not None else "miss").inc()
        return value

    def set(self, key: str, value) -> None:
        """Cache `value` under `key` for the namespace's TTL (dropped silently if the backend is away)."""
        if not isinstance(key, CacheKey):
            raise TypeError("cache keys come from CacheNamespace.key()")
        self.region.set(key, (key.generation, value))
        key.entry = _CONSUMED

    def get_or_create(self, key: str, creator: Callable[[], Any]):
        """The cached value, or `creator()`'s, cached on the way out."""
        value = self.get(key)
        if value is None:
            value = creator()
            self.set(key, value)
        return value

    def invalidate(self, *collections: str) -> None:
        """Make every key built on these collections unreachable now (prefer `invalidate_after_commit`).

        One write for all of them (a single round trip to Redis), whatever their number.
        """
        if collections:
            self.region.set_multi({self._generation_key(collection): uuid.uuid4().hex[:12]
                                   for collection in collections})

    def invalidate_after_commit(self, request, *collections: str) -> None:
        """Invalidate when the request's transaction commits (and also now, for this request).

        Every namespace's invalidations of one transaction go to Redis together after the commit:
        one write per cache region, however many calls made them.
        """
        self.invalidate(*collections)
        transaction = request.tm.get()
        try:
            pending = transaction.data(_INVALIDATED_AFTER_COMMIT)
        except KeyError:
            pending = {}
            transaction.set_data(_INVALIDATED_AFTER_COMMIT, pending)
            transaction.addAfterCommitHook(_invalidate_after_commit, args=(pending,))
        pending.setdefault(self.region, set()).update(self._generation_key(c) for c in collections)


# Transaction data: {region: generation keys} to bump once the transaction has committed.
_INVALIDATED_AFTER_COMMIT = object()


def _invalidate_after_commit(success: bool, pending: dict) -> None:
    if success:
        for region, keys in pending.items():
            region.set_multi({key: uuid.uuid4().hex[:12] for key in sorted(keys)})


def add_cache_namespace(config, namespace: str, ttl: int | None = None) -> None:
    """Give a plugin its own cache namespace (and region, when it wants its own TTL in seconds).

    A namespace has one owner: a second registration of the same name, by another plugin or the
    core, stops start-up naming both.
    """
    if not isinstance(namespace, str) or not namespace or ":" in namespace:
        raise ConfigurationError(f"cache namespace must be a non-empty name without ':', got {namespace!r}")

    def register():
        registry = config.registry
        region = registry["shopcore.cache_region"] if ttl is None else make_cache_region(registry.settings, ttl)
        registry.setdefault("shopcore.cache_namespaces", {})[namespace] = CacheNamespace(region, namespace)

    config.action(("shopcore.cache_namespace", namespace), register)


def get_cache(request, namespace: str) -> CacheNamespace:
    """`request.cache(namespace)`: the CacheNamespace registered under that name (KeyError if none)."""
    return request.registry["shopcore.cache_namespaces"][namespace]


def includeme(config) -> None:
    config.registry["shopcore.cache_region"] = make_cache_region(config.get_settings())
    config.add_directive("add_cache_namespace", add_cache_namespace)
    config.add_request_method(get_cache, "cache")
