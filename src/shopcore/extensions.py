"""Extension points: where a plugin takes part in another plugin's decision rather than reacts to an event.

The plugin that makes the decision declares the point, in its own `includeme`:

    config.add_extension_point("cart.price_adjustments", doc="...", budget_seconds=2, failure="block")

and calls it where the decision is made:

    results = run_extension_point(request, "cart.price_adjustments", snapshot)

Other plugins take part with `config.add_extension("cart.price_adjustments", implementation, order=0)`.
A point's name is `<owner plugin>.<point>`; declaring a name twice (two plugins, or one plugin twice)
and adding to a point nobody declared are start-up errors, both checked at commit so include order
does not matter.

Some points choose one implementation rather than ask them all (contract 2.1): a payment is taken
by the provider the customer picked. Such a point is declared with an `interface` (a
`runtime_checkable` Protocol); each implementation is an object providing it, added under a `key`
unique within the point (two plugins adding one key clash at start-up, both named), and the owner
calls one method of one implementation:

    config.add_extension_point("payments.providers", doc="...", interface=PaymentProvider, budget_seconds=30)
    config.add_extension("payments.providers", StripeProvider(...), key="stripe")        # another plugin
    call_extension(request, extension_for(request.registry, "payments.providers", "stripe"), payment,
                   method="create")

`call_extension` runs one implementation (any point's: the orders plugin asks its `orders.pay`
implementations one at a time until one takes the payment) under the same contract as below.

`run_extension_point` enforces the point's contract on every call:

- implementations run in `order` (lower first; ties keep include order); their results come back
  in that order;
- an implementation raising `shopcore.errors.ShopError` has made a decision (a 409 refusal, a 400)
  and the error propagates unchanged;
- any other exception is logged (logger `shopcore.extensions`, with the plugin's allow-list name);
  with `failure="block"` the request fails with a 503 whose detail names the point's purpose and
  nothing internal, with `failure="proceed"` that implementation's result is skipped;
- each call is timed; a call over `budget_seconds` is logged at WARNING (plugin, point, elapsed) and
  is then a failure under the same policy (503, or its result discarded).

A point declared with `interrupt=True` (the cart's shipping and tax quotes, which a third party may
answer by calling out to a remote service) does not wait past its budget: each call runs in one of a
small pool of worker threads while the request waits for it, and once `budget_seconds` have passed
the request stops waiting, logs the overrun and applies the policy. The abandoned call goes on in its
thread until it returns by itself (Python cannot stop a thread), its result discarded; the pool is
bounded (`INTERRUPT_WORKERS`), so implementations hanging for good make later calls time out (and
fail by the policy) instead of piling up threads. While it runs, the request is paused, so the call
may read through `request.dbsession`; it must not write, and a remote call it makes should carry a
timeout of its own shorter than the budget so that it gives its thread back.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from pyramid.exceptions import ConfigurationError

from shopcore.errors import ServiceUnavailable, ShopError
from shopcore.plugins import CORE_OWNER, PluginError, current_owner, describe_owner

log = logging.getLogger(__name__)

FAILURE_POLICIES = ("block", "proceed")
DEFAULT_BUDGET_SECONDS = 2.0
# Registry keys.
POINTS = "shopcore.extension_points"
IMPLEMENTATIONS = "shopcore.extensions"
# Points are registered before implementations whatever the include order (Pyramid runs actions by
# `order`, then in registration order), so an implementation can check its point exists.
POINT_ACTION_ORDER = -5
IMPLEMENTATION_ACTION_ORDER = 5
# Registry key of the slots of `interrupt=True` calls (a semaphore), made once per app at start-up.
INTERRUPT_POOL = "shopcore.extension_interrupt_slots"
# At most this many interruptible calls run at once per process (a hung one holds its slot).
INTERRUPT_WORKERS = 8


@dataclass(frozen=True)
class ExtensionPoint:
    """A declared point: its name, what it is for, its time budget and failure policy, its owner."""

    name: str
    doc: str
    budget_seconds: float
    failure: str
    owner: str
    interface: type | None = None
    interrupt: bool = False

    @property
    def summary(self) -> str:
        """The doc's first line, used (without anything internal) in the 503 a blocked point answers."""
        return self.doc.strip().splitlines()[0].rstrip(".")


class Extension(NamedTuple):
    """One implementation of a point (a tuple whose last item is the implementation)."""

    order: int
    sequence: int
    owner: str
    point: str
    key: str | None
    implementation: Any


