"""The compiled request validation agrees with openapi-core on every operation of the merged spec.

schemathesis draws valid and invalid requests from the spec for each operation (its positive and
negative generation: wrong types, out-of-range numbers, unknown and missing fields, bad JSON,
strange query strings). Each request is validated twice, by pyramid_openapi3's openapi-core
validation and by `shopcore.openapi.compiled`; they must give the same verdict — the same status
(400, 401, 415) and the same fields named — and, for a valid request, the same parameter values
and body. `SHOPCORE_DIFF_EXAMPLES` sets the examples per operation and generation mode.
"""
from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid_openapi3 import openapi_validated as validate_with_openapi_core
from schemathesis import GenerationMode

from shopcore.errors import describe_validation_errors
from shopcore.testing import make_test_configurator
from shopcore.web import json_body_problem, query_string_is_utf8

EXAMPLES = int(os.environ.get("SHOPCORE_DIFF_EXAMPLES", "30"))
ALL_PLUGINS = "catalog cart orders notifications coupons"
# Operations openapi-core keeps, and why (formats it turns into Python objects; a multipart upload).
EXPECTED_UNCOMPILED = {("/api/coupons/", "post"), ("/api/coupons/{id}/", "patch"),
                       ("/api/products/{id}/images/", "post")}


@pytest.fixture(scope="module")
def registry(shopcore_settings, shopcore_registry):
    config = make_test_configurator({**shopcore_settings, "shopcore.plugins": ALL_PLUGINS}, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    return config.registry


@pytest.fixture(scope="module")
def schema(registry):
    return schemathesis.openapi.from_dict(registry["shopcore.openapi_spec"], config=schemathesis.Config.from_dict({
        "generation": {"with-security-parameters": False, "allow-x00": True},
        "analysis": {"constants": {"enabled": False}}}))


def operations(registry) -> list[tuple[str, str, str]]:
    spec = registry["shopcore.openapi_spec"]
    return [(path, method, item[method]["operationId"]) for path, item in spec["paths"].items()
            for method in ("get", "put", "post", "patch", "delete") if method in item]


def pyramid_request(registry, kwargs: dict, bearer: bool) -> Request | None:
    """The request as the WSGI app would see it at its view, or None when it never gets that far."""
    kwargs = dict(kwargs)
    headers = dict(kwargs.pop("headers", {}) or {})
    if bearer:
        headers["Authorization"] = "Bearer some.access.token"
    prepared = requests.Request(method=kwargs["method"], url=kwargs["url"], headers=headers,
                                params=kwargs.get("params"), json=kwargs.get("json"), data=kwargs.get("data"),
                                cookies=kwargs.get("cookies")).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    request = Request.blank(url.path + (f"?{url.query}" if url.query else ""), method=prepared.method,
                            headers=dict(prepared.headers), POST=None)
    if body:
        request.body = body
    request.registry = registry
    # The request-id tween answers these itself, before any validation (shopcore.web).
    if not query_string_is_utf8(request.environ.get("QUERY_STRING", "")) or json_body_problem(request) is not None:
        return None
    info = registry.queryUtility(IRoutesMapper)(request)
    if info["route"] is None:
        return None
    request.matched_route, request.matchdict = info["route"], info["match"]
    request.environ["pyramid_openapi3.enabled"] = True
    request.environ["pyramid_openapi3.validate_request"] = True
    return request


def outcome(result) -> tuple:
    if not result.errors:
        return ("valid",)
    status, fields = describe_validation_errors(result.errors)
    return status, sorted({error["field"] for error in fields})


def values(result) -> str:
    parameters = result.parameters
    return json.dumps({"query": dict(parameters.query), "path": dict(parameters.path),
                       "header": {k.lower(): v for k, v in dict(parameters.header).items()}, "body": result.body},
                      sort_keys=True, default=repr)


def test_every_operation_is_compiled_but_those_openapi_core_must_unmarshal(registry):
    validation = registry["shopcore.compiled_validation"]
    assert set(validation.uncompiled) == EXPECTED_UNCOMPILED, validation.uncompiled
    assert len(validation.operations) + len(validation.uncompiled) == len(operations(registry))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_compiled_validation_agrees_with_openapi_core(registry, schema, mode):
    validation = registry["shopcore.compiled_validation"]
    compared: dict[str, dict[str, int]] = {}
    disagreements: list[str] = []
    for path, method, operation_id in operations(registry):
        if (path, method) in validation.uncompiled:
            continue
        secured = bool(registry["shopcore.openapi_spec"]["paths"][path][method].get("security"))
        counts = compared.setdefault(operation_id, {"valid": 0, "invalid": 0})

        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        @hypothesis.given(case=schema.find_operation_by_id(operation_id).as_strategy(generation_mode=mode),
                          bearer=hypothesis.strategies.sampled_from([True, True, True, False]))
        def compare(case, bearer):
            kwargs = case.as_transport_kwargs(base_url="http://localhost")
            core_request = pyramid_request(registry, kwargs, bearer and secured)
            if core_request is None:
                return
            compiled_request = pyramid_request(registry, kwargs, bearer and secured)
            expected = validate_with_openapi_core(core_request)
            got = validation.validated(compiled_request)
            counts["invalid" if expected.errors else "valid"] += 1
            if outcome(expected) != outcome(got):
                disagreements.append(f"{operation_id} {kwargs}: openapi-core {outcome(expected)}, "
                                     f"compiled {outcome(got)} ({got.errors!r})")
            elif not expected.errors and values(expected) != values(got):
                disagreements.append(f"{operation_id} {kwargs}: values {values(expected)} != {values(got)}")

        try:
            compare()
        except hypothesis.errors.Unsatisfiable:
            # schemathesis has nothing invalid to send to an operation without parameters or body.
            assert mode is GenerationMode.NEGATIVE and not schema.find_operation_by_id(operation_id).body
    assert not disagreements, "\n".join(disagreements[:20])
    # The generated requests did reach validation (and, in each mode, gave that mode's verdicts).
    wanted = "valid" if mode is GenerationMode.POSITIVE else "invalid"
    assert sum(count[wanted] for count in compared.values()) >= len(compared) * EXAMPLES // 4, compared
