"""Settings: defaults, ini values, environment overlay and clear refusals."""
import pytest

from shopcore.settings import SettingsError, load_settings

SECRET = "s" * 40


def test_environment_overrides_ini():
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET, "shopcore.cache.ttl": "60"},
                             {"SHOPCORE_CACHE_TTL": "120", "SHOPCORE_PLUGINS": "catalog,cart"})
    assert settings["shopcore.cache.ttl"] == 120
    assert settings["shopcore.plugins"] == ["catalog", "cart"]


def test_defaults_apply():
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET}, {})
    assert settings["shopcore.cache.ttl"] == 600
    assert settings["shopcore.cache.backend"] == "shopcore.cache.memory"
    assert settings["shopcore.cache.max_entries"] == 1000
    assert settings["shopcore.plugins"] == ["catalog", "cart", "orders", "notifications", "payments"]


def test_seed_database_variables_compose_a_postgres_url():
    env = {"DB_NAME": "shop", "DB_USER": "shopper", "DB_PASSWORD": "p@ss word", "DB_HOST": "db", "DB_PORT": "5433"}
    settings = load_settings({"shopcore.secret": SECRET}, env)
    assert settings["sqlalchemy.url"] == "postgresql+psycopg://shopper:p%40ss%20word@db:5433/shop"


def test_database_url_wins_over_parts():
    env = {"DATABASE_URL": "postgresql+psycopg://a@b/c", "DB_NAME": "ignored"}
    assert load_settings({"shopcore.secret": SECRET}, env)["sqlalchemy.url"] == "postgresql+psycopg://a@b/c"


def test_seed_email_variables_are_read():
    env = {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587", "EMAIL_HOST_USER": "u", "EMAIL_HOST_PASSWORD": "p"}
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET}, env)
    assert (settings["shopcore.mail.host"], settings["shopcore.mail.port"]) == ("smtp.example.com", 587)
    assert (settings["shopcore.mail.user"], settings["shopcore.mail.password"]) == ("u", "p")


def test_redis_url_selects_the_redis_cache():
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET}, {"REDIS_URL": "redis://r:6379/0"})
    assert settings["shopcore.cache.backend"] == "dogpile.cache.redis"


@pytest.mark.parametrize("key, value, message", [
    ("shopcore.cache.ttl", "ten", "setting shopcore.cache.ttl: invalid literal"),
    ("shopcore.cache.ttl", "-5", "setting shopcore.cache.ttl: expected a positive whole number"),
    ("shopcore.debug", "maybe", "setting shopcore.debug: expected true or false"),
    ("shopcore.env", "staging", "setting shopcore.env: expected one of development, production, testing"),
    ("shopcore.mail.security", "tls", "setting shopcore.mail.security: expected one of none, starttls, ssl"),
])
def test_bad_values_name_the_setting(key, value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET, key: value}, {})


def test_missing_database_is_named():
    with pytest.raises(SettingsError, match="setting sqlalchemy.url: missing"):
        load_settings({"shopcore.secret": SECRET}, {})


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(SettingsError, match="setting shopcore.secret: missing; production needs SECRET_KEY"):
        load_settings({"sqlalchemy.url": "sqlite://", "shopcore.env": "production"}, {})


def test_production_refuses_a_short_secret():
    with pytest.raises(SettingsError, match="too short; production needs at least 32 bytes"):
        load_settings({"sqlalchemy.url": "sqlite://", "shopcore.env": "production"}, {"SECRET_KEY": "short"})


