"""Mass assignment: no request body can set ids, owners, totals, statuses, roles or timestamps, except
an operation whose very purpose that is (an admin moving an order's status on).

Statically, every request body of the merged spec is closed (`additionalProperties: false`, at every
level) and declares none of those fields outside its own endpoint. An object marked
`x-shopcore-map: true` is a map whose keys are data (a product's attribute values by code, a variant's
option values by name, checked by the service): it may take any key, but only scalar values, so no
key of it can reach a field of the shop. Dynamically, each operation with a
body is sent a valid body plus each such field, by an admin (who may do the most), and answers a 400
naming that field as unknown, so nothing was set.
"""
from __future__ import annotations

import pytest

PRIVILEGED = ("id", "pk", "user", "user_id", "owner", "owner_id", "customer", "total_price", "subtotal", "total",
              "amount", "status", "is_admin", "is_staff", "is_superuser", "admin", "role", "roles",
              "permissions", "created_at", "updated_at", "date_joined", "last_login", "tokens_valid_after",
              "password_hash", "paid_at", "unit_price", "adjustments", "items")
# The operations whose purpose is to set one of those fields.
OWN_ENDPOINTS = {("setOrderStatus", "status"), ("createRefund", "amount")}


def walk_objects(schema, resolve, path="body"):
    """(path, object schema) for the body schema and every object schema inside it."""
    schema = resolve(schema)
    for part in ("oneOf", "anyOf", "allOf"):
        for index, choice in enumerate(schema.get(part, [])):
            yield from walk_objects(choice, resolve, f"{path}.{part}[{index}]")
    if schema.get("type") == "object" or "properties" in schema:
        yield path, schema
        for name, child in schema.get("properties", {}).items():
            yield from walk_objects(child, resolve, f"{path}.{name}")
    if schema.get("type") == "array" and "items" in schema:
        yield from walk_objects(schema["items"], resolve, f"{path}[]")


def body_schema(operation, resolve):
    content = resolve(operation.spec["requestBody"]).get("content", {})
    assert set(content) == {"application/json"}, f"{operation}: bodies are JSON only, got {sorted(content)}"
    return content["application/json"]["schema"]


def scalar_only(schema, resolve) -> bool:
    schema = resolve(schema)
    choices = schema.get("oneOf") or schema.get("anyOf")
    if choices:
        return all(scalar_only(choice, resolve) for choice in choices)
    return schema.get("type") in ("string", "number", "integer", "boolean")


def test_every_request_body_is_closed_and_sets_nothing_privileged(body_operation, resolve_ref):
    operation = body_operation
    for path, schema in walk_objects(body_schema(operation, resolve_ref), resolve_ref):
        if schema.get("x-shopcore-map") is True:
            assert not schema.get("properties") and scalar_only(schema["additionalProperties"], resolve_ref), (
                f"{operation}: {path} is a map of something else than scalars")
            continue
        assert schema.get("additionalProperties") is False, f"{operation}: {path} accepts unknown fields"
        for name in schema.get("properties", {}):
            assert name not in PRIVILEGED or (operation.operation_id, name) in OWN_ENDPOINTS, (
                f"{operation}: {path} lets a client set {name!r}")


@pytest.fixture(scope="module")
def admin_and_objects(module_shop, fill):
    admin = module_shop.user("massadmin", is_admin=True)
    return admin, fill(module_shop, admin)


def test_privileged_fields_in_any_body_are_refused_by_name(body_operation, admin_and_objects, module_savepoint,
                                                           examples, resource, resolve_ref):
    operation = body_operation
    admin, objects = admin_and_objects
    url = operation.path
    if operation.path_parameters:
        url = operation.url(id=objects.ids[resource(operation.path)][0])
    declared = set(resolve_ref(body_schema(operation, resolve_ref)).get("properties", {}))
    # Every privileged field the body does not declare, all at once; the answer names each of them.
    smuggled = {field: 1 if field.endswith("id") else ("admin" if field.startswith("role") else True)
                for field in PRIVILEGED if field not in declared}
    response = admin.client.request(operation.method, url, {**examples.body(operation.operation_id), **smuggled})
    assert response.status_int == 400, (operation, response.status_int, response.text)
    named = {error["field"] for error in response.json.get("errors", []) if error["message"] == "Unknown field."}
    assert named == set(smuggled), (operation, sorted(set(smuggled) - named), response.json)


def form_schema(operation, resolve):
    return resolve(resolve(operation.spec["requestBody"])["content"]["multipart/form-data"]["schema"])


def test_every_form_is_closed_and_sets_nothing_privileged(form_operation, resolve_ref):
    schema = form_schema(form_operation, resolve_ref)
    assert schema.get("additionalProperties") is False, f"{form_operation}: the form accepts unknown fields"
    for name in schema.get("properties", {}):
        assert name not in PRIVILEGED, f"{form_operation}: the form lets a client set {name!r}"


def test_privileged_fields_in_any_form_are_refused(form_operation, admin_and_objects, module_savepoint, resource,
                                                   form_example):
    admin, objects = admin_and_objects
    url = form_operation.url(id=objects.ids[resource(form_operation.path)][0])
    fields, files = form_example(form_operation)
    response = admin.client.form(form_operation.method, url, {**fields, "id": 1, "is_admin": "true",
                                                                "created_at": "2020-01-01T00:00:00Z"}, files)
    assert response.status_int == 400, (form_operation, response.status_int, response.text)
    assert response.content_type == "application/json"
