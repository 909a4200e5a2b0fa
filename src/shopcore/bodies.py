"""Body extensions: a plugin adds fields to another plugin's response bodies (a review count on a product).

The owner of a body declares it extensible, naming the OpenAPI schema that describes it and how to
invalidate its cached copies:

    config.add_extensible_body("catalog.product", schema="Product", invalidate=forget_products)

Another plugin adds fields with a provider, called once per page or detail (never once per item):

    def review_counts(request, ids: list[int]) -> dict[int, dict]:
        return {product_id: {"review_count": count} for product_id, count in ...}

    config.add_body_extension("catalog.product", review_counts)

and describes them in its OpenAPI fragment (top-level key, merged into the owner's schema by the core):

    x-shopcore-extend-schemas:
      Product:
        properties:
          review_count: {type: integer}

The owner merges the fields into its bodies with `extend_bodies(request, name, bodies)` before it
caches them, so a cached body carries them too; the plugin calls
`request.invalidate_body("catalog.product", ids)` when its values change, which invalidates the
owner's cached bodies of those ids when the transaction commits. A provider's field may not replace
one of the body's own (that is a start-up error through the schema, and an error at run time).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from pyramid.exceptions import ConfigurationError

from shopcore.plugins import PluginError, current_owner, describe_owner

EXTENSIBLE = "shopcore.extensible_bodies"
EXTENSIONS = "shopcore.body_extensions"
# Extensions are registered after every declaration, whatever the include order.
AFTER_DECLARATIONS = 1


@dataclass(frozen=True)
class ExtensibleBody:
    name: str
    schema: str
    invalidate: Callable  # invalidate(request, ids) -> None
    owner: str  # allow-list name (shopcore.plugins.CORE_OWNER for the core)


@dataclass(frozen=True)
class BodyExtension:
    provider: Callable  # provider(request, ids) -> {id: {field: value}}
    owner: str  # allow-list name


def add_extensible_body(config, name: str, *, schema: str, invalidate: Callable) -> None:
    """Declare the body `name` extensible: its OpenAPI schema and `invalidate(request, ids)` for its cache."""
    invalidate = config.maybe_dotted(invalidate)
    if not callable(invalidate):
        raise ConfigurationError(f"extensible body {name!r}: invalidate must be callable")
    body = ExtensibleBody(name=name, schema=schema, invalidate=invalidate, owner=current_owner(config))

    def register():
        config.registry.setdefault(EXTENSIBLE, {})[name] = body

    config.action(("shopcore.extensible_body", name), register,
                  introspectables=(config.introspectable("shopcore extensible bodies", name, name,
                                                         "shopcore extensible body"),))


def add_body_extension(config, name: str, provider: Callable) -> None:
    """Add fields to the body `name`: `provider(request, ids) -> {id: {field: value}}`, called once per page."""
    provider = config.maybe_dotted(provider)
    if not callable(provider):
        raise ConfigurationError(f"body extension for {name!r} must be callable")
    extension = BodyExtension(provider=provider, owner=current_owner(config))

    def register():
        declared = config.registry.get(EXTENSIBLE, {})
        if name not in declared:
            raise PluginError(f"{describe_owner(extension.owner)} extends body {name!r}, which no enabled plugin "
                              f"declares extensible (declared: {', '.join(sorted(declared)) or 'none'})")
        config.registry.setdefault(EXTENSIONS, {}).setdefault(name, []).append(extension)

    config.action(("shopcore.body_extension", name, provider), register, order=AFTER_DECLARATIONS)


def extensible_schemas(registry) -> dict[str, str]:
    """{schema name: owner's allow-list name} of every declared extensible body (the spec assembly checks
    fragments against it)."""
    return {body.schema: body.owner for body in registry.get(EXTENSIBLE, {}).values()}


def has_extensions(registry, name: str) -> bool:
    return bool(registry.get(EXTENSIONS, {}).get(name))


def extend_bodies(request, name: str, bodies: Iterable[dict], key: str = "id") -> None:
    """Merge every extension's fields into `bodies` (changed in place), one provider call for all of them."""
    extensions = request.registry.get(EXTENSIONS, {}).get(name)
    if not extensions:
        return
    by_id = {body[key]: body for body in bodies}
    if not by_id:
        return
    ids = list(by_id)
    for extension in extensions:
        for item_id, fields in (extension.provider(request, ids) or {}).items():
            body = by_id.get(item_id)
            if body is None:
                continue
            taken = set(fields) & set(body)
            if taken:
                raise RuntimeError(f"body extension of {describe_owner(extension.owner)} for {name!r} would replace "
                                   f"field(s) {', '.join(sorted(taken))}")
            body.update(fields)


def invalidate_body(request, name: str, ids: Iterable[int]) -> None:
    """`request.invalidate_body(name, ids)`: the owner's cached bodies of `ids` are dropped when the transaction commits."""
    declared = request.registry.get(EXTENSIBLE, {})
    if name not in declared:
        raise KeyError(f"body {name!r} is not declared extensible")
    declared[name].invalidate(request, list(ids))


def includeme(config) -> None:
    config.add_directive("add_extensible_body", add_extensible_body)
    config.add_directive("add_body_extension", add_body_extension)
    config.add_request_method(invalidate_body, "invalidate_body")
