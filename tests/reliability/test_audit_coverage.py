"""Every admin action is in the audit log (issue 20, point 5), whichever plugin adds it.

The admin-only writes are read from the app itself (`admin_write_operation`: every operation other than
a GET whose view's permission no customer holds), so an operation a new plugin adds is walked here
without a word. Each is called by an admin on real objects of every kind (the suite's fill), with
bodies the spec allows, until a request is answered 2xx and leaves an audit entry carrying its request
id. A request that changes nothing (a PATCH setting what is already there) may leave none, so a
successful request without an entry is not wrong by itself; an operation that no request ever gets
recorded is, and fails naming it: declare its action (`config.add_audited_action`) and record it
(`request.audit`) where the change is made.

Bodies are generated from the spec (schemathesis, a fixed seed); a few operations need a reference
no generated body holds (an event name, a zone's id, a real country, an amount within what was
captured), written out in `SOUND_BODIES` the way the fill writes out what generation cannot find.
"""
from __future__ import annotations

import itertools

import hypothesis
import pytest
from sqlalchemy import select

from shopcore.audit.models import AuditEntry

# operationId -> body(ids of the fill's objects by collection), for the operations whose generated bodies
# the shop never accepted.
SOUND_BODIES = {
    "createProduct": lambda ids: {"name": "Walked lamp", "price": "3.00"},  # the price is optional (variants)
    # Options are exactly the product's option names: the fill's product in sizes takes it.
    "createVariant": lambda ids: {"sku": "WALK-S", "options": {"size": "S"}, "price": "1.00"},
    "createTaxRate": lambda ids: {"country": "NL", "rate": "21"},  # a real country
    "createShippingMethod": lambda ids: {"zone": ids["/api/shipping/zones/"][0], "name": "Walk", "rule": "flat",
                                         "price": "1.00"},  # a real zone
    "createWebhookSubscription": lambda ids: {"url": "https://receiver.example.com/audit-walk", "events": ["*"]},
    "createRefund": lambda ids: {"amount": "0.01", "reason": "Audit walk"},  # within what was captured
}
GENERATED_BODIES = 60
_request_ids = itertools.count(1)


@pytest.fixture(scope="module")
def audit_walk(module_shop, fill):
    admin = module_shop.user("auditwalker", is_admin=True)
    return admin, fill(module_shop, admin)


def recorded(module_db, request_id: str) -> list[str]:
    return list(module_db.execute(select(AuditEntry.action).where(AuditEntry.request_id == request_id)).scalars())


def test_every_admin_write_is_recorded_in_the_audit_log(admin_write_operation, audit_walk, module_shop,
                                                        module_savepoint, module_db, resource, form_example):
    operation = admin_write_operation
    admin, objects = audit_walk
    urls = [operation.url(id=object_id) for object_id in objects.ids[resource(operation.path)]] \
        if operation.path_parameters else [operation.path]
    answers: list[str] = []

    def attempt(url: str, body=None, form=None) -> bool:
        """One request; True when it succeeded and left an entry naming its request id."""
        request_id = f"audit-walk-{next(_request_ids)}"
        headers = {"X-Request-ID": request_id}
        if form is not None:
            response = admin.client.form(operation.method, url, *form, headers=headers)
        else:
            response = admin.client.request(operation.method, url, body, headers=headers)
        assert response.status_int < 500, (str(operation), response.text)
        entries = recorded(module_db, request_id) if response.status_int < 300 else []
        answers.append(f"{response.status_int}{' recorded' if entries else ''}")
        return bool(entries)

    def walk() -> bool:
        for url in urls:
            if operation.has_form_body:
                if attempt(url, form=form_example(operation)):
                    return True
            elif not operation.has_body:
                if attempt(url):
                    return True
            elif operation.operation_id in SOUND_BODIES:
                if attempt(url, SOUND_BODIES[operation.operation_id](objects.ids)):
                    return True
            elif generated(url):
                return True
        return False

    def generated(url: str) -> bool:
        strategy = module_shop.examples.schema.find_operation_by_id(operation.operation_id).as_strategy()
        found: list[bool] = []

        def accepted(case) -> bool:
            # Once one was recorded the search is over: the same body again (hypothesis replays what it
            # found) may well be refused, the object being made already.
            if not found and attempt(url, case.body):
                found.append(True)
            return bool(found)

        try:
            hypothesis.find(strategy, accepted, settings=hypothesis.settings(
                database=None, max_examples=GENERATED_BODIES, derandomize=True,
                phases=[hypothesis.Phase.generate], suppress_health_check=list(hypothesis.HealthCheck)))
        except hypothesis.errors.NoSuchExample:
            return False
        return True

    assert walk(), (f"{operation}: no request an admin made was recorded in the audit log (answers: "
                    f"{', '.join(dict.fromkeys(answers))}); declare its action with config.add_audited_action "
                    f"and record it with request.audit, or, if no generated body is accepted, add one to "
                    f"SOUND_BODIES")
