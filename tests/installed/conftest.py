"""The shop as an operator installs it: wheels of shopcore and the shop plugins in a fresh venv.

Built once per session (`installed_shop`), in a temporary folder outside the checkout, so nothing
found there comes from the source tree. Dependencies come from the package index through pip's
cache, exactly as `requirements/testing.txt` locks them (hash-checked), the wheels installed with
`--no-deps` after. The tests are marked `installed`; CI runs them once, in its PostgreSQL pass.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

REPO = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = sorted((REPO / "plugins").glob("shopcore_*"))
# Every third-party package, pinned with hashes; the test extras too, which the guide's plugin tests use.
LOCK_FILE = REPO / "requirements" / "testing.txt"
# Variables of this run that must not leak into the installed shop's processes.
LEAKY = ("PYTHONPATH", "SHOPCORE_PLUGINS", "SHOPCORE_TEST_PLUGINS", "DATABASE_URL", "SECRET_KEY", "REDIS_URL",
         "BROKER_URL", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "VIRTUAL_ENV")


def run(argv, *, timeout=900, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {result.returncode}\n"
                             f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}")
    return result


def clean_environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in LEAKY}
    env.update(extra)
    return env


def fresh_database(name: str, folder: Path) -> str:
    """An empty database for the installed shop: PostgreSQL next to the suite's, else a SQLite file."""
    base = os.environ.get("SHOPCORE_TEST_DATABASE_URL", "")
    if not base or base == "sqlite":
        return f"sqlite:///{folder / (name + '.sqlite')}"
    url = make_url(base)
    url = url.set(database=f"{url.database}_{name}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


@dataclass
class InstalledShop:
    folder: Path      # the temporary folder everything happens in (the operator's "any folder")
    wheels: Path
    venv: Path

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name


@pytest.fixture(scope="session")
def installed_shop(tmp_path_factory) -> InstalledShop:
    folder = tmp_path_factory.mktemp("installed-shop")
    wheels = folder / "wheels"
    # Built from the checkout as `pip wheel` builds any sdist: non-editable, package data only.
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, REPO, *PLUGIN_SOURCES],
        cwd=folder)
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=folder)
    core = next(wheels.glob("shopcore-*.whl"))
    plugins = sorted(set(wheels.glob("shopcore_*.whl")))
    # --no-compile: byte-compiling every dependency is much of a fresh install's time; imports compile
    # what they use.
    # As the README's production steps: the locked versions, hash-checked, then the wheels with no
    # dependencies of their own to resolve, and pip's check that none is missing.
    pip = [venv / "bin" / "python", "-m", "pip"]
    run([*pip, "install", "--quiet", "--no-compile", "--require-hashes", "--no-deps", "-r", LOCK_FILE],
        cwd=folder, env=clean_environment())
    run([*pip, "install", "--quiet", "--no-compile", "--no-deps", core, *plugins], cwd=folder,
        env=clean_environment())
    run([*pip, "check"], cwd=folder, env=clean_environment())
    return InstalledShop(folder, wheels, venv)
