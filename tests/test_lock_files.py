"""Issue 20, point 6: reproducible installs. The lock files pin every dependency the core and the
plugins declare (their `testing` extras too), with hashes; the venv `make install` made holds exactly
the locked versions; production.txt pins the same versions as testing.txt.

When a `setup.py` gains a requirement, these tests fail until `make lock` has been run.
"""
from __future__ import annotations

import importlib.util
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def load_lock_script():
    spec = importlib.util.spec_from_file_location("shopcore_lock", LOCKS / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pins(path: Path) -> dict[str, list[tuple[Version, Marker | None]]]:
    """{name: [(version, marker)]} of a lock file (a name may be pinned twice, under exclusive markers)."""
    found: dict[str, list] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            found.setdefault(canonicalize_name(name), []).append((Version(version), Marker(marker) if marker else None))
    return found


def applies(marker: Marker | None, extra: str = "") -> bool:
    return marker is None or marker.evaluate({"extra": extra})


def missing_from(lock: dict, requirements: list[str], extras: tuple[str, ...], local: set[str]) -> list[str]:
    """The requirements (of a distribution's metadata) that apply here and that no pin of `lock` satisfies."""
    missing = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name in local:
            continue
        if requirement.marker is not None and not any(requirement.marker.evaluate({"extra": extra})
                                                      for extra in ("", *extras)):
            continue
        versions = [version for version, marker in lock.get(name, []) if applies(marker)]
        if not any(requirement.specifier.contains(version, prereleases=True) for version in versions):
            missing.append(text)
    return missing


@pytest.fixture(scope="module")
def local_names() -> dict[str, Path]:
    script = load_lock_script()
    return {canonicalize_name(script.distribution_name(folder)): folder for folder in script.local_packages()}


def test_every_local_package_is_found_by_the_lock_script(local_names):
    folders = {Path(".")} | {path.parent.relative_to(REPO) for path in REPO.glob("plugins/*/setup.py")}
    assert set(local_names.values()) == folders
    assert "shopcore" in local_names


@pytest.mark.parametrize("lock_file, extras", [("testing.txt", ("testing",)), ("production.txt", ())])
def test_every_declared_requirement_is_locked(local_names, lock_file, extras):
    lock = pins(LOCKS / lock_file)
    missing = {name: missing_from(lock, metadata.requires(name) or [], extras, set(local_names))
               for name in local_names}
    assert {name: found for name, found in missing.items() if found} == {}, f"run `make lock` ({lock_file})"


def test_a_requirement_missing_from_the_lock_is_reported():
    lock = pins(LOCKS / "testing.txt")
    # Names no lock will ever hold (the shop's real dependencies come and go from the lock).
    assert missing_from(lock, ["shopcore-no-such-package>=9", "SQLAlchemy>=2",
                               "shopcore-no-such-extra; extra == 'testing'", "colorama; sys_platform == 'nowhere'"],
                        ("testing",), set()) == ["shopcore-no-such-package>=9", "shopcore-no-such-extra; extra == 'testing'"]
    assert missing_from(lock, ["SQLAlchemy<1"], (), set()) == ["SQLAlchemy<1"]


def test_every_pin_carries_hashes_and_no_local_package_is_pinned(local_names):
    for lock_file in ("testing.txt", "production.txt"):
        text = (LOCKS / lock_file).read_text(encoding="utf-8")
        entries = re.split(r"\n(?=\S)", text.split("\n", 2)[2].strip())
        for entry in entries:
            assert "--hash=sha256:" in entry, f"{lock_file}: {entry.splitlines()[0]} has no hash"
        assert not set(pins(LOCKS / lock_file)) & set(local_names)
        assert "-e " not in text and "file:" not in text


def test_production_pins_the_versions_that_were_tested():
    tested, shipped = pins(LOCKS / "testing.txt"), pins(LOCKS / "production.txt")
    assert shipped and set(shipped) < set(tested)
    for name, versions in shipped.items():
        assert {version for version, _ in versions} <= {version for version, _ in tested[name]}, name


def test_the_installed_versions_are_the_locked_ones():
    """`make install` installed from the lock: what runs these tests is what the lock says."""
    wrong = {}
    for name, versions in pins(LOCKS / "testing.txt").items():
        wanted = [version for version, marker in versions if applies(marker)]
        if not wanted:
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed not in wanted:
            wrong[name] = (str(installed), [str(version) for version in wanted])
    assert wrong == {}, "run `make install` (it installs from requirements/testing.txt)"


def test_the_readme_names_the_locked_versions():
    script = load_lock_script()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = (readme.index(marker) for marker in script.README_MARKERS)
    named = readme[start + len(script.README_MARKERS[0]):end]
    assert named == script.tested_versions((LOCKS / "testing.txt").read_text(encoding="utf-8"))
    assert named.count(",") == len(script.README_PACKAGES) - 1
