"""Request validation compiled once: every operation's parameters and body as fast validators.

openapi-core walks the spec on every request and rebuilds, per parameter and per body schema, what
depends on the spec alone (a validator, a caster, a style deserializer); that was the largest cost of
an uncached request. At start-up this module walks the merged spec once and, for each operation,
keeps what a request needs:

- per parameter: where it is read (query, path, header), how its text becomes a value — openapi-core's
  own rules: the last of repeated query values, `int()`, `float()`, the same true/false words, arrays
  by style and explode — and a jsonschema-rs validator for its schema;
- the body: the media types accepted, whether it is required, and a jsonschema-rs validator;
- the security requirements (a bearer header must be there, as openapi-core checks).

A valid request, nearly every one, is decided by the compiled validators alone. When one of them
refuses a value, its errors are listed by openapi-schema-validator's OAS 3.0 validator — the one
openapi-core uses — built once for that schema: the verdict and the fields named are those
openapi-core gives, and each message is reworded to say what the field allows
(`describe_schema_error`). tests/test_compiled_validation.py checks the agreement on requests
generated from the spec for every operation.

An operation that uses anything not covered here (parameters with `content`, cookie parameters,
styles other than form and simple, non-JSON bodies, defaults inside a body, formats openapi-core
turns into objects, readOnly/writeOnly, recursive schemas, ...) keeps openapi-core
(`CompiledValidation.uncompiled` lists them, with the reason).
"""
from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import jsonschema_rs
from openapi_core.util import BOOLEAN_FALSE_VALUES, BOOLEAN_TRUE_VALUES
from openapi_schema_validator import OAS30WriteValidator
from pyramid_openapi3 import openapi_validated as validate_with_openapi_core

from shopcore.errors import InvalidInput, chosen_alternative
from shopcore.openapi import HTTP_METHODS

log = logging.getLogger(__name__)

# Formats openapi-core turns into Python objects (a datetime, a UUID, bytes) after validating.
OBJECT_FORMATS = frozenset({"date", "date-time", "binary", "uuid", "byte"})
# Schema keywords with an effect this module does not reproduce.
UNSUPPORTED_KEYWORDS = frozenset({"readOnly", "writeOnly", "discriminator", "not", "x-nullable"})
ANNOTATIONS = frozenset({"description", "example", "examples", "title", "externalDocs", "xml", "deprecated",
                         "default"})
JSON_MEDIA_TYPE = "application/json"


class Unsupported(Exception):
    """The operation uses a feature the compiled path does not reproduce: openapi-core keeps it."""


# --- what a validation reports -------------------------------------------------------------------

class RequestFieldError(Exception):
    """One field of the request is wrong; the message says what the field allows."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnsupportedMediaType(Exception):
    """The body's media type is not one the operation accepts (a 415)."""


class MissingCredentials(Exception):
    """None of the operation's security requirements is met (a 401)."""


class MalformedBody(Exception):
    """The body is not the JSON it says it is."""


@dataclass
class Parameters:
    query: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)
    cookie: dict = field(default_factory=dict)
    path: dict = field(default_factory=dict)


@dataclass
class ValidatedRequest:
    """What views read as `request.openapi_validated` (the attributes openapi-core's result has)."""

    errors: list
    body: Any = None
    parameters: Parameters = field(default_factory=Parameters)
    security: dict | None = None


# --- schemas ---------------------------------------------------------------------------------------

