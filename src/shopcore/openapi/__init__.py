"""OpenAPI: the core's base.yaml and each plugin's fragment, merged at start-up and given to pyramid_openapi3."""
from __future__ import annotations

import copy
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate
from pyramid.exceptions import ConfigurationError
from pyramid.path import AssetResolver

from shopcore.plugins import CORE_OWNER, PluginError, current_owner, describe_owner, describe_owners

BASE_SPEC = Path(__file__).with_name("base.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers",
                      "securitySchemes", "links", "callbacks")


class SpecConflict(PluginError, ConfigurationError):
    """Two parts of the spec claim the same path, operationId or component; the message names both owners."""


def load_yaml(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def merge_fragments(base: dict, fragments: list[tuple[str, dict]]) -> dict:
    """The base spec with each (owner, fragment) merged in; conflicts name both owners.

    Owners are allow-list names (`shopcore.plugins.CORE_OWNER` for the core, which owns the base).
    """
    spec = copy.deepcopy(base)
    spec.setdefault("paths", {})
    spec.setdefault("components", {})
    spec.setdefault("tags", [])
    path_owner = {path: CORE_OWNER for path in spec["paths"]}
    operation_owner = {op["operationId"]: CORE_OWNER for op in _operations(spec["paths"]) if "operationId" in op}
    component_owner = {(section, name): CORE_OWNER for section, items in spec["components"].items()
                       for name in (items or {})}
    tag_names = {tag["name"] for tag in spec["tags"]}

    for owner, fragment in fragments:
        unknown = set(fragment) - {"paths", "components", "tags"}
        if unknown:
            raise SpecConflict(f"OpenAPI fragment of {describe_owner(owner)} has top-level keys it may not set: "
                               f"{', '.join(sorted(unknown))}")
        for path, item in (fragment.get("paths") or {}).items():
            if path in spec["paths"]:
                raise SpecConflict(f"{describe_owners(path_owner[path], owner)} both declare OpenAPI path {path}")
            for operation in _operations({path: item}):
                operation_id = operation.get("operationId")
                if not operation_id:
                    raise SpecConflict(f"OpenAPI fragment of {describe_owner(owner)}: an operation of {path} "
                                       "has no operationId")
                if operation_id in operation_owner:
                    raise SpecConflict(f"{describe_owners(operation_owner[operation_id], owner)} both declare "
                                       f"OpenAPI operationId {operation_id}")
                operation_owner[operation_id] = owner
            spec["paths"][path] = copy.deepcopy(item)
            path_owner[path] = owner
        for section, items in (fragment.get("components") or {}).items():
            target = spec["components"].setdefault(section, {})
            for name, value in (items or {}).items():
                if name in target and target[name] != value:
                    raise SpecConflict(f"OpenAPI component {section}/{name} is declared differently by "
                                       f"{describe_owners(component_owner[(section, name)], owner)}")
                target[name] = copy.deepcopy(value)
                component_owner.setdefault((section, name), owner)
        for tag in fragment.get("tags") or []:
            if tag["name"] not in tag_names:
                spec["tags"].append(copy.deepcopy(tag))
                tag_names.add(tag["name"])

    for operation in _operations(spec["paths"]):
        # Every operation can answer with the shop's error body; fragments need not repeat it.
        operation.setdefault("responses", {}).setdefault("default", {"$ref": "#/components/responses/Error"})
    return spec


def _operations(paths: dict):
    for item in paths.values():
        for method in HTTP_METHODS:
            if method in (item or {}):
                yield item[method]


def write_spec(spec: dict) -> str:
    """Write the merged spec once; the file name carries its content hash so processes share it."""
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "shopcore-openapi"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"openapi-{digest}.yaml"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    return str(path)


def add_openapi_fragment(config, asset_spec: str) -> None:
    """Add a plugin's fragment (a YAML file, as `package:path/to/file.yaml`) to the merged spec.

    Registry key `shopcore.openapi_fragments`: `(owner, path)` pairs, owner being the allow-list name.
    """
    package = config.package_name
    owner = current_owner(config)
    path = AssetResolver(package).resolve(asset_spec).abspath()
    if not os.path.exists(path):
        raise ConfigurationError(f"OpenAPI fragment {asset_spec} of {package} does not exist")
    if ":" not in asset_spec:
        asset_spec = f"{package}:{asset_spec}"

    def register():
        config.registry.setdefault("shopcore.openapi_fragments", []).append((owner, path))

    config.action(("shopcore.openapi_fragment", asset_spec), register)


def assemble_spec(registry) -> dict:
    fragments = [(owner, load_yaml(path)) for owner, path in registry.get("shopcore.openapi_fragments", [])]
    spec = merge_fragments(load_yaml(BASE_SPEC), fragments)
    try:
        validate(spec)
    except Exception as exc:
        owners = ", ".join(describe_owner(owner) for owner in dict.fromkeys(o for o, _ in fragments)) or "the core"
        raise ConfigurationError(f"merged OpenAPI spec is invalid ({owners}): {exc}") from None
    return spec


def watch_for_reload(paths: list[str]) -> None:
    """Under `pserve --reload`, a changed fragment restarts the server like changed code does."""
    import hupper

    if hupper.is_active():
        hupper.get_reloader().watch_files(paths)


def install_spec(config) -> dict:
    """Merge, validate, write and hand the spec to pyramid_openapi3 (called once, after every plugin)."""
    watch_for_reload([str(BASE_SPEC), *(path for _owner, path in config.registry.get("shopcore.openapi_fragments", []))])
    spec = assemble_spec(config.registry)
    path = write_spec(spec)
    config.registry["shopcore.openapi_spec"] = spec
    config.registry["shopcore.openapi_path"] = path
    config.pyramid_openapi3_spec(path, route="/openapi.yaml", route_name="openapi_yaml")
    add_method_not_allowed_views(config, spec)
    return spec


def add_method_not_allowed_views(config, spec: dict) -> None:
    """A 405 naming the allowed methods for any other method on a path the spec declares.

    Pyramid alone answers 404 when a route matches but no view accepts the method.
    """
    from pyramid.security import NO_PERMISSION_REQUIRED

    from shopcore.errors import error_response

    allowed_by_pattern = {
        pattern: sorted(m.upper() for m in item if m in HTTP_METHODS) for pattern, item in spec["paths"].items()
    }
    for route in config.registry.introspector.get_category("routes"):
        introspectable = route["introspectable"]
        allowed = allowed_by_pattern.get(introspectable["pattern"])
        if not allowed:
            continue

        def method_not_allowed(request, allowed=allowed):
            return error_response(405, f"Method {request.method} not allowed; use {', '.join(allowed)}.",
                                  headers={"Allow": ", ".join(allowed)})

        config.add_view(method_not_allowed, route_name=introspectable["name"], permission=NO_PERMISSION_REQUIRED)


def includeme(config) -> None:
    settings = config.get_settings()
    settings["pyramid_openapi3.enable_response_validation"] = settings["shopcore.openapi.validate_responses"]
    settings["pyramid_openapi3.enable_request_validation"] = True
    config.include("pyramid_openapi3")
    config.add_directive("add_openapi_fragment", add_openapi_fragment)
