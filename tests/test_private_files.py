"""Development's files under var/ are their owner's alone from the moment they exist.

Each test runs with a umask of 0, so a file created with the default mode would be world-readable
(0666) and a folder world-writable: the modes seen come from the code, not the environment. chmod is
refused meanwhile: a file made readable and tightened afterwards could be opened in between.
"""
from __future__ import annotations

import os
import stat
from email.message import EmailMessage

import pytest
from sqlalchemy import text

from shopcore.db import make_engine
from shopcore.settings import load_settings


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask_and_no_chmod(monkeypatch):
    previous = os.umask(0)

    def refuse(*args, **kwargs):
        raise AssertionError(f"chmod{args}: files must be created with their mode")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(os, "fchmod", refuse)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_generated_secret_and_its_folder_are_private(tmp_path):
    var = tmp_path / "var"
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret_file": str(var / "secret")}, {})
    assert (mode(var), mode(var / "secret")) == (0o700, 0o600)
    assert (var / "secret").read_text() == settings["shopcore.secret"]
    assert os.listdir(var) == ["secret"]  # no temporary file left behind


def test_the_sqlite_database_and_its_journals_are_private(tmp_path):
    database = tmp_path / "shopcore.sqlite"
    engine = make_engine({"sqlalchemy.url": f"sqlite:///{database}"})
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalar() == 1
            files = sorted(path.name for path in tmp_path.iterdir())
            assert files == ["shopcore.sqlite", "shopcore.sqlite-shm", "shopcore.sqlite-wal"]
            assert {name: mode(tmp_path / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        engine.dispose()


def test_mail_files_and_their_folder_are_private(tmp_path):
    from shopcore_notifications.mailers import FileMailer

    message = EmailMessage()
    message["Subject"], message["To"] = "Reset your password", "ann@example.com"
    message.set_content("https://shop.example/reset?token=secret")
    folder = tmp_path / "var" / "mail"
    written = FileMailer(folder).send(message, "reset-1")
    FileMailer(folder).send(message, "reset-1")  # a repeat overwrites, still private
    assert (mode(folder), mode(written)) == (0o700, 0o600)
    assert os.listdir(folder) == ["reset-1.eml"]
