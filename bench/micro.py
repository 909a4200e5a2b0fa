"""In-process timings: the time one request takes through the WSGI app, per scenario of `make bench`.

Where `make bench` drives gunicorn with wrk (and so measures the machine as much as the app), this
calls the WSGI app of production settings directly, one request at a time, on PostgreSQL and Redis,
and reports the median time per request and its ratio to the bare-Pyramid ceiling app
(bench/ceiling.py) timed in the same run. On a machine shared with other work it is the steadier
before/after measure: no sockets, no worker scheduling, and each scenario's median over many
alternating rounds.

    .venv/bin/python bench/micro.py --database shopcore_perf_micro --redis redis://127.0.0.1:6379/5

Each scenario also reports the SQL statements and Redis round trips one request sends, and the
checkout's stock lock hold time (from the stock UPDATE to the end of the commit) is reported apart.
It creates (and drops, unless --keep) its database and flushes its Redis database.
`--profile-tweens` also times each tween on the cached product list, in wall and CPU time (see
bench/README.md).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import webtest

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="shopcore_micro")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per scenario")
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile-tweens", action="store_true")
    parser.add_argument("--json", help="write the results here too")
    return parser.parse_args(argv)


def create_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def make_shop(database_url: str, redis_url: str, workdir: str):
    from shopcore import make_configurator

    settings = {
        "shopcore.env": "production", "shopcore.secret": "micro-bench-secret-" + "x" * 40,
        # As in `make bench`, mail jobs are published to Redis as the broker (no worker runs).
        "sqlalchemy.url": database_url, "shopcore.redis_url": redis_url, "shopcore.broker_url": redis_url,
        "shopcore.mail.backend": "file", "shopcore.mail.dir": f"{workdir}/mail",
        "shopcore.openapi.validate_responses": "false", "shopcore.log.format": "json",
        "shopcore.accounts.argon2.time_cost": "1", "shopcore.accounts.argon2.memory_cost": "8192",
        "shopcore.accounts.argon2.parallelism": "1",
        # As in `make bench`: one customer checks out hundreds of times without paying.
        "shopcore.orders.rate.checkout_user": "100000000/hour",
        "shopcore.orders.max_pending_quantity": "2000000000",
    }
    return make_configurator(settings, environ={})


def ceiling_app():
    spec = importlib.util.spec_from_file_location("bench_ceiling", REPO / "bench" / "ceiling.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ceiling"] = module  # Pyramid looks its caller's package up there
    spec.loader.exec_module(module)
    return webtest.TestApp(module.main({}))


def seed(registry, products: int) -> None:
    from pyramid.scripting import prepare

    from shopcore.migrate import upgrade
    from shopcore_catalog.demo import seed_demo

    upgrade(registry)
    env = prepare(registry=registry)
    try:
        seed_demo(env["request"], products, progress=False)
    finally:
        env["closer"]()


CPU: dict[str, list[float]] = {}
# What one request of each scenario sends: SQL statements and Redis round trips (writes of a
# command or a whole pipeline), counted during the timed calls.
COUNTS = {"statements": 0, "redis_round_trips": 0}
PER_REQUEST: dict[str, dict[str, float]] = {}


# Checkout's stock lock: from the conditional UPDATE of the products' stock (which row-locks them
# on PostgreSQL) to the end of the transaction's commit, in ms, one entry per transaction.
STOCK_LOCK = {"since": None, "held_ms": []}


def count_statements_and_round_trips(engine) -> None:
    import redis.connection
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_connection, _cursor, statement, *_args) -> None:
        COUNTS["statements"] += 1
        if STOCK_LOCK["since"] is None and statement.startswith("UPDATE catalog_products SET stock"):
            STOCK_LOCK["since"] = time.perf_counter()

    @event.listens_for(Session, "after_commit")
    def _committed(_session) -> None:
        if STOCK_LOCK["since"] is not None:
            STOCK_LOCK["held_ms"].append((time.perf_counter() - STOCK_LOCK["since"]) * 1000)
        STOCK_LOCK["since"] = None

    @event.listens_for(Session, "after_rollback")
    def _rolled_back(_session) -> None:
        STOCK_LOCK["since"] = None

    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self, command, check_health=True):
        COUNTS["redis_round_trips"] += 1
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = send_packed_command


class Scenario:
    """A timed request, with `prepare(index)` run before each one outside the timing (a checkout's cart)."""

    def __init__(self, call, prepare=None):
        self.call, self.prepare = call, prepare


def per_request(scenario, count: int, name: str | None = None) -> float:
    """Wall time per request; the process's CPU time per request goes to CPU[name] (waits on the
    database and Redis left out: the steadier number on a busy machine), and the statements and
    Redis round trips per request to PER_REQUEST[name]."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario(scenario)
    wall = cpu = 0.0
    sent = dict.fromkeys(COUNTS, 0)
    for index in range(count):
        if scenario.prepare is not None:
            scenario.prepare(index)
        before = dict(COUNTS)
        started, started_cpu = time.perf_counter(), time.process_time()
        scenario.call(index)
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        for key in COUNTS:
            sent[key] += COUNTS[key] - before[key]
    if name is not None:
        CPU.setdefault(name, []).append(cpu / count)
        PER_REQUEST[name] = {key: round(value / count, 2) for key, value in sent.items()}
    return wall / count


def main(argv=None) -> int:
    args = parse_args(argv)
    import redis

    # Production logs one JSON line per request: its cost is part of the request's.
    workdir = tempfile.mkdtemp(prefix="shopcore-micro-")
    logging.basicConfig(filename=f"{workdir}/requests.log", level=logging.INFO)
    logging.getLogger("shopcore").setLevel(logging.INFO)
    redis.Redis.from_url(args.redis).flushdb()
    database_url = create_database(args.postgres, args.database)
    try:
        config = make_shop(database_url, args.redis, workdir)
        seed(config.registry, args.products)
        results = run(args, config)
    finally:
        redis.Redis.from_url(args.redis).flushdb()
        if not args.keep:
            drop_database(args.postgres, args.database)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def run(args, config) -> dict:
    from shopcore_catalog.models import Category, Product
    from sqlalchemy import select, update

    app = webtest.TestApp(config.make_wsgi_app())
    ceiling = ceiling_app()
    count_statements_and_round_trips(config.registry["shopcore.engine"])
    session = config.registry["shopcore.dbsession_factory"]()
    # As in `make bench`: every product has stock enough for the cart adds.
    session.execute(update(Product).values(stock=1_000_000))
    session.commit()
    ids = list(session.scalars(select(Product.id).order_by(Product.id)))
    category = session.scalar(select(Category.id).where(Category.name == "Home & Kitchen"))
    session.close()
    tokens = {}
    for name in ("micro", "buyer"):
        app.post_json("/api/auth/register/", {"username": name, "email": f"{name}@example.com",
                                              "password": "a long enough passphrase"}, status=201)
        tokens[name] = app.post_json("/api/auth/login/", {"username": name,
                                                          "password": "a long enough passphrase"}).json
    auth = {"Authorization": f"Bearer {tokens['micro']['access']}"}
    buyer = {"Authorization": f"Bearer {tokens['buyer']['access']}"}
    list_path = f"/api/products/?category={category}&ordering=price&page=1"
    app.get(list_path)
    for product_id in ids[:100]:
        app.get(f"/api/products/{product_id}/")
    fresh = iter(ids[100:])
    counter = iter(range(10 ** 9))

    def fill_cart(index: int) -> None:
        # As the bench's checkout: every order buys the same three products (the hottest rows).
        for product_id in ids[:3]:
            app.post_json("/api/cart/items/", {"product": product_id, "quantity": 1}, headers=buyer)

    scenarios = {
        "ceiling": lambda i: ceiling.get("/"),
        "cached product list": lambda i: app.get(list_path),
        "cached product detail": lambda i: app.get(f"/api/products/{ids[i % 100]}/"),
        "uncached product detail": lambda i: app.get(f"/api/products/{next(fresh)}/"),
        "uncached product list": lambda i: app.get(
            f"/api/products/?category={category}&search=lamp&max_price={100000 + next(counter)}.00"),
        "cart add": lambda i: app.post_json("/api/cart/items/", {"product": ids[200 + next(counter) % 500],
                                                                 "quantity": 1}, headers=auth),
        # An authenticated request served from the cache: the identity check is most of what it does.
        "cached order list": lambda i: app.get("/api/orders/", headers=auth),
        "checkout (3-line cart)": Scenario(
            lambda i: app.post_json("/api/orders/checkout/", {"shipping_address": "1 Bench Street",
                                                              "payment_method": "credit_card"},
                                    headers=buyer, status=201),
            prepare=fill_cart),
    }
    budget = {"uncached product detail": max(1, min(args.requests, (len(ids) - 100) // (args.rounds + 1)))}
    times: dict[str, list[float]] = {name: [] for name in scenarios}
    for name, call in scenarios.items():  # warm-up
        per_request(call, 5 if name != "uncached product detail" else 1)
    for _ in range(args.rounds):
        for name, call in scenarios.items():
            times[name].append(per_request(call, budget.get(name, args.requests), name))
    ceiling_ms = statistics.median(times["ceiling"]) * 1000
    ceiling_cpu_ms = statistics.median(CPU["ceiling"]) * 1000
    results = {"ceiling_ms": round(ceiling_ms, 4), "products": args.products, "scenarios": {}}
    for name, samples in times.items():
        median = statistics.median(samples) * 1000
        cpu = statistics.median(CPU[name]) * 1000
        results["scenarios"][name] = {"ms_per_request": round(median, 4),
                                      "min_ms": round(min(samples) * 1000, 4),
                                      "x_ceiling": round(ceiling_ms / median, 3),
                                      "cpu_ms_per_request": round(cpu, 4),
                                      "cpu_x_ceiling": round(ceiling_cpu_ms / cpu, 3),
                                      **PER_REQUEST.get(name, {})}
    held = sorted(STOCK_LOCK["held_ms"])
    if held:
        results["checkout_stock_lock_ms"] = {"transactions": len(held), "p50": round(statistics.median(held), 3),
                                             "p90": round(held[int(len(held) * 0.9)], 3),
                                             "max": round(held[-1], 3)}
    if args.profile_tweens:
        results["tweens"] = profile_tweens(config, list_path)
    return results


def profile_tweens(config, path: str) -> dict:
    """Each tween's own time on the cached product list: the time inside it minus the time inside the
    next, as wall time and as the process's CPU time (the steadier one on a busy machine), ms per request."""
    from pyramid.interfaces import ITweens
    from pyramid.router import Router

    registry = config.registry
    tweens = registry.queryUtility(ITweens)
    order = list(reversed(tweens.implicit()))  # innermost first
    inner_names = ["router (main handler)"] + [name for name, _ in order]
    spent = {name: [0.0, 0.0] for name in inner_names}  # wall, CPU

    def timed(name, inner):
        def call(request):
            started, started_cpu = time.perf_counter(), time.process_time()
            try:
                return inner(request)
            finally:
                spent[name][0] += time.perf_counter() - started
                spent[name][1] += time.process_time() - started_cpu
        return call

    # Rebuild the chain with timers around each tween.
    router = Router(registry)
    chain = timed("router (main handler)", router.orig_handle_request)
    for name, factory in order:
        chain = timed(name, factory(chain, registry))
    router.handle_request = chain
    app = webtest.TestApp(router)
    count = 2000
    for _ in range(50):
        app.get(path)
    for times in spent.values():
        times[:] = [0.0, 0.0]
    started, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        app.get(path)
    total = [time.perf_counter() - started, time.process_time() - started_cpu]

    def ms(seconds: float) -> float:
        return round(seconds / count * 1000, 4)

    own = {}
    for index, name in enumerate(inner_names):
        below = spent[inner_names[index - 1]] if index else [0.0, 0.0]
        own[name] = {"wall_ms": ms(spent[name][0] - below[0]), "cpu_ms": ms(spent[name][1] - below[1])}
    outermost = spent[inner_names[-1]]
    own["outside the tweens (WSGI, router set-up, webtest)"] = {"wall_ms": ms(total[0] - outermost[0]),
                                                                 "cpu_ms": ms(total[1] - outermost[1])}
    own["total"] = {"wall_ms": ms(total[0]), "cpu_ms": ms(total[1])}
    return own


if __name__ == "__main__":
    sys.exit(main())
