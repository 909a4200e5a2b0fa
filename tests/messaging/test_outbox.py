"""The outbox without a broker: jobs run in process after commit, never on rollback, once per id."""
import datetime

import pytest
from pyramid.exceptions import ConfigurationError
from sqlalchemy import select

from shopcore.messaging import PermanentJobError, UnknownJobKind
from shopcore.messaging.commands import JobCommands
from shopcore.messaging.models import DONE, FAILED, PENDING, OutboxMessage, utcnow
from shopcore.messaging.outbox import outbox_status, requeue_failed
from shopcore.messaging.processing import Outcome, process_job
from shopcore.messaging.relay import relay_once
from shopcore.testing.messaging import wait_until
from shopcore.settings import SettingsError
from shopcore.testing import request_context


class Recorder:
    """A job handler that records its calls and fails while told to."""

    def __init__(self, failures: int = 0, error: type[Exception] = RuntimeError):
        self.calls = []
        self.failures = failures
        self.error = error

    def __call__(self, registry, job):
        self.calls.append(job)
        if self.failures:
            self.failures -= 1
            raise self.error(f"refused (attempt {job.attempt})")


def app_with(messaging_app, handler, scrub=False, **settings):
    return messaging_app(configure=lambda config: config.add_job_handler("test.echo", handler, scrub_payload=scrub),
                         **{"shopcore.plugins": "", **settings})


def rows(registry):
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def test_a_committed_job_runs_after_commit_once(messaging_app):
    handler = Recorder()
    registry = app_with(messaging_app, handler)
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {"n": 1})
        assert handler.calls == []  # nothing runs before the commit
    assert [(job.id, job.payload, job.attempt) for job in handler.calls] == [(message_id, {"n": 1}, 1)]
    [row] = rows(registry)
    assert (str(row.id), row.status, row.attempts) == (message_id, DONE, 1)

    # A second delivery of the same id does nothing.
    assert process_job(registry, message_id).outcome is Outcome.SKIPPED
    assert len(handler.calls) == 1


def test_a_rolled_back_job_never_runs_and_leaves_no_row(messaging_app):
    handler = Recorder()
    registry = app_with(messaging_app, handler)
    with pytest.raises(RuntimeError, match="checkout failed"):
        with request_context(registry) as request:
            request.enqueue_job("test.echo", {"n": 1})
            raise RuntimeError("checkout failed")
    assert handler.calls == []
    assert rows(registry) == []


def test_unknown_kinds_and_non_json_payloads_are_refused_at_once(messaging_app):
    registry = app_with(messaging_app, Recorder())
    with pytest.raises(UnknownJobKind, match="test.nope"):
        with request_context(registry) as request:
            request.enqueue_job("test.nope", {})
    with pytest.raises(TypeError, match="must be JSON"):
        with request_context(registry) as request:
            request.enqueue_job("test.echo", {"when": datetime.date.today()})
    assert rows(registry) == []