def test_production_ini_refuses_to_start_without_secret(monkeypatch):
    from pathlib import Path

    from pyramid.paster import get_app

    for name in ("SECRET_KEY", "DATABASE_URL", "DB_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    ini = str(Path(__file__).resolve().parents[1] / "production.ini")
    with pytest.raises(SettingsError, match="production needs SECRET_KEY"):
        get_app(ini)


def test_development_generates_and_keeps_a_secret(tmp_path):
    raw = {"sqlalchemy.url": "sqlite://", "shopcore.secret_file": str(tmp_path / "secret")}
    first = load_settings(raw, {})["shopcore.secret"]
    second = load_settings(raw, {})["shopcore.secret"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600


def settings_include(config):
    from shopcore.settings import Setting, parse_positive_int

    config.add_settings_table("shopcore.wishlist.", (
        Setting("shopcore.wishlist.max_items", 100, parse_positive_int, ("WISHLIST_MAX_ITEMS",), "Most items."),
        Setting("shopcore.wishlist.label", "Wishlist", str, (), "Shown as the title."),
    ))
    # Parsed already: the rest of includeme can use the value.
    assert config.get_settings()["shopcore.wishlist.max_items"] + 0 >= 1


def wishlist_app(shopcore_settings, environ=None, **values):
    from shopcore import make_configurator

    return make_configurator({**shopcore_settings, **values}, environ=environ or {},
                             extra_includes=(settings_include,)).registry


def test_a_settings_table_parses_into_the_registry(shopcore_settings):
    registry = wishlist_app(shopcore_settings, **{"shopcore.wishlist.max_items": "7"})
    assert registry.settings["shopcore.wishlist.max_items"] == 7
    assert registry.settings["shopcore.wishlist.label"] == "Wishlist"
    tables = registry["shopcore.settings_tables"]
    assert list(tables)[:2] == ["shopcore.messaging.", "shopcore.accounts."]
    assert tables["shopcore.wishlist."].owner == "include 'tests.test_settings.settings_include'"


def test_a_settings_table_reads_the_environment(shopcore_settings):
    registry = wishlist_app(shopcore_settings, environ={"WISHLIST_MAX_ITEMS": "12"})
    assert registry.settings["shopcore.wishlist.max_items"] == 12


def test_a_bad_value_in_a_settings_table_stops_start_up_naming_it(shopcore_settings):
    with pytest.raises(SettingsError, match=r"^setting shopcore.wishlist.max_items: expected a positive whole number"):
        wishlist_app(shopcore_settings, **{"shopcore.wishlist.max_items": "0"})


def test_a_misspelt_key_under_a_table_prefix_stops_start_up(shopcore_settings):
    with pytest.raises(SettingsError, match=r"setting shopcore.wishlist.max_item: unknown \(known: "
                                            r"shopcore.wishlist.label, shopcore.wishlist.max_items\)"):
        wishlist_app(shopcore_settings, **{"shopcore.wishlist.max_item": "5"})


def test_a_bad_account_setting_still_names_it(shopcore_settings):
    with pytest.raises(SettingsError, match=r"setting shopcore.accounts.password_min_length: expected a positive"):
        wishlist_app(shopcore_settings, **{"shopcore.accounts.password_min_length": "-1"})


@pytest.mark.parametrize("backend", ["", "dogpile.cache.memory", "shopcore.cache.memory"])
def test_production_refuses_a_per_process_memory_cache(backend):
    with pytest.raises(SettingsError, match="shopcore.cache.backend: production needs a shared cache"):
        load_settings({"sqlalchemy.url": "sqlite://", "shopcore.env": "production", "shopcore.cache.backend": backend},
                      {"SECRET_KEY": SECRET})


def test_production_takes_a_redis_cache_of_its_own():
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.env": "production"},
                             {"SECRET_KEY": SECRET, "CACHE_REDIS_URL": "redis://cache:6379/0"})
    assert settings["shopcore.cache.backend"] == "dogpile.cache.redis"


# --- SMTP login security (issue 21, point 11) -------------------------------------------------------------

SMTP_ENV = {"SHOPCORE_MAIL_BACKEND": "smtp", "EMAIL_HOST": "smtp.example.com", "EMAIL_HOST_USER": "u",
            "EMAIL_HOST_PASSWORD": "p"}


def test_smtp_security_defaults_to_starttls():
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET}, SMTP_ENV)
    assert settings["shopcore.mail.security"] == "starttls"


def test_an_smtp_login_without_tls_stops_start_up_unless_allowed():
    base = {"sqlalchemy.url": "sqlite://", "shopcore.secret": SECRET}
    with pytest.raises(SettingsError, match=r"^setting shopcore\.mail\.security: none would send the SMTP user"):
        load_settings(base, {**SMTP_ENV, "EMAIL_SECURITY": "none"})
    allowed = load_settings(base, {**SMTP_ENV, "EMAIL_SECURITY": "none", "EMAIL_ALLOW_INSECURE_LOGIN": "true"})
    assert (allowed["shopcore.mail.security"], allowed["shopcore.mail.allow_insecure_login"]) == ("none", True)
    # No credentials, or the file backend: nothing to protect.
    load_settings(base, {"SHOPCORE_MAIL_BACKEND": "smtp", "EMAIL_SECURITY": "none"})
    load_settings(base, {**SMTP_ENV, "SHOPCORE_MAIL_BACKEND": "file", "EMAIL_SECURITY": "none"})


def test_docker_compose_passes_the_smtp_security_setting():
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).parents[1] / "docker-compose.yml").read_text())
    environment = compose["x-shop-environment"]
    assert environment["EMAIL_SECURITY"] == "${EMAIL_SECURITY:-starttls}"
    assert all(service.get("environment") == environment for name, service in compose["services"].items()
               if name in ("web", "worker", "migrate"))
