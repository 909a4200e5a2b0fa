"""Services: plugins register what other plugins call (pyramid_services), looked up by name."""
from __future__ import annotations


def includeme(config) -> None:
    # `config.register_service(obj, name=...)` / `register_service_factory(factory, name=...)`
    # and `request.find_service(name=...)` come from pyramid_services.
    config.include("pyramid_services")