def add_extension_point(config, name: str, *, doc: str, budget_seconds: float = DEFAULT_BUDGET_SECONDS,
                        failure: str = "block", interface: type | None = None, interrupt: bool = False) -> None:
    """Declare a decision point this plugin calls with `run_extension_point` (or `call_extension`).

    With `interface` (a `runtime_checkable` Protocol) the implementations are objects providing it,
    each added under a key, and the owner calls one of them with `call_extension(..., method=...)`.
    `interrupt=True`: calls run in worker threads and are abandoned at the budget (module docstring).
    """
    owner = current_owner(config)
    if not isinstance(name, str) or "." not in name.strip(".") or name != name.strip():
        raise ConfigurationError(f"extension point name {name!r} must be '<owner plugin>.<point>'")
    if failure not in FAILURE_POLICIES:
        raise ConfigurationError(f"extension point {name!r}: failure must be one of "
                                 f"{', '.join(FAILURE_POLICIES)}, got {failure!r}")
    if not isinstance(budget_seconds, (int, float)) or isinstance(budget_seconds, bool) or budget_seconds <= 0:
        raise ConfigurationError(f"extension point {name!r}: budget_seconds must be a positive number")
    if not isinstance(doc, str) or not doc.strip():
        raise ConfigurationError(f"extension point {name!r}: doc must say what the point is for")
    if interface is not None and not getattr(interface, "_is_runtime_protocol", False):
        raise ConfigurationError(f"extension point {name!r}: interface must be a runtime_checkable Protocol")
    if not isinstance(interrupt, bool):
        raise ConfigurationError(f"extension point {name!r}: interrupt must be True or False")
    point = ExtensionPoint(name, doc.strip(), float(budget_seconds), failure, owner, interface, interrupt)

    def register():
        config.registry.setdefault(POINTS, {})[name] = point
        if interrupt and INTERRUPT_POOL not in config.registry:
            config.registry[INTERRUPT_POOL] = threading.BoundedSemaphore(INTERRUPT_WORKERS)

    config.action(("shopcore.extension_point", name), register, order=POINT_ACTION_ORDER)


def add_extension(config, name: str, implementation: Any, order: int = 0, key: str | None = None) -> None:
    """Take part in a declared point; `implementation` is called with the point's arguments.

    `key` names the implementation within the point (a payment provider's name): two implementations
    with one key stop start-up naming both plugins. A point declared with an `interface` takes an
    object providing it (not a callable), and a key.
    """
    owner = current_owner(config)
    implementation = config.maybe_dotted(implementation)
    if key is not None and (not isinstance(key, str) or not key.strip() or key != key.strip()):
        raise ConfigurationError(f"extension for {name!r}: key must be a non-empty name, got {key!r}")

    def register():
        registry = config.registry
        points = registry.get(POINTS, {})
        if name not in points:
            declared = ", ".join(sorted(points)) or "none"
            raise PluginError(f"{describe_owner(owner)} adds to extension point {name!r}, which no enabled "
                              f"plugin declares (declared: {declared})")
        interface = points[name].interface
        if interface is None and not callable(implementation):
            raise PluginError(f"{describe_owner(owner)}: extension for {name!r} must be callable")
        if interface is not None:
            if key is None:
                raise PluginError(f"{describe_owner(owner)}: extension for {name!r} needs a key (the point "
                                  f"chooses one implementation by it)")
            if not isinstance(implementation, interface):
                raise PluginError(f"{describe_owner(owner)}: extension {key!r} for {name!r} does not provide "
                                  f"{interface.__qualname__}")
        entries = registry.setdefault(IMPLEMENTATIONS, {}).setdefault(name, [])
        entries.append(Extension(order, len(entries), owner, name, key, implementation))
        entries.sort(key=lambda entry: (entry.order, entry.sequence))

    config.action(("shopcore.extension", name, implementation), register, order=IMPLEMENTATION_ACTION_ORDER)
    if key is not None:
        # A second implementation under the same key is a clash Pyramid finds at the commit.
        config.action(("shopcore.extension_key", name, key), None)


def extension_point(registry, name: str) -> ExtensionPoint:
    try:
        return registry[POINTS][name]
    except KeyError:
        raise LookupError(f"extension point {name!r} is not declared") from None


def extensions(registry, name: str) -> list[Extension]:
    """The implementations of a declared point, in call order."""
    extension_point(registry, name)
    return list(registry.get(IMPLEMENTATIONS, {}).get(name, ()))


def extension_for(registry, name: str, key: str) -> Extension:
    """The implementation of `name` added under `key`; LookupError when there is none."""
    for extension in extensions(registry, name):
        if extension.key == key:
            return extension
    raise LookupError(f"extension point {name!r} has no implementation {key!r}")


