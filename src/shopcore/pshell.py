"""`pshell development.ini`: a shell with the database session, every enabled plugin's models and services."""
from __future__ import annotations

import shopcore.accounts.models  # noqa: F401  (the core's own models, for the listing below)
from shopcore.db import Base


def setup(env) -> None:
    request = env["request"]
    request.tm.begin()
    models = {mapper.class_.__name__: mapper.class_ for mapper in Base.registry.mappers}
    env.update(models)
    env["tm"] = request.tm
    env["dbsession"] = request.dbsession
    env["models"] = models
    # Services are registered by interface (`CatalogService`) or, for older ones, by name.
    registered = {}
    for item in request.registry.introspector.get_category("pyramid_services", []) or []:
        introspectable = item["introspectable"]
        key = introspectable["name"] or getattr(introspectable["type"], "__name__", str(introspectable["type"]))
        registered[key] = (introspectable["type"], introspectable["name"])

    def service(key):
        if isinstance(key, str):
            iface, name = registered[key]
            return request.find_service(iface, name=name)
        return request.find_service(key)

    env["service"] = service
    env["services"] = sorted(registered)
    env["plugins"] = [m.name for m in request.registry["shopcore.plugins"]]
    env["banner"] = (
        "shopcore shell: dbsession, tm (commit with tm.commit()), models (also by name), "
        "service(\"CatalogService\") or service(CatalogService) for a plugin's service (services lists them), "
        "plugins."
    )
