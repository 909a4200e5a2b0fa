"""`shopcore-admin CONFIG create-user`: the one way admins come to exist; nothing creates one implicitly."""
import pytest
import webtest
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



def test_grant_admin_and_revoke_admin_are_idempotent_and_hold_for_existing_tokens(
        ini_file, committed_db, make_committed_user, token_for, wsgi_app, capsys):
    user_id = make_committed_user("carla")
    token = token_for(user_id)["access"]
    app = webtest.TestApp(wsgi_app)
    bearer = {"Authorization": f"Bearer {token}"}
    app.post_json("/api/categories/", {"name": "Lamps"}, headers=bearer, status=403)

    assert shopcore_admin([ini_file, "grant-admin", "CARLA"]) == 0
    assert capsys.readouterr().out == "carla is now an admin\n"
    assert users(committed_db) == [("carla", "carla@example.com", True)]
    app.post_json("/api/categories/", {"name": "Lamps"}, headers=bearer, status=201)  # the token she had
    assert shopcore_admin([ini_file, "grant-admin", "carla"]) == 0
    assert capsys.readouterr().out == "carla is already an admin: nothing changed\n"

    assert shopcore_admin([ini_file, "revoke-admin", "carla"]) == 0
    assert capsys.readouterr().out == "carla is now not an admin\n"
    assert users(committed_db) == [("carla", "carla@example.com", False)]
    # At once, on the token issued while she was an admin; it still stands for her as a customer.
    app.post_json("/api/categories/", {"name": "Desks"}, headers=bearer, status=403)
    assert app.get("/api/auth/user/", headers=bearer, status=200).json["username"] == "carla"
    assert shopcore_admin([ini_file, "revoke-admin", "carla"]) == 0
    assert capsys.readouterr().out == "carla is already not an admin: nothing changed\n"


@pytest.mark.parametrize("command", ["grant-admin", "revoke-admin"])
def test_grant_or_revoke_admin_of_an_unknown_user_fails_naming_it(ini_file, committed_db, capsys, command):
    assert shopcore_admin([ini_file, command, "nobody"]) == 1
    assert capsys.readouterr().err == "error: username: No user is named 'nobody'.\n"