def resolve(spec: dict, node: Any, seen: tuple = ()) -> Any:
    """`node` with every local `$ref` replaced by a copy of its target (request schemas are not recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise Unsupported(f"reference {ref}")
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(spec, target, seen + (ref,))
        return {key: resolve(spec, value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(spec, item, seen) for item in node]
    return node


def format_checker_functions() -> dict[str, Callable[[Any], bool]]:
    """openapi-core's format checks (the OAS 3.0 validator's checker) as plain predicates."""
    checker = OAS30WriteValidator.FORMAT_CHECKER

    def predicate(name: str) -> Callable[[Any], bool]:
        def check(value: Any) -> bool:
            try:
                checker.check(value, name)
            except Exception:
                return False
            return True

        return check

    return {name: predicate(name) for name in checker.checkers}


class SchemaCompiler:
    """OAS 3.0 schemas to jsonschema-rs validators with openapi-core's meaning.

    Draft 7 (an integral float is an integer, as in openapi-schema-validator); `nullable` becomes a
    `null` type; `exclusiveMinimum`/`exclusiveMaximum` become draft-7 numbers; `pattern` and `format`
    become custom formats that call Python's `re.search` and openapi-core's format checks, so text
    is judged exactly as openapi-core judges it (Python and Rust regular expressions differ on `$`,
    `\\d` and more).
    """

    def __init__(self):
        self.known_formats = format_checker_functions()
        self.formats: dict[str, Callable[[Any], bool]] = {}
        self.pattern_formats: dict[str, str] = {}

    def check(self, schema: Any, where: str) -> None:
        """Refuse what the compiled path would not judge (or unmarshal) as openapi-core does."""
        if not isinstance(schema, dict):
            raise Unsupported(f"{where}: a schema that is not an object")
        unsupported = UNSUPPORTED_KEYWORDS & set(schema)
        if unsupported:
            raise Unsupported(f"{where}: {', '.join(sorted(unsupported))}")
        if schema.get("format") in OBJECT_FORMATS:
            raise Unsupported(f"{where}: format {schema['format']} (unmarshalled into an object)")
        if "format" in schema and schema["format"] in self.known_formats and schema.get("type") != "string":
            raise Unsupported(f"{where}: format {schema['format']} on a non-string schema")
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and "default" in sub:
                raise Unsupported(f"{where}.{name}: default (filled in by openapi-core's unmarshaller)")
            self.check(sub, f"{where}.{name}")
        for key in ("items",):
            if key in schema:
                self.check(schema[key], f"{where}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            self.check(schema["additionalProperties"], f"{where}.*")
        for key in ("allOf", "oneOf", "anyOf"):
            for index, sub in enumerate(schema.get(key) or []):
                self.check(sub, f"{where}/{key}/{index}")

    def to_json_schema(self, schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in ANNOTATIONS or key.startswith("x-") or key == "nullable":
                continue
            if key == "properties":
                out[key] = {name: self.to_json_schema(sub) for name, sub in value.items()}
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self.to_json_schema(value)
            elif key in ("allOf", "oneOf", "anyOf"):
                out[key] = [self.to_json_schema(sub) for sub in value]
            elif key in ("exclusiveMinimum", "exclusiveMaximum"):
                continue  # folded into minimum/maximum below
            elif key in ("minimum", "maximum"):
                exclusive = schema.get("exclusiveMinimum" if key == "minimum" else "exclusiveMaximum") is True
                out[("exclusiveMinimum" if key == "minimum" else "exclusiveMaximum") if exclusive else key] = value
            elif key == "pattern":
                name = f"shopcore-pattern-{len(self.pattern_formats)}"
                compiled = re.compile(value)
                self.pattern_formats[name] = value
                self.formats[name] = lambda text, compiled=compiled: not isinstance(text, str) or (
                    compiled.search(text) is not None)
                out.setdefault("allOf", []).append({"format": name})
            elif key == "format":
                if value in self.known_formats:
                    name = f"shopcore-format-{value}"
                    self.formats[name] = self.known_formats[value]
                    out.setdefault("allOf", []).append({"format": name})
                # A format openapi-core's checker does not know asserts nothing there either.
            else:
                out[key] = value
        if schema.get("nullable") is True and "type" in schema:
            out["type"] = [schema["type"], "null"]
        return out


class CompiledSchema:
    """A schema's fast verdict (jsonschema-rs) and, for a refused value, openapi-core's list of errors."""

    def __init__(self, schema: dict, fast, slow):
        self.schema = schema
        self.fast = fast
        self.slow = slow

    def errors(self, value: Any, prefix: list[str]) -> list[RequestFieldError]:
        try:
            if self.fast.is_valid(value):
                return []
        except Exception:
            pass  # a value jsonschema-rs cannot take (a lone surrogate in a string): openapi-core's validator decides
        out: list[RequestFieldError] = []
        for error in self.slow.iter_errors(value):
            out.extend(schema_error_fields(error, prefix))
        return unique(out)


def unique(errors: list[RequestFieldError]) -> list[RequestFieldError]:
    seen, out = set(), []
    for error in errors:
        if (error.field, error.message) not in seen:
            seen.add((error.field, error.message))
            out.append(error)
    return out


# --- messages ---------------------------------------------------------------------------------------

TYPE_MESSAGES = {
    "integer": "A valid integer is required.",
    "number": "A valid number is required.",
    "string": "Not a valid string.",
    "boolean": "Must be true or false.",
    "object": "Must be a JSON object.",
    "array": "Must be a list.",
}
FORMAT_MESSAGES = {
    "email": "Enter a valid email address.",
    "date-time": "Enter a valid date and time (RFC 3339, like 2026-01-31T12:00:00Z).",
    "date": "Enter a valid date (like 2026-01-31).",
}
_UNEXPECTED = re.compile(r"\('?(?P<names>[^)]*?)'? (?:was|were) unexpected\)")
_REQUIRED = re.compile(r"'(?P<name>[^']+)' is a required property")


def _number(value: Any) -> str:
    return str(value)


def describe_alternative(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "a valid value"
    kind = schema.get("type")
    words = {"integer": "a whole number", "number": "a number", "string": "a string", "boolean": "true or false",
             "object": "a JSON object", "array": "a list"}.get(kind, "a valid value")
    if kind == "string" and "maxLength" in schema:
        words += f" of at most {schema['maxLength']} characters"
    if kind in ("integer", "number") and "minimum" in schema and "maximum" in schema:
        words += f" from {schema['minimum']} to {schema['maximum']}"
    return words


def describe_schema_error(error) -> str:
    """What the field allows, from a jsonschema ValidationError (its keyword and the schema's value)."""
    keyword, allowed, schema = error.validator, error.validator_value, error.schema or {}
    if keyword == "type":
        if error.instance is None:
            return "This field may not be null."
        return TYPE_MESSAGES.get(allowed, f"Must be of type {allowed}.")
    if keyword == "minimum":
        exclusive = schema.get("exclusiveMinimum") is True
        return f"Ensure this value is greater than {'' if exclusive else 'or equal to '}{_number(allowed)}."
    if keyword == "maximum":
        exclusive = schema.get("exclusiveMaximum") is True
        return f"Ensure this value is less than {'' if exclusive else 'or equal to '}{_number(allowed)}."
    if keyword == "minLength":
        return "This field may not be blank." if allowed == 1 else f"Ensure this field has at least {allowed} characters."
    if keyword == "maxLength":
        return f"Ensure this field has no more than {allowed} characters."
    if keyword == "pattern":
        return f"Must match the pattern {allowed}."
    if keyword == "enum":
        return f"Must be one of: {', '.join(str(choice) for choice in allowed)}."
    if keyword == "format":
        return FORMAT_MESSAGES.get(allowed, f"Must be a valid {allowed}.")
    if keyword in ("oneOf", "anyOf"):
        return "Must be " + " or ".join(describe_alternative(sub) for sub in allowed) + "."
    if keyword == "minItems":
        return f"Ensure this list has at least {allowed} items."
    if keyword == "maxItems":
        return f"Ensure this list has no more than {allowed} items."
    if keyword == "uniqueItems":
        return "The items must be unique."
    if keyword == "multipleOf":
        return f"Must be a multiple of {allowed}."
    if keyword == "minProperties":
        return f"Give at least {allowed} fields."
    if keyword == "maxProperties":
        return f"Give no more than {allowed} fields."
    message = str(error.message)
    return message if len(message) <= 300 else message[:297] + "..."


def schema_error_fields(error, prefix: list[str]) -> list[RequestFieldError]:
    """The fields a jsonschema error names: the same ones shopcore.errors names for openapi-core's errors."""
    if error.validator in ("oneOf", "anyOf"):
        chosen = chosen_alternative(error)
        if chosen:
            return [field for sub in chosen for field in schema_error_fields(sub, prefix)]
    path = prefix + [str(part) for part in error.absolute_path]
    if error.validator == "required":
        match = _REQUIRED.search(error.message)
        name = match["name"] if match else "?"
        return [RequestFieldError(".".join(path + [name]), "This field is required.")]
    if error.validator == "additionalProperties":
        match = _UNEXPECTED.search(error.message)
        names = [n.strip(" '") for n in match["names"].split(",")] if match else ["?"]
        return [RequestFieldError(".".join(path + [name]), "Unknown field.") for name in names]
    return [RequestFieldError(".".join(path) or "body", describe_schema_error(error))]


# --- parameters ----------------------------------------------------------------------------------

def cast_boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in BOOLEAN_TRUE_VALUES:
        return True
    if lowered in BOOLEAN_FALSE_VALUES:
        return False
    raise ValueError(text)


CASTS: dict[str, Callable[[str], Any]] = {"integer": int, "number": float, "boolean": cast_boolean, "string": str}


@dataclass
class CompiledParameter:
    name: str
    location: str
    required: bool
    schema: CompiledSchema
    read: Callable[[Any], Any]  # the location's mapping -> raw value (KeyError when absent)
    cast: Callable[[Any], Any]
    cast_message: str
    has_default: bool = False
    default: Any = None


def compile_parameter(compiler: SchemaCompiler, parameter: dict) -> CompiledParameter:
    name, location = parameter["name"], parameter["in"]
    if location not in ("query", "path", "header"):
        raise Unsupported(f"parameter {name} in {location}")
    if "content" in parameter or "schema" not in parameter:
        raise Unsupported(f"parameter {name} with content")
    if parameter.get("allowEmptyValue") is not None or parameter.get("deprecated"):
        raise Unsupported(f"parameter {name}: allowEmptyValue/deprecated")
    schema = parameter["schema"]
    compiler.check(schema, name)
    kind = schema.get("type")
    style = parameter.get("style", "form" if location == "query" else "simple")
    explode = parameter.get("explode", style == "form")
    if style not in ("form", "simple") or kind in (None, "object") or not isinstance(kind, str):
        raise Unsupported(f"parameter {name}: style {style}, type {kind}")
    if kind == "array":
        items = schema.get("items") or {}
        item_kind = items.get("type")
        if item_kind not in CASTS:
            raise Unsupported(f"parameter {name}: array of {item_kind}")
        item_cast = CASTS[item_kind]
        if style == "form" and explode:
            def read(location_map, name=name):
                if name not in location_map:
                    raise KeyError(name)
                return location_map.getall(name) if hasattr(location_map, "getall") else location_map[name]
        else:
            def read(location_map, name=name):
                return location_map[name].split(",")

        def cast(values, item_cast=item_cast):
            if isinstance(values, (str, bytes)):
                raise ValueError("not an array")
            return [item_cast(value) for value in values]

        cast_message = f"Must be a list of {item_kind} values."
    else:
        def read(location_map, name=name):
            return location_map[name]

        cast = CASTS[kind]
        cast_message = TYPE_MESSAGES[kind]
    slow = OAS30WriteValidator(schema, format_checker=OAS30WriteValidator.FORMAT_CHECKER)
    fast = jsonschema_rs.Draft7Validator(compiler.to_json_schema(schema), formats=compiler.formats,
                                         validate_formats=True)
    return CompiledParameter(name=name, location=location, required=bool(parameter.get("required")),
                             schema=CompiledSchema(schema, fast, slow), read=read, cast=cast,
                             cast_message=cast_message, has_default="default" in schema,
                             default=schema.get("default"))


# --- operations ------------------------------------------------------------------------------------

@dataclass
class CompiledOperation:
    method: str
    path: str
    parameters: list[CompiledParameter]
    security: list[list[tuple[str, dict]]] | None  # requirements, each a list of (scheme name, scheme)
    body_required: bool = False
    body_media_types: tuple[str, ...] = ()
    body_schema: CompiledSchema | None = None
    has_body: bool = False

    def validate(self, request) -> ValidatedRequest:
        result = ValidatedRequest(errors=[])
        headers = request.headers
        if self.security:
            credentials = self._security(headers)
            if credentials is None:
                result.errors.append(MissingCredentials("No security requirement of the operation is met."))
                return result
            result.security = credentials
        elif self.security is not None:
            result.security = {}
        parameters = result.parameters
        sources = {"query": request.GET, "path": request.matchdict or {}, "header": headers}
        for parameter in self.parameters:
            try:
                raw = parameter.read(sources[parameter.location])
            except KeyError:
                if parameter.has_default:
                    value = parameter.default
                elif parameter.required:
                    result.errors.append(RequestFieldError(parameter.name, "This parameter is required."))
                    continue
                else:
                    continue
            else:
                try:
                    value = parameter.cast(raw)
                except (ValueError, TypeError, AttributeError):
                    result.errors.append(RequestFieldError(parameter.name, parameter.cast_message))
                    continue
                if parameter.location == "query" and value == "":
                    result.errors.append(RequestFieldError(parameter.name, "May not be empty."))
                    continue
            problems = parameter.schema.errors(value, [parameter.name])
            if problems:
                result.errors.extend(problems)
            else:
                getattr(parameters, parameter.location)[parameter.name] = value
        if self.has_body:
            self._body(request, result)
        return result

    def _security(self, headers) -> dict | None:
        for requirement in self.security:
            values = {}
            for scheme_name, scheme in requirement:
                value = scheme_value(scheme, headers)
                if value is None:
                    break
                values[scheme_name] = value
            else:
                return values
        return None

    def _body(self, request, result: ValidatedRequest) -> None:
        raw = request.body
        if not raw:
            if self.body_required:
                result.errors.append(RequestFieldError("body", "A JSON body is required."))
            return
        mimetype = request.content_type
        if mimetype not in self.body_media_types and (mimetype or "").split(";")[0].lower().rstrip() \
                not in self.body_media_types:
            result.errors.append(UnsupportedMediaType(mimetype))
            return
        try:
            value = json.loads(raw)  # openapi-core's JSON reading exactly (floats, NaN and all)
        except (ValueError, TypeError):
            result.errors.append(MalformedBody())
            return
        problems = self.body_schema.errors(value, []) if self.body_schema is not None else []
        if problems:
            result.errors.extend(problems)
        else:
            result.body = value


def scheme_value(scheme: dict, headers) -> str | None:
    """The credentials a security scheme finds in the request, or None (openapi-core's HttpProvider)."""
    header = headers.get("Authorization")
    if header is None:
        return None
    parts = header.split(" ", 1)
    if len(parts) != 2 or parts[0].lower() != scheme["scheme"]:
        return None
    return parts[1]


def compile_operation(spec: dict, compiler: SchemaCompiler, path: str, method: str) -> CompiledOperation:
    item = spec["paths"][path]
    operation = item[method]
    seen, parameters = set(), []
    for parameter in [*(operation.get("parameters") or []), *(item.get("parameters") or [])]:
        parameter = resolve(spec, parameter)
        key = (parameter["name"], parameter["in"])
        if key in seen:
            continue  # an operation's parameter overrides the path item's of the same name and place
        seen.add(key)
        parameters.append(compile_parameter(compiler, parameter))

    security_requirements = operation.get("security", spec.get("security"))
    security = None
    if security_requirements is not None:
        schemes = (spec.get("components") or {}).get("securitySchemes") or {}
        security = []
        for requirement in security_requirements:
            resolved = []
            for name in requirement:
                scheme = resolve(spec, schemes.get(name))
                if scheme is None or scheme.get("type") != "http" or not isinstance(scheme.get("scheme"), str):
                    raise Unsupported(f"security scheme {name}")
                resolved.append((name, scheme))
            security.append(resolved)

    compiled = CompiledOperation(method=method, path=path, parameters=parameters, security=security)
    if "requestBody" in operation:
        body = resolve(spec, operation["requestBody"])
        content = body.get("content") or {}
        if set(content) != {JSON_MEDIA_TYPE}:
            raise Unsupported(f"request body media types {sorted(content)}")
        compiled.has_body = True
        compiled.body_required = bool(body.get("required"))
        compiled.body_media_types = (JSON_MEDIA_TYPE,)
        schema = content[JSON_MEDIA_TYPE].get("schema")
        if schema is not None:
            if "default" in schema:
                raise Unsupported("body default")
            compiler.check(schema, "body")
            slow = OAS30WriteValidator(schema, format_checker=OAS30WriteValidator.FORMAT_CHECKER)
            fast = jsonschema_rs.Draft7Validator(compiler.to_json_schema(schema), formats=compiler.formats,
                                                 validate_formats=True)
            compiled.body_schema = CompiledSchema(schema, fast, slow)
    return compiled


class CompiledValidation:
    """Every operation of the merged spec, compiled; `validated(request)` is `request.openapi_validated`."""

    def __init__(self, spec: dict):
        self.operations: dict[tuple[str, str], CompiledOperation] = {}
        self.uncompiled: dict[tuple[str, str], str] = {}
        for path, item in (spec.get("paths") or {}).items():
            for method in HTTP_METHODS:
                if method not in (item or {}):
                    continue
                compiler = SchemaCompiler()
                try:
                    self.operations[(path, method)] = compile_operation(spec, compiler, path, method)
                except Unsupported as reason:
                    self.uncompiled[(path, method)] = str(reason)
                    log.info("request validation of %s %s stays with openapi-core: %s", method.upper(), path, reason)

    def operation_for(self, request) -> CompiledOperation | None:
        route = request.matched_route
        if route is None or request.script_name:
            return None
        return self.operations.get((route.pattern, request.method.lower()))

    def validated(self, request):
        if not request.environ.get("pyramid_openapi3.enabled"):
            # As pyramid_openapi3: a view marked openapi=False has no validated request.
            raise AttributeError("Cannot do openapi request validation on a view marked with openapi=False")
        if not request.environ.get("pyramid_openapi3.validate_request"):
            return {}
        operation = self.operation_for(request)
        if operation is None:
            try:
                return validate_with_openapi_core(request)
            except AssertionError:
                # openapi-core's multipart/form-data reader asserts on a part it cannot read (no
                # name, no payload): the client's body is malformed, not the server.
                raise InvalidInput("body", "Malformed multipart/form-data body.") from None
        return operation.validate(request)


def add_compiled_validation(config, spec: dict) -> None:
    """Called from the app factory itself, so it replaces pyramid_openapi3's request method."""
    validation = CompiledValidation(copy.deepcopy(spec))
    config.registry["shopcore.compiled_validation"] = validation
    config.add_request_method(validation.validated, "openapi_validated", reify=True)
