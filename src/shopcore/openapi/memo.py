"""Request validation memo: a GET is validated against the spec once per distinct request shape.

openapi-core spends about a third of a millisecond on a bare GET and several on a GET with many
declared query parameters, every time, though the answer depends only on the route, the path and
query string, whether credentials were sent, and the values of the header parameters the spec
declares. For GET and HEAD requests (no body) the validation result is kept in a bounded LRU under
exactly that key, so a repeated request is validated by a dictionary lookup and an invalid one is
refused with the very same errors. Requests with a body are always validated in full.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from pyramid_openapi3 import openapi_validated as validate_with_openapi_core

from shopcore.openapi import HTTP_METHODS

MEMO_SIZE = 10_000
MEMOIZED_METHODS = frozenset({"GET", "HEAD"})


class ValidationMemo:
    def __init__(self, header_parameters: frozenset[str], size: int = MEMO_SIZE):
        self.header_parameters = tuple(sorted(header_parameters))
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def key(self, request):
        route = request.matched_route.name if request.matched_route is not None else ""
        headers = tuple(request.headers.get(name) for name in self.header_parameters)
        return route, request.method, request.path_qs, "Authorization" in request.headers, headers

    def validated(self, request):
        if request.method not in MEMOIZED_METHODS or request.content_length:
            return validate_with_openapi_core(request)
        key = self.key(request)
        with self.lock:
            result = self.entries.get(key)
            if result is not None:
                self.entries.move_to_end(key)
        if result is None:
            result = validate_with_openapi_core(request)
            # The security part holds the caller's credentials: never share it between requests.
            result = copy.copy(result)
            result.security = None
            with self.lock:
                self.entries[key] = result
                if len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        # Views get their own copy, so one that changes what it read cannot change the next request's.
        return copy.deepcopy(result)


def header_parameter_names(spec: dict) -> frozenset[str]:
    names = set()
    parameters = spec.get("components", {}).get("parameters", {})

    def collect(items):
        for parameter in items or []:
            if "$ref" in parameter:
                parameter = parameters.get(parameter["$ref"].rsplit("/", 1)[-1], {})
            if parameter.get("in") in ("header", "cookie"):
                names.add("Cookie" if parameter["in"] == "cookie" else parameter["name"])

    for item in spec.get("paths", {}).values():
        collect(item.get("parameters"))
        for method in HTTP_METHODS:
            if method in item:
                collect(item[method].get("parameters"))
    return frozenset(names)


def add_validation_memo(config, spec: dict) -> None:
    """Called from the app factory itself, so it replaces pyramid_openapi3's request method."""
    memo = ValidationMemo(header_parameter_names(spec))
    config.registry["shopcore.validation_memo"] = memo
    config.add_request_method(memo.validated, "openapi_validated", reify=True)