def test_failures_are_retried_with_backoff_until_done(messaging_app):
    handler = Recorder(failures=2)
    registry = app_with(messaging_app, handler, **{"shopcore.messaging.retry_base": "0.2",
                                                   "shopcore.messaging.retry_max": "10"})
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {})
    [row] = rows(registry)
    assert (row.status, row.attempts, row.last_error) == (PENDING, 1, "RuntimeError: refused (attempt 1)")
    first_delay = (row.available_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    assert 0 < first_delay <= 0.2

    # Not due yet: neither the relay nor a stray copy of the message runs it early.
    assert relay_once(registry).handed_over == 0
    assert process_job(registry, message_id).outcome is Outcome.SKIPPED
    assert len(handler.calls) == 1

    wait_until(lambda: relay_once(registry).handed_over, timeout=2, what="the first retry")
    [row] = rows(registry)
    assert (row.status, row.attempts) == (PENDING, 2)
    second_delay = (row.available_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    assert 0.2 < second_delay <= 0.4  # doubled

    wait_until(lambda: relay_once(registry).handed_over, timeout=2, what="the second retry")
    [row] = rows(registry)
    assert (row.status, row.attempts, row.last_error) == (DONE, 3, None)
    assert [job.attempt for job in handler.calls] == [1, 2, 3]


def test_the_last_failure_marks_the_job_failed_and_retry_requeues_it(messaging_app, capsys):
    handler = Recorder(failures=3)
    registry = app_with(messaging_app, handler, **{"shopcore.messaging.max_attempts": "3"})
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {"n": 7})
    run_until_settled(registry)
    [row] = rows(registry)
    assert (row.status, row.attempts, row.last_error) == (FAILED, 3, "RuntimeError: refused (attempt 3)")

    commands = JobCommands("jobs", "", "done")
    env = {"registry": registry}
    commands.failed(env, None)
    listed = capsys.readouterr().out
    assert message_id in listed and "attempts 3" in listed and "refused (attempt 3)" in listed

    requeued = requeue_failed(registry, [message_id])
    assert [m.id for m in requeued] == [message_id]
    [row] = rows(registry)
    assert (row.status, row.attempts) == (DONE, 1)
    assert len(handler.calls) == 4


def run_until_settled(registry, timeout: float = 5) -> None:
    """Relay passes (which run due retries in process) until no job is pending."""
    def settled():
        relay_once(registry)
        return not any(row.status == PENDING for row in rows(registry))

    wait_until(settled, timeout=timeout, what="every job to finish or fail")


def test_a_permanent_error_fails_the_job_at_once(messaging_app):
    handler = Recorder(failures=1, error=PermanentJobError)
    registry = app_with(messaging_app, handler)
    with request_context(registry) as request:
        request.enqueue_job("test.echo", {})
    [row] = rows(registry)
    assert (row.status, row.attempts) == (FAILED, 1)
    assert row.last_error.startswith("PermanentJobError")


def test_a_scrubbed_payload_is_emptied_once_done(messaging_app):
    handler = Recorder()
    registry = app_with(messaging_app, handler, scrub=True)
    with request_context(registry) as request:
        request.enqueue_job("test.echo", {"token": "secret"})
    assert handler.calls[0].payload == {"token": "secret"}
    assert rows(registry)[0].payload == {}


def test_status_counts_jobs_and_the_oldest_pending_age(messaging_app, capsys):
    handler = Recorder(failures=1, error=PermanentJobError)
    registry = app_with(messaging_app, handler, **{"shopcore.messaging.retry_base": "60"})
    for _ in range(3):
        with request_context(registry) as request:
            request.enqueue_job("test.echo", {})
    # The first one failed for good; make the others wait (as if the broker was away).
    handler.failures, handler.error = 2, RuntimeError
    with request_context(registry) as request:
        request.enqueue_job("test.echo", {})
        request.enqueue_job("test.echo", {})
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        oldest = session.scalars(select(OutboxMessage).where(OutboxMessage.status == PENDING)).first()
        oldest.created_at = utcnow() - datetime.timedelta(seconds=90)
    status = outbox_status(registry)
    assert (status.pending, status.done, status.failed) == (2, 2, 1)
    assert 89 <= status.oldest_pending_age < 100

    JobCommands("jobs", "", "done").status({"registry": registry}, None)
    out = capsys.readouterr().out
    assert "pending: 2 (0 published, 2 waiting for the broker or a retry)" in out
    assert "done: 2" in out and "failed: 1" in out
    assert "oldest pending age: 9" in out


def test_bad_messaging_settings_stop_start_up_naming_the_setting(messaging_app):
    with pytest.raises(SettingsError, match="shopcore.messaging.max_attempts"):
        messaging_app(**{"shopcore.plugins": "", "shopcore.messaging.max_attempts": "0"})


def test_a_kind_has_one_handler(messaging_app):
    def configure(config):
        config.add_job_handler("test.echo", Recorder())
        config.commit()
        config.add_job_handler("test.echo", Recorder())

    with pytest.raises(ConfigurationError, match="test.echo"):
        messaging_app(configure=configure, **{"shopcore.plugins": ""})


@pytest.mark.postgresql_only  # row locks are PostgreSQL's; SQLite runs one writer at a time
def test_marking_published_does_not_wait_for_a_worker_holding_the_row(messaging_app, shopcore_engine):
    """The web side's after-commit update skips a row a worker has locked (sending its mail) instead of
    making the response wait for that SMTP conversation."""
    import threading
    import time

    from shopcore.messaging.broker import JobMessage
    from shopcore.messaging.outbox import mark_published

    registry = app_with(messaging_app, Recorder(failures=1, error=PermanentJobError))
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {})
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        row = session.get(OutboxMessage, rows(registry)[0].id, with_for_update=True)
        row.status = PENDING
        session.flush()
        done = threading.Event()
        started = time.monotonic()
        worker = threading.Thread(target=lambda: (mark_published(registry, [JobMessage(message_id, "test.echo", 1)]),
                                                  done.set()))
        worker.start()
        assert done.wait(5), "mark_published waited for the lock"
        elapsed = time.monotonic() - started
        worker.join(5)
    assert elapsed < 1
    assert rows(registry)[0].status == PENDING  # left to the lock holder


