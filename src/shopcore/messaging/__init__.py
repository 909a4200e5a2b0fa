"""Messaging: background jobs through a transactional outbox, a Kombu broker and `shopcore-worker`.

A plugin registers a handler per job kind and enqueues jobs in a request's transaction:

    config.add_job_handler("mail.welcome", send_mail)          # handler(registry, job)
    request.enqueue_job("mail.welcome", {"to": ..., ...})      # -> message id

The row commits or rolls back with the request. After commit it is published to the durable queue
`shopcore.messaging.queue` on `shopcore.broker_url` (RabbitMQ or Redis) and the worker runs it; with
no broker the job runs in process right after the commit. A handler that raises is retried with
exponential backoff; raising `PermanentJobError` (or failing the last attempt) dead-letters the job.

A handler registered with `with_request=True` is called as `handler(request, job)` instead: the
request's `dbsession` is the job's own transaction, so what the handler writes (rows, events, the jobs
it enqueues) commits together with the job being marked done, or rolls back if it raises.

A kind may have a queue of its own and its own retry policy, so a flood of it (webhook deliveries)
neither waits behind nor delays the mail, and workers can be given to it alone:

    config.add_job_handler("apps.webhook", deliver, queue="webhooks", concurrency=16,
                           retry=RetryPolicy(max_attempts=10, base=60, cap=10800, jitter=0.25))

Its jobs go to `<shopcore.messaging.queue>.webhooks` (dead letters to `<that>.dead`) and are always run
by a worker, never inside the request that enqueued them (without a broker, by the worker's relay).
With `concurrency` a worker runs that many of them at once in threads (each acked by the consuming
thread once its result is committed), so one slow receiver does not hold up the rest.

Periodic work (expiring unpaid orders, ...) runs in the same worker, with no scheduler to deploy:

    config.add_periodic_task("orders.expire", expire_orders, interval=60)   # task(registry)

Every worker runs every task, once when it starts and then every `interval` seconds; a task must
therefore be safe to run in several workers at once (conditional updates, as the outbox's).
"""
from __future__ import annotations

import re
from typing import Callable

from pyramid.exceptions import ConfigurationError

from shopcore.messaging.commands import add_job_commands
from shopcore.messaging.options import MESSAGING_SETTINGS, PREFIX, parse_options
from shopcore.messaging.outbox import HANDLERS, OPTIONS, PUBLISHER, UnknownJobKind, enqueue_job
from shopcore.messaging.state import PERIODIC_TASKS
from shopcore.messaging.options import RetryPolicy
from shopcore.messaging.processing import Job, JobHandler, PermanentJobError, RetryJob

__all__ = ["Job", "PermanentJobError", "RetryJob", "RetryPolicy", "UnknownJobKind", "add_job_commands", "queue_names"]

QUEUE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


def add_job_handler(config, kind: str, handler: Callable, scrub_payload: bool = False,
                    with_request: bool = False, queue: str = "", retry: RetryPolicy | None = None,
                    concurrency: int = 1) -> None:
    """Register `handler(registry, job)` for jobs of `kind`; `scrub_payload` empties the stored payload
    once the job is done (for payloads holding secrets); `with_request` calls `handler(request, job)`
    with a request whose database session and transaction are the job's; `queue` gives the kind a
    queue of its own (`<shopcore.messaging.queue>.<queue>`, always run by a worker); `retry` its own
    tries and waits instead of the messaging settings'; `concurrency` how many jobs of that queue one
    worker runs at once, in threads (only with a queue of its own; 1 on SQLite, which writes one at a time)."""
    handler = config.maybe_dotted(handler)
    if not kind or not isinstance(kind, str):
        raise ConfigurationError(f"job kind must be a non-empty string, got {kind!r}")
    if not callable(handler):
        raise ConfigurationError(f"job handler for {kind!r} is not callable")
    if queue and not (isinstance(queue, str) and QUEUE_PATTERN.match(queue)):
        raise ConfigurationError(f"job kind {kind!r}: queue must be lower-case letters, digits, - or _, got {queue!r}")
    if not isinstance(concurrency, int) or concurrency < 1 or (concurrency > 1 and not queue):
        raise ConfigurationError(f"job kind {kind!r}: concurrency must be a whole number from 1, and above 1 only "
                                 f"with a queue of its own, got {concurrency!r}")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"job kind {kind!r}: retry must be a shopcore.messaging.RetryPolicy")

    def register():
        handlers = config.registry.setdefault(HANDLERS, {})
        if kind in handlers:
            raise ConfigurationError(f"job kind {kind!r} already has a handler ({handlers[kind].handler!r})")
        handlers[kind] = JobHandler(handler, scrub_payload, with_request, queue, retry, concurrency)

    config.action(("shopcore.job_handler", kind), register)


def add_periodic_task(config, name: str, task: Callable, interval: float) -> None:
    """Have `shopcore-worker` call `task(registry)` every `interval` seconds (a failure is logged, and
    the task runs again at its next turn)."""
    task = config.maybe_dotted(task)
    if not name or not isinstance(name, str):
        raise ConfigurationError(f"periodic task name must be a non-empty string, got {name!r}")
    if not callable(task):
        raise ConfigurationError(f"periodic task {name!r} is not callable")
    if not isinstance(interval, (int, float)) or not interval > 0:
        raise ConfigurationError(f"periodic task {name!r}: interval must be a positive number, got {interval!r}")

    def register():
        tasks = config.registry.setdefault(PERIODIC_TASKS, {})
        tasks[name] = (task, float(interval))

    config.action(("shopcore.periodic_task", name), register)


def queue_names(registry) -> list[str]:
    """Every broker queue jobs go to: the shared one first, then each kind's own, as the worker consumes them."""
    options = registry[OPTIONS]
    own = sorted({handler.queue for handler in registry.get(HANDLERS, {}).values() if handler.queue})
    return [options.queue_name(name) for name in ("", *own)]


def queue_concurrency(registry, name: str) -> int:
    """How many jobs of the broker queue `name` one worker runs at once."""
    options = registry[OPTIONS]
    return max([handler.concurrency for handler in registry.get(HANDLERS, {}).values()
                if handler.queue and options.queue_name(handler.queue) == name], default=1)


def includeme(config) -> None:
    from shopcore.messaging import models  # noqa: F401  (the outbox table joins Base.metadata)
    from shopcore.messaging.broker import Publisher

    config.add_settings_table(PREFIX, MESSAGING_SETTINGS)
    options = parse_options(config.get_settings())
    config.registry[OPTIONS] = options
    handlers = config.registry.setdefault(HANDLERS, {})
    if PUBLISHER not in config.registry:
        registry = config.registry

        def queue_of(kind: str) -> str:
            registration = handlers.get(kind)
            return options.queue_name(registration.queue if registration is not None else "")

        config.registry[PUBLISHER] = (Publisher(options, queue_of, lambda: queue_names(registry))
                                      if options.broker_url else None)
    config.add_directive("add_job_handler", add_job_handler)
    config.add_directive("add_periodic_task", add_periodic_task)
    config.add_request_method(enqueue_job, "enqueue_job")
    add_job_commands(config, "jobs")
