"""Issue 21, "Also": no-store on answers carrying tokens or personal data, HSTS in production, the metrics
token compared in constant time."""
import hmac

import pytest
import webtest

from shopcore.settings import SettingsError
from shopcore.testing import make_test_configurator

PASSWORD = "correct horse battery"


def app_with(shopcore_settings, shopcore_registry, **overrides):
    config = make_test_configurator({**shopcore_settings, **overrides}, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})


# --- Cache-Control: no-store -----------------------------------------------------------------------

def test_answers_carrying_tokens_are_not_stored(testapp, customer):
    login = testapp.post_json("/api/auth/login/", {"username": "customer", "password": PASSWORD})
    refresh = testapp.post_json("/api/auth/refresh/", {"refresh": login.json["refresh"]})
    register = testapp.post_json("/api/auth/register/", {"username": "newbie", "email": "newbie@example.com",
                                                        "password": "lantern-orbit-77"})
    for response in (login, refresh, register):
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/auth/user/", "/api/orders/", "/api/cart/"])
def test_answers_to_a_logged_in_user_are_not_stored(customer_app, path):
    assert customer_app.get(path).headers["Cache-Control"] == "no-store"


def test_a_refused_token_is_not_stored_either(testapp):
    response = testapp.get("/api/auth/user/", headers={"Authorization": "Bearer nonsense"}, status=401)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_public_catalog_stays_cacheable(testapp, make_product):
    product_id = make_product(name="Mug")
    for path in ("/api/products/", f"/api/products/{product_id}/", "/api/categories/"):
        response = testapp.get(path)
        assert "Cache-Control" not in response.headers and response.headers["ETag"]


# --- HSTS ------------------------------------------------------------------------------------------

def test_hsts_is_on_in_production_and_off_in_development(shopcore_settings, shopcore_registry, db_connection):
    production = app_with(shopcore_settings, shopcore_registry, **{"shopcore.env": "production"})
    development = app_with(shopcore_settings, shopcore_registry, **{"shopcore.env": "development"})

    assert production.get("/health").headers["Strict-Transport-Security"] == "max-age=31536000"
    assert production.get("/api/nowhere/", status=404).headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in development.get("/health").headers


def test_hsts_max_age_is_configurable(shopcore_settings, shopcore_registry, db_connection):
    short = app_with(shopcore_settings, shopcore_registry, **{"shopcore.env": "production",
                                                              "shopcore.hsts_max_age": "600"})
    off = app_with(shopcore_settings, shopcore_registry, **{"shopcore.env": "production",
                                                            "shopcore.hsts_max_age": "0"})
    assert short.get("/health").headers["Strict-Transport-Security"] == "max-age=600"
    assert "Strict-Transport-Security" not in off.get("/health").headers


@pytest.mark.parametrize("value", ["-1", "a year"])
def test_a_bad_hsts_max_age_stops_start_up(shopcore_settings, shopcore_registry, value):
    with pytest.raises(SettingsError, match="shopcore.hsts_max_age"):
        app_with(shopcore_settings, shopcore_registry, **{"shopcore.hsts_max_age": value})


# --- the metrics token -----------------------------------------------------------------------------

def test_the_metrics_token_is_compared_in_constant_time(shopcore_settings, shopcore_registry, db_connection,
                                                        monkeypatch):
    app = app_with(shopcore_settings, shopcore_registry, **{"shopcore.metrics.public": "false",
                                                            "shopcore.metrics.token": "metrics-secret"})
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))

    app.get("/metrics", headers={"Authorization": "Bearer metrics-secreT"}, status=403)
    app.get("/metrics", headers={"Authorization": "Bearer metrics-secret"}, status=200)

    assert [given for given, _expected in compared] == [b"Bearer metrics-secreT", b"Bearer metrics-secret"]
