"""Input bounds: hostile values in every field the merged spec lets a client send never get a 5xx.

Every string field of every body takes very long text, unicode of every kind, a null byte, a lone
surrogate, SQL and HTML metacharacters; every number field takes huge, fractional, infinite and
non-numbers; every query parameter and path id takes the same; bodies nest ten thousand deep, are not
UTF-8, or are larger than the limit (413). Accepted text comes back exactly as sent (stored as data,
never run as SQL or rewritten as HTML). The caller is an admin, so no 403 hides the validation.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

STRINGS = {
    "very long": "x" * 100_000,
    "unicode": "Zoë 🛒 שלום ﷽ e\u0301 \u202eevil\u202c 𝕏 \ufeff",
    "null byte": "a\x00b",
    "lone surrogate": "\ud800",
    "sql": "1'; DROP TABLE core_users; -- \" OR 1=1",
    "html": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "format": "%s%n%x {0} {__class__} ${jndi:ldap://x}",
    "blank": "   ",
    "empty": "",
}
NUMBERS = {
    "huge": 10**30, "huge negative": -(10**30), "2**63": 2**63, "fraction": 1.5, "tiny": 1e-300,
    "infinity": float("inf"), "nan": float("nan"), "boolean": True, "digits as text": "12",
}
ROUND_TRIP = ("unicode", "sql", "html", "format")
LIMIT = 1024 * 1024  # shopcore.max_body_bytes


@pytest.fixture(scope="module")
def admin_and_objects(module_shop, fill):
    admin = module_shop.user("boundsadmin", is_admin=True)
    return admin, fill(module_shop, admin)


def target_url(operation, objects, resource) -> str:
    return operation.url(id=objects.ids[resource(operation.path)][0]) if operation.path_parameters else operation.path


def send(client, method, url, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()  # NaN and Infinity as Python writes them
    return client.request(method, url, raw)


def assert_answered(response, what):
    assert response.status_int < 500, (what, response.status_int, response.text[:500])
    assert response.content_type == "application/json" or response.status_int in (204, 304), what
    if response.status_int >= 400:
        assert set(response.json) <= {"detail", "errors"}, what
        assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower(), what


def field_kinds(operation, resolve):
    schema = resolve(resolve(operation.spec["requestBody"])["content"]["application/json"]["schema"])
    kinds = {}
    for name, prop in schema.get("properties", {}).items():
        prop = resolve(prop)
        types = {resolve(choice).get("type") for choice in prop.get("oneOf", [])} | {prop.get("type")}
        kinds[name] = "number" if types & {"integer", "number"} and "string" not in types else (
            "string" if "string" in types else "other")
    return kinds


def test_hostile_values_in_every_body_field(body_operation, admin_and_objects, module_savepoint, examples,
                                            resource, resolve_ref):
    operation = body_operation
    admin, objects = admin_and_objects
    url = target_url(operation, objects, resource)
    for field, kind in field_kinds(operation, resolve_ref).items():
        values = STRINGS if kind == "string" else NUMBERS if kind == "number" else {}
        for label, value in values.items():
            body = {**examples.body(operation.operation_id), field: value}
            response = send(admin.client, operation.method, url, body)
            what = f"{operation} {field}={label}"
            assert_answered(response, what)
            echoed = response.json.get(field) if response.status_int < 300 and response.content_length else None
            if label in ROUND_TRIP and isinstance(echoed, str):
                assert echoed in (value, value.strip()), (what, echoed)
        # A value nested ten thousand deep in the field.
        assert_answered(send(admin.client, operation.method, url,
                             b'{"%s": %s%s}' % (field.encode(), b"[" * 10_000, b"]" * 10_000)), f"{operation} deep")


def test_bodies_that_cannot_be_read(body_operation, admin_and_objects, module_savepoint, examples, resource):
    operation = body_operation
    admin, objects = admin_and_objects
    url = target_url(operation, objects, resource)
    cases = {
        "nested ten thousand deep": b"[" * 10_000 + b"]" * 10_000,
        "not UTF-8": b'{"x": "\xff\xfe\xc3"}',
        "truncated": b'{"a": ',
        "a bare string": b'"text"',
        "null": b"null",
    }
    for label, raw in cases.items():
        response = send(admin.client, operation.method, url, raw)
        assert response.status_int == 400, (operation, label, response.status_int, response.text[:300])
        assert_answered(response, f"{operation} {label}")
    wrong_type = admin.client.request(operation.method, url, b"name=x", content_type="application/x-www-form-urlencoded")
    assert wrong_type.status_int == 415, (operation, wrong_type.status_int, wrong_type.text)


def test_a_body_over_the_limit_is_a_413_and_one_at_the_limit_is_read(body_operation, admin_and_objects,
                                                                    module_savepoint, examples, resource):
    operation = body_operation
    admin, objects = admin_and_objects
    url = target_url(operation, objects, resource)
    valid = json.dumps(examples.body(operation.operation_id)).encode()
    at_limit = valid + b" " * (LIMIT - len(valid))
    over = at_limit + b" "
    refused = send(admin.client, operation.method, url, over)
    assert refused.status_int == 413, (operation, refused.status_int)
    assert refused.json == {"detail": f"Request body is larger than {LIMIT} bytes."}
    read = send(admin.client, operation.method, url, at_limit)
    assert read.status_int not in (413, 500), (operation, read.status_int, read.text[:300])


def test_hostile_query_parameters_and_path_ids(operation, admin_and_objects, module_savepoint, examples, resource,
                                               resolve_ref, form_example):
    admin, objects = admin_and_objects
    url = target_url(operation, objects, resource)
    if operation.has_form_body:  # an upload: its valid form, at a hostile id
        fields, files = form_example(operation)
        for raw in ("0", "-1", "99999999999999999999", "2147483648", "1.5", "%00", "abc"):
            response = admin.client.form(operation.method, operation.path.replace("{id}", raw), fields, files)
            assert response.status_int in (400, 404), (operation, raw, response.status_int, response.text[:300])
            assert_answered(response, f"{operation} id={raw}")
        return
    body = examples.body(operation.operation_id)
    queries = [resolve_ref(parameter) for parameter in operation.spec.get("parameters", [])]
    for parameter in [p for p in queries if p.get("in") == "query"]:
        for label, value in {**STRINGS, "huge": "9" * 40, "negative": "-1", "fraction": "1.5",
                             "repeated": None}.items():
            if label == "very long":
                value = "x" * 10_000  # a long URL, within what servers accept
            query = (f"{parameter['name']}=1&{parameter['name']}=2" if value is None
                     else f"{parameter['name']}={quote(value, safe='', errors='surrogatepass')}")
            response = admin.client.request(operation.method, f"{url}?{query}", body)
            assert_answered(response, f"{operation} ?{parameter['name']}={label}")
    if operation.path_parameters:
        for raw in ("0", "-1", "99999999999999999999", "2147483648", "1.5", "1e3", "%00", "%F0%9F%9B%92",
                    "1%27%20OR%201%3D1", "abc"):
            response = admin.client.request(operation.method, operation.url(id=raw), body)
            assert response.status_int in (400, 404), (operation, raw, response.status_int, response.text[:300])
            assert_answered(response, f"{operation} id={raw}")


# --- multipart forms (uploads) ---------------------------------------------------------------------------

def test_hostile_forms_are_refused_with_a_json_error(form_operation, admin_and_objects, module_savepoint,
                                                     resource, form_example):
    """A form without its file, a file that is not what the operation takes, text in a file field, a
    field too long, a malformed multipart body and one over the body limit: each a 4xx JSON error."""
    admin, objects = admin_and_objects
    url = target_url(form_operation, objects, resource)
    fields, files = form_example(form_operation)
    assert admin.client.form("POST", url, fields, files).status_int < 300, "the valid form is accepted"
    hostile = [
        ("no file", fields, {}),
        ("random bytes", fields, {name: bytes(range(256)) * 4 for name in files}),
        ("a NUL in a field", {**fields, **{name: "a\x00b" for name in fields}} or {"alt": "a\x00b"}, files),
        ("a long field", {**fields, "alt": "x" * 100_000}, files),
    ]
    for what, form_fields_, form_files in hostile:
        response = admin.client.form("POST", url, form_fields_, form_files)
        assert 400 <= response.status_int < 500, (what, response.status_int, response.text[:300])
        assert_answered(response, f"{form_operation} {what}")
    malformed = admin.client.request("POST", url, b"--x\r\nnot a part\r\n--x--\r\n",
                                     content_type="multipart/form-data; boundary=x")
    assert 400 <= malformed.status_int < 500, malformed.text[:300]
    assert_answered(malformed, f"{form_operation} malformed")
    too_large = admin.client.form("POST", url, fields, {name: b"\x89PNG" + b"0" * LIMIT for name in files})
    assert too_large.status_int == 413, too_large.text[:300]
