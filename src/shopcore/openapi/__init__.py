"""OpenAPI: the core's base.yaml and each plugin's fragment, merged at start-up and given to pyramid_openapi3."""
from __future__ import annotations

import atexit
import copy
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate
from pyramid.config import PHASE1_CONFIG
from pyramid.exceptions import ConfigurationError
from pyramid.path import AssetResolver

from shopcore.bodies import extensible_schemas
from shopcore.plugins import CORE_OWNER, PluginError, current_owner, describe_owner, describe_owners
from shopcore.scopes import CORE_AREA, OPERATION_SCOPES, SCOPE_AREA, ScopeError, fill_scopes, operation_scopes

BASE_SPEC = Path(__file__).with_name("base.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers",
                      "securitySchemes", "links", "callbacks")


# A fragment's top-level key adding properties to another owner's extensible schema (see shopcore.bodies).
EXTEND_SCHEMAS = "x-shopcore-extend-schemas"


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
    for item in spec["paths"].values():
        fill_scopes(item, CORE_AREA, HTTP_METHODS)

    for owner, fragment in fragments:
        unknown = set(fragment) - {"paths", "components", "tags", EXTEND_SCHEMAS, SCOPE_AREA}
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
            try:
                # Every operation states the scope an app's key needs for it (shopcore.scopes).
                # An extra include (a test's, an application's own) is no plugin: the core's area.
                plugin_area = "" if owner.startswith("include ") else owner
                fill_scopes(spec["paths"][path], fragment.get(SCOPE_AREA) or plugin_area or CORE_AREA, HTTP_METHODS)
            except ScopeError as exc:
                raise SpecConflict(f"OpenAPI fragment of {describe_owner(owner)}, path {path}: {exc}") from None
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


def extend_schemas(spec: dict, fragments: list[tuple[str, dict]], extensible: dict[str, str]) -> dict:
    """Add each fragment's `x-shopcore-extend-schemas` properties to the merged spec's schemas (in place).

    `extensible` maps the schemas whose bodies are declared extensible to their owner
    (`shopcore.bodies.extensible_schemas`). Only those may be extended, only with `properties`, and a
    property may be added once: one that the schema already has, or that two fragments add, is a
    `SpecConflict` naming both owners. Extension properties are never required (the owner's write
    responses do not carry them).
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    added_by: dict[tuple[str, str], str] = {}
    for owner, fragment in fragments:
        for schema_name, extension in (fragment.get(EXTEND_SCHEMAS) or {}).items():
            if schema_name not in extensible or schema_name not in schemas:
                raise SpecConflict(f"OpenAPI fragment of {describe_owner(owner)} extends schema {schema_name}, which "
                                   f"is not an extensible body (extensible: {', '.join(sorted(extensible)) or 'none'})")
            unknown = set(extension or {}) - {"properties"}
            if unknown:
                raise SpecConflict(f"OpenAPI fragment of {describe_owner(owner)}: {EXTEND_SCHEMAS}.{schema_name} may "
                                   f"only add properties, not {', '.join(sorted(unknown))}")
            target = schemas[schema_name].setdefault("properties", {})
            for field, definition in ((extension or {}).get("properties") or {}).items():
                if (schema_name, field) in added_by:
                    raise SpecConflict(f"{describe_owners(added_by[(schema_name, field)], owner)} both add field "
                                       f"{field} to OpenAPI schema {schema_name}")
                if field in target:
                    raise SpecConflict(f"{describe_owners(extensible[schema_name], owner)} both declare field {field} "
                                       f"of OpenAPI schema {schema_name} (an extension may not replace the schema's "
                                       f"own fields)")
                target[field] = copy.deepcopy(definition)
                added_by[(schema_name, field)] = owner
    return spec


def _operations(paths: dict):
    for item in paths.values():
        for method in HTTP_METHODS:
            if method in (item or {}):
                yield item[method]


class SpecTampered(ConfigurationError):
    """The spec file on disk is not the spec this process merged."""


_spec_folder: tuple[int, Path] | None = None


def private_spec_folder() -> Path:
    """This process's own folder for the merged spec: made by mkdtemp (0700, a name no one can know or
    plant beforehand), removed when the process that made it exits. A shared, predictable folder let
    any local user put a spec of their own there before the shop started."""
    global _spec_folder
    if _spec_folder is None or _spec_folder[0] != os.getpid() or not _spec_folder[1].is_dir():
        folder = Path(tempfile.mkdtemp(prefix="shopcore-openapi-"))
        atexit.register(_remove_folder, os.getpid(), folder)
        _spec_folder = (os.getpid(), folder)
    return _spec_folder[1]


def _remove_folder(owner_pid: int, folder: Path) -> None:
    if os.getpid() == owner_pid:  # not a forked child of the process that made it
        shutil.rmtree(folder, ignore_errors=True)


def spec_text(spec: dict) -> bytes:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).encode("utf-8")


def file_digest(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_spec(spec: dict) -> tuple[str, str]:
    """Write the merged spec in this process's private folder; its path and its SHA-256."""
    data = spec_text(spec)
    digest = hashlib.sha256(data).hexdigest()
    folder = private_spec_folder()
    path = folder / f"openapi-{digest[:16]}.yaml"
    if not path.exists() or file_digest(path) != digest:
        fd, temporary = tempfile.mkstemp(dir=folder, suffix=".yaml")  # 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)  # whole or not at all, for a request serving /openapi.yaml meanwhile
    return str(path), digest


def verify_spec_file(path: str | Path, digest: str) -> None:
    """SpecTampered unless the file at `path` is the one written with `digest`."""
    found = file_digest(path)
    if found != digest:
        raise SpecTampered(f"OpenAPI spec {path} changed after it was written (sha256 {found}, expected {digest})")


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
    extend_schemas(spec, fragments, extensible_schemas(registry))
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
    path, digest = write_spec(spec)
    config.registry["shopcore.openapi_spec"] = spec
    config.registry[OPERATION_SCOPES] = operation_scopes(spec, HTTP_METHODS)
    config.registry["shopcore.openapi_path"] = path
    config.registry["shopcore.openapi_digest"] = digest
    config.pyramid_openapi3_spec(path, route="/openapi.yaml", route_name="openapi_yaml")

    def verify() -> None:
        # pyramid_openapi3 reads the file when the configuration commits (PHASE0): the file must still be
        # the one written, and what was read from it the spec merged here.
        verify_spec_file(path, digest)
        with config.registry.settings["pyramid_openapi3"]["spec"].open() as loaded:
            if loaded != spec:
                raise SpecTampered(f"OpenAPI spec {path} was read back different from the merged spec")

    config.action(("shopcore.openapi.verify", path), verify, order=PHASE1_CONFIG)
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
