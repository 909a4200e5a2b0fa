"""`shopcore-admin CONFIG create-user`: the one way admins come to exist; nothing creates one implicitly."""
import pytest
from sqlalchemy import func, select, text

from shopcore.accounts.models import User
from shopcore.scripts.admin import main as shopcore_admin
from shopcore.settings import SETTINGS


@pytest.fixture
def ini_file(tmp_path, shopcore_settings, committed_db, monkeypatch):
    """An ini file for the test database; what the command commits is emptied after the test."""
    for setting in SETTINGS:  # only the ini decides, whatever this machine's environment says
        for variable in setting.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT"):
        monkeypatch.delenv(variable, raising=False)
    path = tmp_path / "admin.ini"
    path.write_text("\n".join([
        "[app:main]",
        "use = egg:shopcore",
        "shopcore.env = testing",
        f"shopcore.secret = {shopcore_settings['shopcore.secret']}",
        f"sqlalchemy.url = {shopcore_settings['sqlalchemy.url']}",
        f"shopcore.redis_url = {shopcore_settings['shopcore.redis_url']}",
        "shopcore.plugins =",
        "",
    ]))
    return str(path)


def users(engine) -> list[tuple[str, str, bool]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT username, email, is_admin FROM core_users ORDER BY id"))
        return [(username, email, bool(is_admin)) for username, email, is_admin in rows]


def test_create_user_with_admin_flag_makes_an_admin_who_can_log_in(ini_file, committed_db, capsys, monkeypatch):
    monkeypatch.delenv("SHOPCORE_PASSWORD", raising=False)
    code = shopcore_admin([ini_file, "create-user", "--username", "root", "--email", "root@example.com",
                           "--password", "lantern-orbit-77", "--admin"])

    assert code == 0
    assert capsys.readouterr().out.startswith("created admin root (id ")
    assert users(committed_db) == [("root", "root@example.com", True)]


def test_create_user_without_the_flag_makes_a_customer_with_the_password_from_the_environment(
        ini_file, committed_db, monkeypatch, capsys):
    monkeypatch.setenv("SHOPCORE_PASSWORD", "lantern-orbit-77")
    assert shopcore_admin([ini_file, "create-user", "--username", "carla", "--email", "carla@example.com"]) == 0
    assert users(committed_db) == [("carla", "carla@example.com", False)]
    assert "lantern-orbit-77" not in capsys.readouterr().out


def test_create_user_applies_the_password_policy_and_uniqueness(ini_file, committed_db, capsys, monkeypatch):
    monkeypatch.delenv("SHOPCORE_PASSWORD", raising=False)
    weak = shopcore_admin([ini_file, "create-user", "--username", "root", "--email", "root@example.com",
                           "--password", "admin", "--admin"])
    assert weak == 1
    assert "password: This password is too short" in capsys.readouterr().err
    assert users(committed_db) == []

    shopcore_admin([ini_file, "create-user", "--username", "root", "--email", "root@example.com",
                    "--password", "lantern-orbit-77"])
    again = shopcore_admin([ini_file, "create-user", "--username", "ROOT", "--email", "other@example.com",
                            "--password", "lantern-orbit-77", "--admin"])
    assert again == 1
    assert "username: A user with that username already exists." in capsys.readouterr().err
    assert users(committed_db) == [("root", "root@example.com", False)]


def test_create_user_without_any_password_source_refuses(ini_file, committed_db, monkeypatch, capsys):
    monkeypatch.delenv("SHOPCORE_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert shopcore_admin([ini_file, "create-user", "--username", "root", "--email", "root@example.com",
                           "--admin"]) == 2
    assert users(committed_db) == []


def test_no_user_exists_until_someone_creates_one(make_app, make_request):
    make_app().get("/health", status=200)
    with make_request() as request:
        assert request.dbsession.scalar(select(func.count()).select_from(User)) == 0

