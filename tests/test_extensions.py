"""Extension points: declared by their owner plugin, failure policy and time budget enforced and logged."""
import logging
import threading
import time
from types import SimpleNamespace

import pytest

from shopcore import plugins as plugins_module
from shopcore.errors import Conflict, ServiceUnavailable
from typing import Protocol, runtime_checkable

from shopcore.extensions import (call_extension, extension_for, extension_keys, extension_point, extensions,
                                 run_extension_point)
from shopcore.plugins import CONTRACT_VERSION, ENTRY_POINT_GROUP, PluginError, PluginManifest
from shopcore.testing import make_test_configurator


class FakeEntryPoint:
    dist = None

    def __init__(self, manifest):
        self.manifest = manifest

    def load(self):
        return self.manifest


def throwaway(name, includeme, requires=()):
    includeme.__name__ = includeme.__qualname__ = f"includeme_{name}"
    return PluginManifest(name=name, api=CONTRACT_VERSION, requires=requires, includeme=includeme)


@pytest.fixture
def start(shopcore_settings, monkeypatch):
    installed = plugins_module.discover()

    def start(*fakes):
        available = {**installed, **{m.name: FakeEntryPoint(m) for m in fakes}}
        monkeypatch.setattr(plugins_module, "discover", lambda group=ENTRY_POINT_GROUP: available)
        settings = {**shopcore_settings, "shopcore.plugins": " ".join(m.name for m in fakes)}
        return make_test_configurator(settings).registry

    return start


def owner_plugin(failure, budget=1.0, interrupt=False):
    """Plugin 'scores' declares `scores.adjust` and calls it; it adds 1 itself."""
    def includeme(config):
        config.add_extension_point("scores.adjust", doc="Adjusting a score\nMore words.", budget_seconds=budget,
                                   failure=failure, interrupt=interrupt)
        config.add_extension("scores.adjust", lambda request, value: value + 1, order=10)

    return throwaway("scores", includeme)


def taking_part(name, implementation, order=0):
    def includeme(config):
        config.add_extension("scores.adjust", implementation, order=order)

    return throwaway(name, includeme, requires=("scores",))


def run(registry, *args):
    return run_extension_point(SimpleNamespace(registry=registry), "scores.adjust", *args)


def test_results_come_in_order_then_include_order(start):
    registry = start(owner_plugin("block"), taking_part("early", lambda request, value: value * 10, order=-1),
                     taking_part("late", lambda request, value: value * 100, order=10))
    assert run(registry, 2) == [20, 3, 200]
    point = extension_point(registry, "scores.adjust")
    assert (point.owner, point.failure, point.budget_seconds) == ("scores", "block", 1.0)


def broken(request, value):
    raise RuntimeError("secret-internal-detail")


def test_block_turns_a_failure_into_a_503_naming_the_purpose_and_logs_the_plugin(start, caplog):
    registry = start(owner_plugin("block"), taking_part("flaky", broken))
    with caplog.at_level(logging.ERROR, logger="shopcore.extensions"), pytest.raises(ServiceUnavailable) as caught:
        run(registry, 1)
    assert caught.value.status == 503
    assert caught.value.detail == "Adjusting a score is temporarily unavailable; try again shortly."
    assert "secret" not in caught.value.detail
    (record,) = caplog.records
    assert "plugin 'flaky'" in record.getMessage() and "scores.adjust" in record.getMessage()
    assert "secret-internal-detail" in str(record.exc_info[1])


def test_proceed_skips_a_failing_implementation_and_logs_the_plugin(start, caplog):
    registry = start(owner_plugin("proceed"), taking_part("flaky", broken))
    with caplog.at_level(logging.ERROR, logger="shopcore.extensions"):
        assert run(registry, 1) == [2]
    (record,) = caplog.records
    assert "plugin 'flaky'" in record.getMessage() and "policy proceed" in record.getMessage()


def test_a_decision_propagates_unchanged_whatever_the_policy(start):
    def refuse(request, value):
        raise Conflict("No more scores today.")

    registry = start(owner_plugin("proceed"), taking_part("strict", refuse))
    with pytest.raises(Conflict, match="No more scores today."):
        run(registry, 1)


def slow(request, value):
    time.sleep(0.15)
    return value * 7


def test_over_budget_under_block_is_a_503_and_logged_with_plugin_and_time(start, caplog):
    registry = start(owner_plugin("block", budget=0.05), taking_part("sluggish", slow))
    with caplog.at_level(logging.WARNING, logger="shopcore.extensions"), pytest.raises(ServiceUnavailable):
        run(registry, 1)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "plugin 'sluggish'" in message and "scores.adjust" in message and "budget of 0.050 s" in message


