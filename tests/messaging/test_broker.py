"""The outbox with a real broker (RabbitMQ and Redis): publish after commit, relay, worker, dead letters."""
import time

from kombu import Connection
from sqlalchemy import select, update

from shopcore.messaging.broker import JobMessage, durable_queue
from shopcore.messaging.models import DONE, FAILED, PENDING, PUBLISHED, OutboxMessage, utcnow
from shopcore.messaging.outbox import dispatch, requeue_failed
from shopcore.messaging.relay import relay_once
from shopcore.testing.messaging import WorkerThread, wait_until
from shopcore.testing import request_context

DEAD_BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:1//", "redis": "redis://127.0.0.1:1/0"}


class Recorder:
    def __init__(self, failures: int = 0):
        self.calls = []
        self.failures = failures

    def __call__(self, registry, job):
        self.calls.append(job)
        if self.failures:
            self.failures -= 1
            raise RuntimeError(f"refused (attempt {job.attempt})")


def app_with(messaging_app, handler, broker_url, **settings):
    return messaging_app(configure=lambda config: config.add_job_handler("test.echo", handler),
                         **{"shopcore.plugins": "", "shopcore.broker_url": broker_url, **settings})


def rows(registry):
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def queue_length(url: str, name: str) -> int:
    with Connection(url, connect_timeout=2) as connection:
        _name, count, _consumers = durable_queue(name)(connection.default_channel).queue_declare()
        return count


def dead_letters(url: str, name: str) -> list[dict]:
    """The dead letters' bodies, left in the queue."""
    bodies = []
    with Connection(url, connect_timeout=2) as connection:
        queue = durable_queue(f"{name}.dead")(connection.default_channel)
        while (message := queue.get(no_ack=False, accept=["json"])) is not None:
            bodies.append(message.payload)
    return bodies


def test_a_committed_job_is_published_then_run_once_by_the_worker(messaging_app, broker_url, unique_queue):
    handler = Recorder()
    registry = app_with(messaging_app, handler, broker_url)
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {"n": 1})
    [row] = rows(registry)
    assert (row.status, row.attempts) == (PUBLISHED, 0)
    assert handler.calls == []  # the web process only publishes
    assert queue_length(broker_url, unique_queue) == 1

    with WorkerThread(registry):
        wait_until(lambda: rows(registry)[0].status == DONE, what="the worker to run the job")
    assert [(job.id, job.payload) for job in handler.calls] == [(message_id, {"n": 1})]
    assert queue_length(broker_url, unique_queue) == 0


def test_a_redelivered_message_does_nothing_twice(messaging_app, broker_url, unique_queue):
    handler = Recorder()
    registry = app_with(messaging_app, handler, broker_url)
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {})
    # The same message twice more, as a broker redelivery or a second relay would.
    dispatch(registry, [JobMessage(message_id, "test.echo", 0), JobMessage(message_id, "test.echo", 0)])
    assert queue_length(broker_url, unique_queue) == 3
    with WorkerThread(registry) as worker:
        wait_until(lambda: worker.handled == 3, what="three deliveries")
    assert len(handler.calls) == 1
    assert queue_length(broker_url, unique_queue) == 0


def test_with_the_broker_down_the_request_commits_and_the_relay_publishes_later(
        messaging_app, broker_url, unique_queue, request):
    handler = Recorder()
    dead = DEAD_BROKERS[request.node.callspec.params["broker_url"]]
    web = app_with(messaging_app, handler, dead)
    started = time.monotonic()
    with request_context(web) as web_request:
        web_request.enqueue_job("test.echo", {"order": 1})
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"a dead broker held the request for {elapsed:.2f} s"
    [row] = rows(web)
    assert row.status == PENDING  # committed, waiting for the broker

    assert relay_once(web).left == 1  # still down: nothing lost, nothing published

    # The broker is back (the worker's configuration reaches it): its relay publishes, it runs the job.
    worker_app = app_with(messaging_app, handler, broker_url)
    with WorkerThread(worker_app):
        wait_until(lambda: rows(web)[0].status == DONE, what="the relayed job to run")
    assert len(handler.calls) == 1
    print(f"request with the broker down took {elapsed * 1000:.0f} ms")


def test_failures_back_off_then_go_to_the_dead_letter_queue_and_can_be_retried(
        messaging_app, broker_url, unique_queue):
    handler = Recorder(failures=3)
    registry = app_with(messaging_app, handler, broker_url, **{"shopcore.messaging.max_attempts": "3"})
    with request_context(registry) as request:
        message_id = request.enqueue_job("test.echo", {})
    with WorkerThread(registry):
        wait_until(lambda: rows(registry)[0].status == FAILED, what="the job to be dead-lettered")
        [row] = rows(registry)
        assert (row.attempts, row.last_error) == (3, "RuntimeError: refused (attempt 3)")
        [letter] = wait_until(lambda: dead_letters(broker_url, unique_queue), what="the dead letter")
        assert letter == {"id": message_id, "kind": "test.echo", "attempts": 3,
                          "error": "RuntimeError: refused (attempt 3)"}
        assert [job.attempt for job in handler.calls] == [1, 2, 3]

        requeue_failed(registry, [message_id])
        wait_until(lambda: rows(registry)[0].status == DONE, what="the retried job")
        # The worker's relay may have seen the requeued row pending before requeue_failed marked it
        # published, and published it too: that copy finds the job done and is only acked. Wait for it.
        wait_until(lambda: queue_length(broker_url, unique_queue) == 0, what="the queue to drain")
    assert len(handler.calls) == 4
    assert dead_letters(broker_url, unique_queue) == []


def test_a_published_job_no_worker_finished_is_published_again(messaging_app, broker_url, unique_queue):
    handler = Recorder()
    registry = app_with(messaging_app, handler, broker_url, **{"shopcore.messaging.redeliver_after": "60"})
    with request_context(registry) as request:
        request.enqueue_job("test.echo", {})
    # The broker lost the message (purged here), and the row says it was published long ago.
    with Connection(broker_url, connect_timeout=2) as connection:
        durable_queue(unique_queue)(connection.default_channel).purge()
    assert relay_once(registry).handed_over == 0  # not stale yet
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        session.execute(update(OutboxMessage).values(published_at=utcnow().replace(year=2000)))
    assert relay_once(registry).handed_over == 1
    with WorkerThread(registry):
        wait_until(lambda: rows(registry)[0].status == DONE, what="the republished job")
    assert len(handler.calls) == 1


def test_a_broker_that_swallows_connections_costs_one_request_a_bounded_wait(messaging_app):
    """A listening socket that never answers (a hung broker): the first request waits at most about the
    publish timeout, the next ones do not try until the pause is over; the relay publishes later."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        handler = Recorder()
        registry = app_with(messaging_app, handler, f"amqp://guest:guest@127.0.0.1:{port}//",
                            **{"shopcore.messaging.publish_timeout": "0.5", "shopcore.messaging.broker_pause": "30"})
        timings = []
        for n in range(3):
            started = time.monotonic()
            with request_context(registry) as request:
                request.enqueue_job("test.echo", {"n": n})
            timings.append(time.monotonic() - started)
    assert timings[0] < 3, timings
    assert max(timings[1:]) < 0.2, timings
    assert [row.status for row in rows(registry)] == [PENDING] * 3
    print("requests against a hung broker took " + ", ".join(f"{t * 1000:.0f} ms" for t in timings))
