"""`pshell development.ini` starts with the session, models and services at hand."""
from pathlib import Path

from pyramid.paster import bootstrap

from shopcore.pshell import setup

INI = str(Path(__file__).resolve().parents[1] / "development.ini")


def test_pshell_setup_offers_session_models_and_services(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'shell.sqlite'}")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    env = bootstrap(INI)
    try:
        setup(env)
        assert env["dbsession"] is env["request"].dbsession
        assert env["models"]["User"].__tablename__ == "core_users"
        assert env["User"] is env["models"]["User"]
        for name in env["plugins"]:
            assert name in ("catalog", "cart", "orders", "notifications", "payments")
        from shopcore_catalog.api import CatalogService

        assert "CatalogService" in env["services"]
        assert isinstance(env["service"]("CatalogService"), CatalogService)
        assert env["service"](CatalogService) is env["service"]("CatalogService")
        env["tm"].abort()
    finally:
        env["closer"]()
