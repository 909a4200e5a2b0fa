"""Health and introspection: `/health`, `/ready` and `/api/plugins/`.

`/ready` runs every readiness check registered with `config.add_readiness_check(name, check)`, in
registration order: the core's `database`, `cache` and `broker`, then the plugins'. A check is
`check(request)`; it returns when what it checks is reachable and raises when it is not. The answer
is 200 with every check "ok", or 503 naming the ones that are "down" (the reason is logged, not
shown). Keep a check fast (well under a second): load balancers call `/ready` often.
"""
from __future__ import annotations

import logging
import socket
import threading

from pyramid.exceptions import ConfigurationError
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import text

log = logging.getLogger(__name__)


def health_view(request):
    return {"status": "ok"}


def check_database(request) -> None:
    with request.registry["shopcore.engine"].connect() as connection:
        connection.execute(text("SELECT 1"))


class RedisCheck:
    """Pings each Redis the shop uses (the one of `shopcore.redis_url`, and the cache's own if set).

    One client per Redis for the life of the process: its connection is reused from one `/ready` to
    the next instead of opening (and closing) one per call, which a load balancer polling every few
    seconds from every web process would otherwise turn into a steady churn of connections.
    """

    def __init__(self, settings):
        urls = dict.fromkeys(url for url in (settings["shopcore.redis_url"], settings["shopcore.cache.redis_url"]) if url)
        self.clients = []
        if urls:
            import redis

            self.clients = [redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) for url in urls]

    def __call__(self, request) -> None:
        for client in self.clients:
            client.ping()


class BrokerCheck:
    """Checks the broker through one connection kept for the life of the process (under a lock: a
    kombu connection is not shared between threads), made again only after it failed."""

    def __init__(self, url: str):
        self.url = url
        self._connection = None
        self._lock = threading.Lock()

    def __call__(self, request) -> None:
        if not self.url:
            return
        from kombu import Connection

        with self._lock:
            if self._connection is None:
                self._connection = Connection(self.url, connect_timeout=1)
            try:
                self._connection.ensure_connection(max_retries=1, timeout=2)
                # A round trip on the connection kept: a broker gone since the last check shows here.
                self._round_trip()
            except Exception:
                self._connection.release()
                self._connection = None
                raise

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.release()
                self._connection = None

    def _round_trip(self) -> None:
        client = getattr(self._connection.default_channel, "client", None)
        if hasattr(client, "ping"):
            client.ping()  # kombu's Redis transport: its channel's Redis client
            return
        try:
            self._connection.drain_events(timeout=0.05)
        except socket.timeout:
            pass  # AMQP: nothing to read, and the socket is still open


READINESS_CHECKS = "shopcore.readiness_checks"  # registry key: {name: check}, in registration order


def add_readiness_check(config, name: str, check) -> None:
    """Make `/ready` run `check(request)` under `name`; a name registered twice stops start-up."""
    check = config.maybe_dotted(check)
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"readiness check name must be a non-empty string, got {name!r}")
    if not callable(check):
        raise ConfigurationError(f"readiness check {name!r} is not callable")

    def register():
        config.registry.setdefault(READINESS_CHECKS, {})[name] = check

    config.action(("shopcore.readiness_check", name), register)


def ready_view(request):
    checks = {}
    for name, check in request.registry.get(READINESS_CHECKS, {}).items():
        try:
            check(request)
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness: %s is down: %s: %s", name, type(exc).__name__, exc)
            checks[name] = "down"
    ok = all(state == "ok" for state in checks.values())
    request.response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "unavailable", "checks": checks}


def plugins_view(request):
    return [
        {"name": m.name, "version": m.version or "", "api": str(m.api), "requires": list(m.requires),
         "description": m.description}
        for m in request.registry["shopcore.plugins"]
    ]


def includeme(config) -> None:
    config.add_directive("add_readiness_check", add_readiness_check)
    config.add_readiness_check("database", check_database)
    config.add_readiness_check("cache", RedisCheck(config.get_settings()))
    config.add_readiness_check("broker", BrokerCheck(config.get_settings()["shopcore.broker_url"]))
    config.add_route("health", "/health")
    config.add_route("ready", "/ready")
    config.add_route("plugins", "/api/plugins/")
    for route, view in (("health", health_view), ("ready", ready_view), ("plugins", plugins_view)):
        config.add_view(view, route_name=route, request_method="GET", renderer="json", openapi=True,
                        permission=NO_PERMISSION_REQUIRED)
