"""The merged spec is kept where only this process can write it, and is checked when it is read.

The file the app validates requests with used to go to `$TMPDIR/shopcore-openapi/openapi-<hash>.yaml`,
a shared, predictable place whose existing file was trusted: a local user could plant a spec of their
own there before the shop started.
"""
from __future__ import annotations

import copy
import hashlib
import os
import stat
import tempfile
from pathlib import Path

import pytest
import webtest
import yaml
from pyramid.exceptions import ConfigurationError

from shopcore.testing import make_test_configurator


def planted_spec(spec: dict) -> dict:
    planted = copy.deepcopy(spec)
    planted["info"]["title"] = "planted"
    return planted


def test_a_spec_planted_in_the_shared_temporary_folder_is_not_used(shopcore_settings, shopcore_registry,
                                                                   monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the "shared" folder, this test's own
    spec = shopcore_registry["shopcore.openapi_spec"]
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    shared = tmp_path / "shopcore-openapi"
    shared.mkdir()
    # Exactly where, and under the name that, the merged spec was looked for.
    (shared / f"openapi-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml").write_text(
        yaml.safe_dump(planted_spec(spec), sort_keys=False))

    config = make_test_configurator(shopcore_settings, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    served = webtest.TestApp(config.make_wsgi_app()).get("/openapi.yaml")
    assert "planted" not in served.text
    assert yaml.safe_load(served.body)["info"]["title"] == spec["info"]["title"]
    with config.registry.settings["pyramid_openapi3"]["spec"].open() as loaded:
        assert loaded["info"]["title"] == spec["info"]["title"]
    path = Path(config.registry["shopcore.openapi_path"])
    assert path.parent != shared


def test_the_spec_file_and_its_folder_are_this_users_alone(shopcore_registry):
    path = Path(shopcore_registry["shopcore.openapi_path"])
    folder = path.parent.stat()
    assert (stat.S_IMODE(folder.st_mode), folder.st_uid) == (0o700, os.getuid())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_spec_file_changed_after_it_was_written_is_refused(shopcore_registry):
    from shopcore.openapi import verify_spec_file, write_spec

    spec = shopcore_registry["shopcore.openapi_spec"]
    path, digest = write_spec(spec)
    verify_spec_file(path, digest)
    Path(path).write_text(yaml.safe_dump(planted_spec(spec), sort_keys=False))
    with pytest.raises(ConfigurationError, match="changed after it was written"):
        verify_spec_file(path, digest)
    assert write_spec(spec) == (path, digest)  # written again, whole
    verify_spec_file(path, digest)
