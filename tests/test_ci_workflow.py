"""The GitHub workflow runs the suite the way `.ci/run` does.

actionlint (run by `.ci/run`) checks the workflow is valid, not that it runs the right passes: the
SQLite pass must leave out the `installed` tests (wheels in a fresh venv, databases of their own),
which run once, in the PostgreSQL pass, as in `.ci/run`.
"""
from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
NOT_INSTALLED = '-m "not installed"'


def suite_steps() -> dict[str, str]:
    """The workflow's `make test` steps: database URL -> the command run."""
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    steps = {}
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "make test" in step.get("run", ""):
                steps[step["env"]["SHOPCORE_TEST_DATABASE_URL"]] = step["run"]
    return steps


def test_the_workflow_runs_the_installed_tests_once_in_the_postgresql_pass():
    steps = suite_steps()
    assert set(steps) == {"sqlite", "postgresql+psycopg://postgres@127.0.0.1:5432/shopcore_ci"}
    assert NOT_INSTALLED in steps["sqlite"]
    postgresql = next(run for url, run in steps.items() if url != "sqlite")
    assert "not installed" not in postgresql


def test_ci_run_excludes_them_from_its_sqlite_pass_too():
    [sqlite_pass] = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                     if line.startswith("SHOPCORE_TEST_DATABASE_URL=sqlite make test")]
    assert f"PYTEST_ARGS='{NOT_INSTALLED}'" in sqlite_pass
