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
"""
from __future__ import annotations

from typing import Callable

from pyramid.exceptions import ConfigurationError

from shopcore.messaging.commands import add_job_commands
from shopcore.messaging.options import MESSAGING_SETTINGS, PREFIX, parse_options
from shopcore.messaging.outbox import HANDLERS, OPTIONS, PUBLISHER, UnknownJobKind, enqueue_job
from shopcore.messaging.processing import Job, JobHandler, PermanentJobError

__all__ = ["Job", "PermanentJobError", "UnknownJobKind", "add_job_commands"]


def add_job_handler(config, kind: str, handler: Callable, scrub_payload: bool = False,
                    with_request: bool = False) -> None:
    """Register `handler(registry, job)` for jobs of `kind`; `scrub_payload` empties the stored payload
    once the job is done (for payloads holding secrets); `with_request` calls `handler(request, job)`
    with a request whose database session and transaction are the job's."""
    handler = config.maybe_dotted(handler)
    if not kind or not isinstance(kind, str):
        raise ConfigurationError(f"job kind must be a non-empty string, got {kind!r}")
    if not callable(handler):
        raise ConfigurationError(f"job handler for {kind!r} is not callable")

    def register():
        handlers = config.registry.setdefault(HANDLERS, {})
        if kind in handlers:
            raise ConfigurationError(f"job kind {kind!r} already has a handler ({handlers[kind].handler!r})")
        handlers[kind] = JobHandler(handler, scrub_payload, with_request)

    config.action(("shopcore.job_handler", kind), register)


def includeme(config) -> None:
    from shopcore.messaging import models  # noqa: F401  (the outbox table joins Base.metadata)
    from shopcore.messaging.broker import Publisher

    config.add_settings_table(PREFIX, MESSAGING_SETTINGS)
    options = parse_options(config.get_settings())
    config.registry[OPTIONS] = options
    if PUBLISHER not in config.registry:
        config.registry[PUBLISHER] = Publisher(options) if options.broker_url else None
    config.registry.setdefault(HANDLERS, {})
    config.add_directive("add_job_handler", add_job_handler)
    config.add_request_method(enqueue_job, "enqueue_job")
    add_job_commands(config, "jobs")
