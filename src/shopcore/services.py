"""Services: plugins register what other plugins call (pyramid_services), looked up by interface.

An owner declares a `typing.Protocol` in its `api` module and registers its implementation with
`config.register_service_factory(factory, CatalogService)`; callers use
`request.find_service(CatalogService)`. See docs/plugins.md, "Services".
"""
from __future__ import annotations

import inspect


def includeme(config) -> None:
    # `config.register_service(obj, iface)` / `register_service_factory(factory, iface)` and
    # `request.find_service(iface)` come from pyramid_services.
    config.include("pyramid_services")


def protocol_methods(protocol: type) -> list[str]:
    """The public methods a service interface (a `typing.Protocol`) declares, its bases' included."""
    names: set[str] = set()
    for base in protocol.__mro__:
        if base is object or not getattr(base, "_is_protocol", False) or base.__name__ in ("Protocol", "Generic"):
            continue
        names.update(name for name, value in vars(base).items() if not name.startswith("_") and callable(value))
    return sorted(names)


def protocol_mismatches(protocol: type, implementation: type) -> list[str]:
    """Where `implementation` does not match the service interface `protocol`; empty when it does.

    Each public method of the interface must be defined by the implementation (not merely inherited
    from the interface's `...` body) with the same signature: parameter names, kinds, defaults and
    annotations (resolved, so `Decimal` and `decimal.Decimal` are the same). A plugin's test suite
    asserts this is empty, so an implementation and its documented interface cannot drift apart.
    """
    problems = []
    for name in protocol_methods(protocol):
        defined = next((vars(klass)[name] for klass in implementation.__mro__
                        if name in vars(klass) and klass not in protocol.__mro__), None)
        if defined is None:
            problems.append(f"{implementation.__qualname__} does not implement {protocol.__qualname__}.{name}")
            continue
        wanted = inspect.signature(getattr(protocol, name), eval_str=True)
        actual = inspect.signature(defined, eval_str=True)
        if wanted != actual:
            problems.append(f"{implementation.__qualname__}.{name}{actual} differs from "
                            f"{protocol.__qualname__}.{name}{wanted}")
    return problems
