"""Health and introspection: `/health`, `/ready` and `/api/plugins/`.

`/ready` runs every readiness check registered with `config.add_readiness_check(name, check)`, in
registration order: the core's `database`, `cache` and `broker`, then the plugins'. A check is
`check(request)`; it returns when what it checks is reachable and raises when it is not. The answer
is 200 with every check "ok", or 503 naming the ones that are "down" (the reason is logged, not
shown). Keep a check fast (well under a second): load balancers call `/ready` often.
"""
from __future__ import annotations

import logging

from pyramid.exceptions import ConfigurationError
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
    config.add_readiness_check("cache", check_cache)
    config.add_readiness_check("broker", check_broker)
    config.add_route("health", "/health")
    config.add_route("ready", "/ready")
    config.add_route("plugins", "/api/plugins/")
    for route, view in (("health", health_view), ("ready", ready_view), ("plugins", plugins_view)):
        config.add_view(view, route_name=route, request_method="GET", renderer="json", openapi=True,
                        permission=NO_PERMISSION_REQUIRED)
