"""App keys on every operation of the merged spec (issue 19): each operation states its scope, a key lacking
it is refused with a 403 naming it (public operations too: a key never widens nor narrows silently), and a
key holding it gets through the scope check and the permission check to the operation's own answer.

The operations come from the spec the app serves, so an operation another plugin adds is covered here
without a change (its scope is the one the merge filled in, or the one its fragment states).
"""
from __future__ import annotations

import pytest

from shopcore.testing import request_context


@pytest.fixture(scope="module")
def scope_shop(module_shop, fill, reliability_registry):
    assert "apps" in [plugin.name for plugin in reliability_registry["shopcore.plugins"]], \
        "the apps plugin must be enabled for the scope attacks"
    admin = module_shop.user("scopeadmin", is_admin=True)
    return admin, fill(module_shop, admin)


def make_key(registry, creator: int, scopes: list[str]) -> str:
    from shopcore_apps.services import AppService

    with request_context(registry) as request:
        return AppService(request).create({"name": "scope attack", "scopes": scopes}, created_by=creator)["key"]


def test_every_operation_refuses_a_key_lacking_its_scope_and_admits_one_holding_it(
        operation, scope_shop, module_shop, module_savepoint, isolated, examples, resource, reliability_registry):
    from shopcore_apps.services import grantable_scopes

    admin, objects = scope_shop
    scope = operation.spec.get("x-shopcore-scope")
    assert scope and f"`{scope}`" in operation.spec.get("description", ""), f"{operation} states no scope"
    url = operation.url(id=objects.ids[resource(operation.path)][0]) if operation.path_parameters else operation.path
    body = examples.body(operation.operation_id)
    grantable = grantable_scopes(reliability_registry)
    app = module_shop.anonymous
    with isolated():
        lacking = make_key(reliability_registry, admin.user_id, [s for s in grantable if s != scope])
        response = app.request(operation.method, url, body, headers={"Authorization": f"Bearer {lacking}"})
        assert response.status_int == 403, (str(operation), response.status_int, response.text)
        assert scope in response.json["detail"], (str(operation), response.json)
        assert response.json["errors"] == [{"field": "scope", "message": f"missing scope {scope}"}]
    if scope not in grantable:  # the apps' own operations: no key may hold their scope
        assert scope.startswith("apps:"), f"{operation}: scope {scope} cannot be granted"
        return
    with isolated():
        holding = make_key(reliability_registry, admin.user_id, [scope])
        response = app.request(operation.method, url, body, headers={"Authorization": f"Bearer {holding}"})
        # The operation's own answer (a login with made-up credentials is its own 401), not a refused key.
        refused = response.status_int in (401, 403) and response.json.get("detail") in (
            "Authentication credentials were not provided or are invalid.",
            "You do not have permission to perform this action.") or "lacks the scope" in response.text
        assert not refused, (str(operation), response.status_int, response.text)