def test_over_budget_under_proceed_discards_the_result(start, caplog):
    registry = start(owner_plugin("proceed", budget=0.05), taking_part("sluggish", slow))
    with caplog.at_level(logging.WARNING, logger="shopcore.extensions"):
        assert run(registry, 1) == [2]
    assert "plugin 'sluggish'" in caplog.records[0].getMessage()


@pytest.fixture
def hanging():
    """An implementation that hangs until the test ends (then it is let go)."""
    release = threading.Event()
    entered = threading.Event()

    def hang(request, value):
        entered.set()
        release.wait(timeout=60)
        return value * 1000

    hang.entered = entered
    yield hang
    release.set()


def test_an_interruptible_point_stops_waiting_for_a_hanging_call_at_its_budget(start, caplog, hanging):
    registry = start(owner_plugin("block", budget=0.2, interrupt=True), taking_part("stuck", hanging))
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="shopcore.extensions"), pytest.raises(ServiceUnavailable) as caught:
        run(registry, 1)
    elapsed = time.perf_counter() - started
    assert hanging.entered.is_set()
    # The request waited its budget, not the hang (60 s); generous headroom for a loaded machine.
    assert 0.2 <= elapsed < 5
    assert caught.value.detail == "Adjusting a score is temporarily unavailable; try again shortly."
    (record,) = caplog.records
    assert "plugin 'stuck'" in record.getMessage() and "no longer waiting" in record.getMessage()


def test_an_interruptible_point_under_proceed_goes_on_without_the_hanging_call(start, hanging):
    registry = start(owner_plugin("proceed", budget=0.2, interrupt=True), taking_part("stuck", hanging))
    assert run(registry, 1) == [2]


def test_an_interruptible_call_returns_its_result_or_its_decision(start):
    def refuse(request, value):
        raise Conflict("No more scores today.")

    registry = start(owner_plugin("block", interrupt=True), taking_part("quick", lambda request, value: value * 3))
    assert run(registry, 2) == [6, 3]
    registry = start(owner_plugin("proceed", interrupt=True), taking_part("strict", refuse))
    with pytest.raises(Conflict, match="No more scores today."):
        run(registry, 1)


def test_interruptible_calls_hanging_for_good_hold_a_bounded_number_of_threads(start, hanging):
    from shopcore.extensions import INTERRUPT_WORKERS

    registry = start(owner_plugin("proceed", budget=0.05, interrupt=True), taking_part("stuck", hanging))
    before = threading.active_count()
    results = [run(registry, 1) for _ in range(INTERRUPT_WORKERS + 4)]
    assert threading.active_count() - before <= INTERRUPT_WORKERS
    # Once every slot is held by a hung call, even the quick implementation cannot run: its result
    # is left out by the policy rather than the request waiting for a thread.
    assert results[0] == [2] and results[-1] == []


def test_adding_to_an_undeclared_point_stops_start_up_naming_the_plugin(start):
    def includeme(config):
        config.add_extension("nobody.declares_this", lambda request: None)

    with pytest.raises(PluginError, match=r"plugin 'lost' adds to extension point 'nobody.declares_this', "
                                          r"which no enabled plugin declares"):
        start(throwaway("lost", includeme))


def test_an_implementation_may_be_included_before_its_point(start):
    """The check runs at commit: a plugin included before the owner still finds the point."""
    def includeme(config):
        config.add_extension("scores.adjust", lambda request, value: value * 3)

    registry = start(throwaway("first", includeme), owner_plugin("block"))
    assert run(registry, 2) == [6, 3]


def test_two_plugins_declaring_one_point_stop_start_up(start):
    def includeme(config):
        config.add_extension_point("scores.adjust", doc="Mine")

    with pytest.raises(PluginError, match=r"plugins 'scores' and 'copycat' both register extension point "
                                          r"'scores.adjust'"):
        start(owner_plugin("block"), throwaway("copycat", includeme, requires=("scores",)))


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "nodot", "doc": "x"}, "must be '<owner plugin>.<point>'"),
    ({"name": "a.b", "doc": "x", "failure": "ignore"}, "failure must be one of block, proceed"),
    ({"name": "a.b", "doc": "x", "budget_seconds": 0}, "budget_seconds must be a positive number"),
    ({"name": "a.b", "doc": " "}, "doc must say what the point is for"),
    ({"name": "a.b", "doc": "x", "interrupt": "yes"}, "interrupt must be True or False"),
])
def test_a_badly_declared_point_names_the_plugin(start, kwargs, message):
    def includeme(config):
        config.add_extension_point(**kwargs)

    with pytest.raises(PluginError, match=rf"plugin 'odd' failed to configure: ConfigurationError: .*{message}"):
        start(throwaway("odd", includeme))


