"""The plugin loader's rules: allow-list, requires order, and a clear failure for each bad plugin."""
from importlib.metadata import EntryPoint

import pytest

from shopcore.plugins import CONTRACT_VERSION, PluginError, PluginManifest, resolve_plugins


class FakeEntryPoint:
    """Stands for an installed entry point whose target is already importable."""

    dist = None

    def __init__(self, manifest):
        self.manifest = manifest

    def load(self):
        return self.manifest


def manifest(name, requires=(), api=CONTRACT_VERSION):
    return PluginManifest(name=name, api=api, requires=requires, includeme=lambda config: None, version="1.0")


def available(*manifests):
    return {m.name: FakeEntryPoint(m) for m in manifests}


def test_requirements_are_included_first_whatever_the_allow_list_order():
    plugins = available(manifest("orders", ("catalog", "cart")), manifest("cart", ("catalog",)),
                        manifest("catalog"), manifest("notifications"))
    ordered = resolve_plugins(["orders", "notifications", "cart", "catalog"], plugins)
    assert [m.name for m in ordered] == ["catalog", "cart", "orders", "notifications"]


def test_only_allowed_plugins_are_loaded():
    plugins = available(manifest("catalog"), manifest("cart", ("catalog",)))
    assert [m.name for m in resolve_plugins(["catalog"], plugins)] == ["catalog"]


def test_missing_requirement_names_both_plugins():
    plugins = available(manifest("catalog"), manifest("cart", ("catalog",)))
    with pytest.raises(PluginError, match="plugin 'cart' requires plugin 'catalog', which is not enabled"):
        resolve_plugins(["cart"], plugins)


def test_requirement_cycle_is_refused_with_its_path():
    plugins = available(manifest("a", ("b",)), manifest("b", ("c",)), manifest("c", ("a",)))
    with pytest.raises(PluginError, match=r"requirement cycle: a -> b -> c -> a"):
        resolve_plugins(["a", "b", "c"], plugins)


def test_contract_version_mismatch_is_refused():
    plugins = available(manifest("old", api="0.9"))
    with pytest.raises(PluginError, match=r"plugin 'old' is written for plugin contract 0.9, this shopcore provides"):
        resolve_plugins(["old"], plugins)


def test_a_1x_plugin_is_refused_pointing_to_the_upgrade_section():
    plugins = available(manifest("old", api="1.0"))
    with pytest.raises(PluginError, match=r"plugin 'old' is written for plugin contract 1.0, this shopcore provides "
                                          r"2.1; see docs/plugins.md, section \"From 1.0 to 2.0\""):
        resolve_plugins(["old"], plugins)


def test_minor_contract_difference_is_accepted():
    plugins = available(manifest("newer", api="2.7"))
    assert resolve_plugins(["newer"], plugins)[0].name == "newer"


def test_import_error_names_the_plugin():
    broken = EntryPoint(name="broken", value="shopcore_no_such_module_anywhere:plugin", group="shopcore.plugins")
    with pytest.raises(PluginError, match=r"plugin 'broken' failed to import: ModuleNotFoundError"):
        resolve_plugins(["broken"], {"broken": broken})


def test_enabled_but_not_installed_plugin_is_named():
    with pytest.raises(PluginError, match=r"plugin 'ghost' is enabled but not installed"):
        resolve_plugins(["ghost"], available(manifest("catalog")))


def test_entry_point_must_name_a_manifest():
    plugins = {"odd": FakeEntryPoint(object())}
    with pytest.raises(PluginError, match="must name a shopcore.plugins.PluginManifest"):
        resolve_plugins(["odd"], plugins)


def test_manifest_name_must_match_entry_point():
    plugins = {"alias": FakeEntryPoint(manifest("real"))}
    with pytest.raises(PluginError, match="manifest is named 'real'"):
        resolve_plugins(["alias"], plugins)


def test_app_start_fails_with_the_loader_message(shopcore_settings):
    from shopcore.testing import make_test_configurator

    settings = {**shopcore_settings, "shopcore.plugins": "catalog nosuchplugin"}
    with pytest.raises(PluginError, match="plugin 'nosuchplugin' is enabled but not installed"):
        make_test_configurator(settings)


def test_plugin_failing_in_includeme_is_named(shopcore_settings, monkeypatch):
    from shopcore import plugins as plugins_module
    from shopcore.testing import make_test_configurator

    def explode(config):
        raise RuntimeError("bad setting shopcore.exploding.level")

    exploding = PluginManifest(name="exploding", api=CONTRACT_VERSION, includeme=explode)
    monkeypatch.setattr(plugins_module, "discover", lambda group="shopcore.plugins": available(exploding))
    settings = {**shopcore_settings, "shopcore.plugins": "exploding"}
    with pytest.raises(PluginError, match=r"plugin 'exploding' failed to configure: RuntimeError: bad setting"):
        make_test_configurator(settings)
