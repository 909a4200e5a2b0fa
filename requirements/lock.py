"""Refresh the lock files (`make lock`): every third-party distribution the shop installs, pinned with hashes.

Reads every local package, the core (`setup.py`) and each `plugins/*/setup.py`, so a plugin or a
dependency added anywhere is picked up with no change here, and resolves with uv (`uv pip compile`):

- `requirements/testing.txt`: what the core and the plugins need, with every package's `testing`
  extra (`make install`, CI, the installed-wheels tests);
- `requirements/production.txt`: what they need to run (the Dockerfile), resolved with testing.txt
  as constraints, so what is shipped is exactly what was tested (testing is resolved first: the test
  tools narrow the versions, schemathesis its jsonschema-rs for one).

The local packages themselves are not in the files: they are installed from the checkout (editable in
development, as wheels elsewhere) with `--no-deps` after the lock, since an editable or local install
cannot carry a hash. setuptools and wheel, which build them, and pip are locked too. The resolution is
universal (every platform and Python >= 3.11), so the hashes cover what macOS and Linux users install.

It also writes the README's list of tested versions (between its tested-versions markers).

Usage: `python requirements/lock.py [--upgrade]` (uv must be on PATH or next to this Python).
"""
from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "requirements"
PYTHON_VERSION = "3.11"
# The README names the tested versions of these (between its tested-versions markers), from testing.txt.
README_PACKAGES = ("pyramid", "SQLAlchemy", "psycopg", "alembic", "kombu", "redis", "openapi-core", "jsonschema-rs",
                   "pytest", "schemathesis")
README_MARKERS = ("<!-- tested-versions -->", "<!-- end tested-versions -->")
# Installed alongside, to build the local packages (without build isolation) and to install them.
TOOLS = ("pip", "setuptools", "wheel")
# Bounds of our own beyond what the setup.py files declare (each with its reason, in the file).
CONSTRAINTS = FOLDER / "constraints.txt"


def local_packages() -> list[Path]:
    """The core and every plugin folder that has a setup.py, relative to the repository."""
    return [Path(".")] + sorted(path.parent.relative_to(REPO) for path in REPO.glob("plugins/*/setup.py"))


def distribution_name(folder: Path) -> str:
    """The `name=` given to setup() in the folder's setup.py (read, not run: no setuptools needed)."""
    tree = ast.parse((REPO / folder / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup":
            for keyword in node.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value
    raise SystemExit(f"{folder / 'setup.py'}: setup(name=...) must be a plain string")


def uv() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: make lock installs it into .venv")
    return found


def compile_lock(inputs: list[str], output: Path, local_names: list[str], upgrade: bool) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".in", dir=REPO, delete=False) as source:
        source.write("\n".join(inputs) + "\n")
    try:
        command = [uv(), "pip", "compile", Path(source.name).name, "--output-file", str(output.relative_to(REPO)),
                   "--generate-hashes", "--universal", "--python-version", PYTHON_VERSION,
                   "--custom-compile-command", "make lock", "--no-annotate", "--quiet"]
        for name in local_names:
            command += ["--no-emit-package", name]
        if upgrade:
            command.append("--upgrade")
        subprocess.run(command, cwd=REPO, check=True)
    finally:
        Path(source.name).unlink()


def tested_versions(lock_text: str) -> str:
    """`pyramid 2.1, SQLAlchemy 2.1.9, ...`: the README's words for the versions of README_PACKAGES."""
    words = []
    for name in README_PACKAGES:
        spelled = "[-_.]".join(re.escape(part) for part in re.split(r"[-_.]", name))
        pattern = re.compile(rf"^{spelled}==([^\s;\\]+)", re.IGNORECASE | re.MULTILINE)
        found = pattern.search(lock_text)
        if found:
            words.append(f"{name} {found.group(1)}")
    return ", ".join(words)


def write_readme_versions(lock_text: str) -> None:
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_MARKERS[0]) + len(README_MARKERS[0]), text.index(README_MARKERS[1])
    readme.write_text(text[:start] + tested_versions(lock_text) + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions allowed, not the locked ones")
    args = parser.parse_args(argv)
    packages = local_packages()
    names = [distribution_name(folder) for folder in packages]
    editable = [f"-e ./{folder.as_posix()}".replace("/./", "/") for folder in packages]
    production, testing = FOLDER / "production.txt", FOLDER / "testing.txt"
    compile_lock([f"-c {CONSTRAINTS.relative_to(REPO).as_posix()}", *TOOLS, *(f"{line}[testing]" for line in editable)],
                 testing, names, args.upgrade)
    compile_lock([f"-c {testing.relative_to(REPO).as_posix()}", *TOOLS, *editable], production, names, upgrade=False)
    write_readme_versions(testing.read_text(encoding="utf-8"))
    print(f"locked {len(names)} local packages' dependencies: {production.relative_to(REPO)}, "
          f"{testing.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
