"""Health and introspection: `/health`, `/ready` and `/api/plugins/`."""
from __future__ import annotations

import logging

from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import text

log = logging.getLogger(__name__)


def health_view(request):
    return {"status": "ok"}


def check_database(request) -> None:
    with request.registry["shopcore.engine"].connect() as connection:
        connection.execute(text("SELECT 1"))


def check_cache(request) -> None:
    settings = request.registry.settings
    if settings["shopcore.redis_url"]:
        import redis

        client = redis.Redis.from_url(settings["shopcore.redis_url"], socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()


def check_broker(request) -> None:
    url = request.registry.settings["shopcore.broker_url"]
    if url:
        from kombu import Connection

        with Connection(url, connect_timeout=1) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS = (("database", check_database), ("cache", check_cache), ("broker", check_broker))


def ready_view(request):
    checks = {}
    for name, check in READINESS_CHECKS:
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
    config.add_route("health", "/health")
    config.add_route("ready", "/ready")
    config.add_route("plugins", "/api/plugins/")
    for route, view in (("health", health_view), ("ready", ready_view), ("plugins", plugins_view)):
        config.add_view(view, route_name=route, request_method="GET", renderer="json", openapi=True,
                        permission=NO_PERMISSION_REQUIRED)