def test_running_an_undeclared_point_is_a_programming_error(start):
    registry = start(owner_plugin("block"))
    with pytest.raises(LookupError, match="extension point 'scores.nothing' is not declared"):
        run_extension_point(SimpleNamespace(registry=registry), "scores.nothing")


def test_the_shop_declares_its_points_with_their_owners(shopcore_registry, shopcore_plugins):
    owners = {"cart.price_adjustments": "cart", "orders.checkout_validators": "orders",
              "orders.order_placed": "orders", "orders.pay": "orders", "catalog.product_referenced": "catalog",
              "payments.providers": "payments"}
    for name, owner in owners.items():
        if owner in shopcore_plugins:
            point = extension_point(shopcore_registry, name)
            assert (point.owner, point.failure) == (owner, "block")


# --- points with an interface: one implementation chosen by key (contract 2.1) -------------------------

@runtime_checkable
class Greeter(Protocol):
    def greet(self, request, name: str) -> str: ...


class Polite:
    def greet(self, request, name: str) -> str:
        return f"Good day, {name}."


class Exploding:
    def greet(self, request, name: str) -> str:
        raise RuntimeError("secret-internal-detail")


def greeting_owner(failure="block", budget=1.0):
    def includeme(config):
        config.add_extension_point("greetings.greeters", doc="Greeting a visitor\nOne greeter, chosen by name.",
                                   interface=Greeter, failure=failure, budget_seconds=budget)

    return throwaway("greetings", includeme)


def greeter(plugin, implementation, key):
    def includeme(config):
        config.add_extension("greetings.greeters", implementation, key=key)

    return throwaway(plugin, includeme, requires=("greetings",))


def greet(registry, key, name="Ada"):
    request = SimpleNamespace(registry=registry)
    return call_extension(request, extension_for(registry, "greetings.greeters", key), name, method="greet")


def test_an_interface_point_calls_the_one_implementation_chosen_by_key(start):
    registry = start(greeting_owner(), greeter("polite", Polite(), "polite"), greeter("other", Polite(), "other"))
    assert greet(registry, "polite") == "Good day, Ada."
    assert extension_keys(registry, "greetings.greeters") == ["polite", "other"]
    assert [e.owner for e in extensions(registry, "greetings.greeters")] == ["polite", "other"]
    with pytest.raises(LookupError, match="has no implementation 'missing'"):
        extension_for(registry, "greetings.greeters", "missing")


def test_two_plugins_adding_one_key_stop_start_up_naming_both(start):
    with pytest.raises(PluginError, match=r"plugins 'first' and 'second' both register implementation 'polite' "
                                          r"of extension point 'greetings.greeters'"):
        start(greeting_owner(), greeter("first", Polite(), "polite"), greeter("second", Polite(), "polite"))


def test_an_implementation_not_providing_the_interface_stops_start_up(start):
    with pytest.raises(PluginError, match=r"plugin 'rude': extension 'rude' for 'greetings.greeters' does not "
                                          r"provide Greeter"):
        start(greeting_owner(), greeter("rude", object(), "rude"))


def test_an_interface_point_needs_keys_and_is_not_run_as_a_whole(start):
    with pytest.raises(PluginError, match=r"plugin 'nameless': extension for 'greetings.greeters' needs a key"):
        start(greeting_owner(), greeter("nameless", Polite(), None))
    registry = start(greeting_owner(), greeter("polite", Polite(), "polite"))
    with pytest.raises(TypeError, match="call one implementation with call_extension"):
        run_extension_point(SimpleNamespace(registry=registry), "greetings.greeters", "Ada")


def test_a_failing_chosen_implementation_gets_the_points_policy_and_is_logged_with_its_key(start, caplog):
    registry = start(greeting_owner(), greeter("flaky", Exploding(), "boom"))
    with caplog.at_level(logging.ERROR, logger="shopcore.extensions"), pytest.raises(ServiceUnavailable) as caught:
        greet(registry, "boom")
    assert caught.value.detail == "Greeting a visitor is temporarily unavailable; try again shortly."
    (record,) = caplog.records
    assert "plugin 'flaky' (boom.greet)" in record.getMessage()
    registry = start(greeting_owner(failure="proceed"), greeter("flaky", Exploding(), "boom"))
    assert greet(registry, "boom") is None


def test_call_extension_runs_one_implementation_of_a_plain_point_under_its_budget(start, caplog):
    registry = start(owner_plugin("block", budget=0.05), taking_part("sluggish", slow))
    first, second = extensions(registry, "scores.adjust")
    request = SimpleNamespace(registry=registry)
    assert call_extension(request, second, 2) == 3
    with caplog.at_level(logging.WARNING, logger="shopcore.extensions"), pytest.raises(ServiceUnavailable):
        call_extension(request, first, 2)
    assert "plugin 'sluggish'" in caplog.records[0].getMessage()