def test_without_a_broker_the_worker_runs_due_retries_in_process(messaging_app):
    from shopcore.testing.messaging import WorkerThread

    handler = Recorder(failures=1)
    registry = app_with(messaging_app, handler)
    with request_context(registry) as request:
        request.enqueue_job("test.echo", {})
    assert rows(registry)[0].status == PENDING  # the first try, right after commit, failed
    with WorkerThread(registry):
        wait_until(lambda: rows(registry)[0].status == DONE, timeout=5, what="the retry")
    assert [job.attempt for job in handler.calls] == [1, 2]


def test_finished_jobs_are_purged_after_the_retention_period(messaging_app):
    from shopcore.messaging.outbox import purge_finished

    registry = app_with(messaging_app, Recorder())
    for _ in range(2):
        with request_context(registry) as request:
            request.enqueue_job("test.echo", {})
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        old = session.scalars(select(OutboxMessage)).first()
        old.processed_at = utcnow() - datetime.timedelta(days=8)
        old_id = old.id
    assert purge_finished(registry, keep_days=7) == 1
    assert old_id not in {row.id for row in rows(registry)} and len(rows(registry)) == 1


def test_retry_refuses_what_is_not_a_job_id(messaging_app, capsys):
    registry = app_with(messaging_app, Recorder())
    args = type("Args", (), {"ids": ["not-an-id"], "all": False})()
    assert JobCommands("jobs", "", "done").retry({"registry": registry}, args) == 2
    assert "'not-an-id' is not a job id" in capsys.readouterr().err


def test_a_handler_with_a_request_writes_in_the_jobs_transaction(messaging_app):
    """What a `with_request` handler writes (here: a follow-up job) commits with the job's `done`, is
    dispatched after that commit, and goes with a failed attempt, whose count stays. On SQLite this
    also proves the handler does not wait on the job's own write lock."""
    follow_up = Recorder()
    attempts = []

    def chain(request, job):
        attempts.append(job.attempt)
        request.enqueue_job("test.echo", {"after": job.payload["n"]})
        if job.attempt == 1:
            raise RuntimeError("first attempt fails after writing")

    def configure(config):
        config.add_job_handler("test.echo", follow_up)
        config.add_job_handler("test.chain", chain, with_request=True)

    registry = messaging_app(configure=configure, **{"shopcore.plugins": "", "shopcore.messaging.retry_base": "60"})
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.chain", {"n": 7})

    [row] = rows(registry)
    assert (row.status, row.attempts, follow_up.calls) == (PENDING, 1, [])

    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        session.get(OutboxMessage, row.id).available_at = utcnow()
    assert process_job(registry, message_id).outcome is Outcome.DONE

    assert attempts == [1, 2]
    assert [job.payload for job in follow_up.calls] == [{"after": 7}]
    assert sorted((item.kind, item.status) for item in rows(registry)) == [("test.chain", DONE), ("test.echo", DONE)]
