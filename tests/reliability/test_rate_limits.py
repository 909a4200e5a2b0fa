"""Rate limits: every operation of the merged spec that declares a 429 (logins, password changes,
resets and their confirmations, registrations, checkouts, applying coupon codes) answers one, with `Retry-After`, once a small limit is
spent by one client, and the answer is the shop's error body and the response the spec declares.

`tests/accounts/test_rate_limits.py` proves the finer rules (per address and per account, windows,
the same answer for known and unknown accounts, a trusted proxy's X-Forwarded-For).
"""
from __future__ import annotations

import json

import pytest

RATE = "shopcore.accounts.rate."
LIMIT = 3
WINDOW = 60
ATTEMPTS = 10


# Operations that must stay limited, whatever the spec says.
MUST_BE_LIMITED = {"authLogin", "authRegister", "authRequestPasswordReset", "authConfirmPasswordReset",
                   "authChangePassword", "authUpdateUser", "authConfirmEmailChange", "authUndoEmailChange",
                   "authDeleteUser", "checkout"}
# Plugins' limits (a plugin not enabled ignores its settings).
PLUGIN_RATES = ("shopcore.orders.rate.checkout_user", "shopcore.coupons.rate.apply_user",
                "shopcore.coupons.rate.apply_ip")


@pytest.fixture
def limited_app(make_app):
    names = ("login_ip", "login_account", "reset_ip", "reset_account", "reset_confirm_ip", "register_ip",
             "email_change_ip", "email_change_account", "email_confirm_ip")
    return make_app(**{RATE + name: f"{LIMIT}/minute" for name in names},
                    **{key: f"{LIMIT}/minute" for key in PLUGIN_RATES})


def test_the_spec_declares_429_where_attempts_are_limited(collected_operations):
    limited = {op.operation_id for op in collected_operations if "429" in op.spec.get("responses", {})}
    assert MUST_BE_LIMITED <= limited, sorted(MUST_BE_LIMITED - limited)


def test_operations_that_declare_429_have_a_limit_that_holds(limited_operation, limited_app, shop, examples,
                                                             resolve_ref):
    operation = limited_operation
    customer = shop.user("limited")
    headers = customer.bearer if operation.secured else {}
    statuses = []
    for attempt in range(ATTEMPTS):
        body = examples.body(operation.operation_id)
        if operation.operation_id == "authRegister":
            body.update(username=f"newcomer{attempt}", email=f"newcomer{attempt}@example.com",
                        password="a long enough passphrase")
        elif operation.operation_id == "authUpdateUser":
            # What is limited there is asking for a new e-mail address.
            body = {"email": f"moved{attempt}@example.com", "current_password": customer.password}
        response = limited_app.request(operation.path, method=operation.method, headers=headers,
                                       body=json.dumps(body).encode(), content_type="application/json",
                                       expect_errors=True)
        statuses.append(response.status_int)
        if response.status_int == 429:
            break
    assert statuses[-1] == 429 and len(statuses) <= LIMIT + 1, (operation, statuses)
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW
    assert response.json == {"detail": "Too many attempts; try again later."}
    declared = resolve_ref(operation.spec["responses"]["429"])
    assert "Retry-After" in declared.get("headers", {}), f"{operation}: the spec's 429 must declare Retry-After"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