def extension_keys(registry, name: str) -> list[str]:
    """The keys of the implementations of `name` that have one, in call order."""
    return [extension.key for extension in extensions(registry, name) if extension.key is not None]


_FAILED = object()


class BudgetSpent(Exception):
    """An interruptible call still running when its point's budget ran out."""


def _call_within_budget(request, point: ExtensionPoint, target: Callable, args: tuple, kwargs: dict):
    """The implementation's result, or its exception, if it answers within the budget; else `BudgetSpent`.

    The call runs in a daemon thread of its own (one that hangs for good must not keep a process from
    exiting), holding one of `INTERRUPT_WORKERS` slots until it returns.
    """
    deadline = time.monotonic() + point.budget_seconds
    slots: threading.BoundedSemaphore = request.registry[INTERRUPT_POOL]
    if not slots.acquire(timeout=point.budget_seconds):
        raise BudgetSpent()
    answered = threading.Event()
    outcome: dict = {}

    def call():
        try:
            outcome["result"] = target(request, *args, **kwargs)
        except BaseException as exc:  # handed to the waiting request, which applies the policy
            outcome["error"] = exc
        finally:
            slots.release()
            answered.set()

    threading.Thread(target=call, name=f"shopcore-extension-{point.name}", daemon=True).start()
    if not answered.wait(timeout=max(0.0, deadline - time.monotonic())):
        raise BudgetSpent()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _call(request, point: ExtensionPoint, extension: Extension, method: str | None, args, kwargs):
    """One implementation's answer under the point's policy, or `_FAILED` (policy `proceed`)."""
    what = extension.key if method is None else f"{extension.key}.{method}"
    label = f"{describe_owner(extension.owner)}{f' ({what})' if extension.key else ''}"
    started = time.perf_counter()
    try:
        target = extension.implementation if method is None else getattr(extension.implementation, method)
        if point.interrupt:
            result = _call_within_budget(request, point, target, args, kwargs)
        else:
            result = target(request, *args, **kwargs)
    except ShopError:
        raise
    except BudgetSpent:
        log.warning("extension of %s on point %s did not answer within its budget of %.3f s; no longer "
                    "waiting (policy %s) [request %s]", label, point.name, point.budget_seconds, point.failure,
                    request_id(request))
        _fail(point)
        return _FAILED
    except Exception:
        log.exception("extension of %s on point %s failed (policy %s) [request %s]",
                      label, point.name, point.failure, request_id(request))
        _fail(point)
        return _FAILED
    elapsed = time.perf_counter() - started
    if elapsed > point.budget_seconds:
        log.warning("extension of %s on point %s took %.3f s, over its budget of %.3f s (policy %s) [request %s]",
                    label, point.name, elapsed, point.budget_seconds, point.failure, request_id(request))
        _fail(point)
        return _FAILED
    return result


def call_extension(request, extension: Extension, *args: Any, method: str | None = None, **kwargs: Any) -> Any:
    """Call one implementation (`extension`, from `extensions` or `extension_for`) with `(request, *args)`,
    or its `method` for a point with an interface, under the point's budget and failure policy.

    A `ShopError` it raises propagates; another failure or a budget overrun is logged with the plugin's
    name and is the point's 503 (`block`) or gives None (`proceed`).
    """
    point = extension_point(request.registry, extension.point)
    result = _call(request, point, extension, method, args, kwargs)
    return None if result is _FAILED else result


def run_extension_point(request, name: str, *args: Any) -> list:
    """Call every implementation of `name` with `(request, *args)`; their results, in order.

    Failures and budget overruns are handled by the point's policy (see the module docstring).
    """
    point = extension_point(request.registry, name)
    if point.interface is not None:
        raise TypeError(f"extension point {name!r} has an interface: call one implementation with call_extension")
    results = []
    for extension in extensions(request.registry, name):
        result = _call(request, point, extension, None, args, {})
        if result is not _FAILED:
            results.append(result)
    return results


def request_id(request) -> str:
    return getattr(request, "environ", {}).get("shopcore.request_id", "-")


def _fail(point: ExtensionPoint) -> None:
    if point.failure == "block":
        raise ServiceUnavailable(f"{point.summary} is temporarily unavailable; try again shortly.",
                                 headers={"Retry-After": "5"})


def includeme(config) -> None:
    config.add_directive("add_extension_point", add_extension_point, action_wrap=True)
    config.add_directive("add_extension", add_extension, action_wrap=True)


__all__ = ["Extension", "ExtensionPoint", "add_extension", "add_extension_point", "call_extension", "extension_for",
           "extension_keys", "extension_point", "extensions", "run_extension_point"]
