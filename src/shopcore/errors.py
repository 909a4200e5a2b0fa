"""Error bodies: every error is JSON of one shape, `{"detail": ..., "errors": [{"field", "message"}]}`.

This module is the one place that builds error responses. Services raise `ShopError` subclasses
(or Pyramid HTTP exceptions); views never build error bodies themselves.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Iterable

from pyramid.httpexceptions import HTTPException, HTTPForbidden, HTTPNotFound, HTTPUnauthorized
from pyramid.response import Response
from pyramid_openapi3.exceptions import RequestValidationError, ResponseValidationError

log = logging.getLogger(__name__)


class ShopError(Exception):
    """A rule of the shop was broken by the request; answered with `status` and this detail."""

    status = 400

    def __init__(self, detail: str, errors: Iterable[dict] | None = None, status: int | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}
        if status is not None:
            self.status = status


class InvalidInput(ShopError):
    status = 400

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}])


class Forbidden(ShopError):
    """The caller is known but may not do this (403); for a missing login the core answers 401 itself."""

    status = 403


class NotFound(ShopError):
    status = 404


class Conflict(ShopError):
    status = 409


class Unprocessable(ShopError):
    status = 422


class TooManyRequests(ShopError):
    status = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class ServiceUnavailable(ShopError):
    status = 503


def error_response(status: int, detail: str, errors: Iterable[dict] | None = None,
                   headers: dict | None = None) -> Response:
    body = {"detail": detail}
    errors = list(errors or [])
    if errors:
        body["errors"] = errors
    response = Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json", charset="utf-8"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def shop_error_view(exc: ShopError, request):
    return error_response(exc.status, exc.detail, exc.errors, exc.headers)


def not_found_view(request):
    return error_response(404, "Not found.")


def forbidden_view(request):
    if request.authenticated_userid is None:
        return error_response(401, "Authentication credentials were not provided or are invalid.",
                              headers={"WWW-Authenticate": 'Bearer realm="shopcore"'})
    return error_response(403, "You do not have permission to perform this action.")


def http_exception_view(exc: HTTPException, request):
    if isinstance(exc, HTTPNotFound):
        return not_found_view(request)
    if isinstance(exc, (HTTPForbidden, HTTPUnauthorized)):
        return forbidden_view(request)
    if exc.code < 400:
        return exc
    headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after", "location")}
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else exc.title + "."
    return error_response(exc.code, detail, headers=headers)


def request_validation_view(exc: RequestValidationError, request):
    status, errors = describe_validation_errors(exc.errors)
    if status == 415:
        return error_response(415, f"Unsupported media type {request.content_type or 'none'!r}; "
                                   "send application/json.")
    if status == 401:
        return forbidden_view(request)
    detail = "Invalid request." if errors else "Invalid request: " + "; ".join(str(e) for e in exc.errors)
    if errors:
        detail = "Invalid request: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return error_response(400, detail, errors)


def response_validation_view(exc: ResponseValidationError, request):
    log.error("response of %s %s does not match the spec: %s", request.method, request.path, exc)
    return internal_error_response(request)


def unexpected_error_view(exc: Exception, request):
    if is_database_unavailable(exc):
        log.error("database unavailable [request %s]: %s", request_id(request), exc)
        return error_response(503, "The service is temporarily unavailable; try again shortly.",
                              headers={"Retry-After": "5"})
    log.exception("unexpected error [request %s] on %s %s", request_id(request), request.method, request.path)
    return internal_error_response(request)


def internal_error_response(request) -> Response:
    return error_response(500, f"Internal server error (request {request_id(request)}).")


def is_database_unavailable(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    # The driver's OperationalError or a subclass of it (psycopg's ConnectionTimeout for a server that
    # accepts connections and never answers); SQLite's for a database file it cannot open.
    message = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("connect" in message or "unable to open database file" in message)


def request_id(request) -> str:
    return request.environ.get("shopcore.request_id", "-")


# --- translating openapi-core validation errors into field errors -------------------------------

_UNEXPECTED = re.compile(r"\('?(?P<names>[^)]*?)'? (?:was|were) unexpected\)")
_REQUIRED = re.compile(r"'(?P<name>[^']+)' is a required property")


def describe_validation_errors(errors: list[Exception]) -> tuple[int, list[dict]]:
    """(status, field errors) for the errors openapi-core found in a request."""
    from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.validation.request.exceptions import SecurityValidationError

    from shopcore.openapi import compiled

    fields: list[dict] = []
    for error in errors:
        # The compiled validation's own errors (shopcore.openapi.compiled) are already worded.
        if isinstance(error, compiled.UnsupportedMediaType):
            return 415, []
        if isinstance(error, compiled.MissingCredentials):
            return 401, []
        if isinstance(error, compiled.MalformedBody):
            fields.append({"field": "body", "message": "Malformed JSON."})
            continue
        if isinstance(error, compiled.RequestFieldError):
            fields.append({"field": error.field, "message": error.message})
            continue
        causes = _cause_chain(error)
        if any(isinstance(cause, MediaTypeNotFound) for cause in causes):
            return 415, []
        if any(isinstance(cause, SecurityValidationError) for cause in causes):
            return 401, []
        if any(isinstance(cause, MediaTypeDeserializeError) for cause in causes):
            fields.append({"field": "body", "message": "Malformed JSON."})
            continue
        fields.extend(_field_errors(error))
    return 400, fields


def _cause_chain(error: BaseException) -> list[BaseException]:
    chain = []
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _field_errors(error: Exception, parent: str | None = None) -> list[dict]:
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    name = getattr(error, "name", None) or parent
    if schema_errors:
        out = []
        for schema_error in schema_errors:
            out.extend(_schema_error_fields(schema_error, name))
        return out
    message = str(cause) if cause is not None else str(error)
    if name is None and "request body" in message.lower():
        return [{"field": "body", "message": "A JSON body is required."}]
    return [{"field": name or "body", "message": _clean(message)}]


def chosen_alternative(error) -> list | None:
    """For a oneOf/anyOf refusal: the errors of the alternative the value was meant for, if one stands out.

    That is the alternative whose type the value has (a string given where text or an address object
    is taken is checked as text), else the first alternative, the field's primary form; None when
    the value has the type of several alternatives (their errors would not tell which one it missed).
    """
    by_branch: dict[int, list] = {}
    for sub in error.context or ():
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    if not by_branch:
        return None
    typed = [branch for branch in sorted(by_branch)
             if not any(sub.validator == "type" and not sub.relative_path for sub in by_branch[branch])]
    if len(typed) == 1:
        return by_branch[typed[0]]
    if not typed:
        return by_branch[min(by_branch)]
    return None


def _schema_error_fields(schema_error, parameter: str | None) -> list[dict]:
    if getattr(schema_error, "validator", None) in ("oneOf", "anyOf"):
        chosen = chosen_alternative(schema_error)
        if chosen:
            return [field for sub in chosen for field in _schema_error_fields(sub, parameter)]
    path = [str(part) for part in getattr(schema_error, "absolute_path", []) or []]
    message = getattr(schema_error, "message", str(schema_error))
    validator = getattr(schema_error, "validator", None)
    prefix = path if parameter is None else [parameter, *path]
    if validator == "required":
        match = _REQUIRED.search(message)
        field = ".".join(prefix + [match["name"]]) if match else ".".join(prefix) or "body"
        return [{"field": field, "message": "This field is required."}]
    if validator == "additionalProperties":
        match = _UNEXPECTED.search(message)
        names = [n.strip(" '") for n in match["names"].split(",")] if match else ["?"]
        return [{"field": ".".join(prefix + [n]), "message": "Unknown field."} for n in names]
    return [{"field": ".".join(prefix) or "body", "message": _clean(message)}]


def _clean(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def add_error_views(config) -> None:
    """Called from the app factory itself (not included), so these views override pyramid_openapi3's."""
    config.add_exception_view(shop_error_view, context=ShopError)
    config.add_notfound_view(not_found_view)
    config.add_forbidden_view(forbidden_view)
    config.add_exception_view(http_exception_view, context=HTTPException)
    config.add_exception_view(request_validation_view, context=RequestValidationError)
    config.add_exception_view(response_validation_view, context=ResponseValidationError)
    config.add_exception_view(unexpected_error_view, context=Exception)
