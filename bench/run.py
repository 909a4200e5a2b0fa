"""`make bench`: the load benchmark of shopcore, run as it is deployed, against a bare Pyramid ceiling.

One run, bounded in time and cleaning up after itself:

1. a fresh PostgreSQL database (`shopcore_bench`, dropped at the end) and Redis DB 12 (flushed),
   migrated with `shopcore-admin production.ini migrate`;
2. `pserve production.ini` (gunicorn, its workers, on 127.0.0.1 and a free port: the only line of the
   file that is changed) and, under the same [server:main], the bare Pyramid app of bench/ceiling.py;
3. wrk on loopback runs each scenario for a fixed time with a fixed number of connections, with the
   Lua scripts of bench/wrk/ for bearer tokens, POST bodies and per-step latencies;
4. the catalog is grown with `seed-demo` to each size in turn (1,000, 10,000, 100,000 products);
5. after the run: stock and order counts are checked in the database (no oversell), the resident
   memory of each gunicorn worker is read from /proc, and the table is printed and written to
   bench/results/ as JSON, Markdown and a PNG chart, with the targets of issue 9 marked met or missed.

Run it through `make bench` (which installs wrk and matplotlib); `bench/run.py --help` lists options.
"""
from __future__ import annotations

import argparse
import csv
import concurrent.futures
import contextlib
import datetime
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WRK_SCRIPTS = BENCH / "wrk"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
PRODUCTION_INI = ROOT / "production.ini"

CUSTOMERS = 16
PASSWORD = "bench passphrase 0123456789"
HOT_STOCK = 1_000_000  # the checkout products never run out during a run: any refusal is an error
RSS_LIMIT_MB = 150

TARGETS = {
    "cached_fraction": 0.5,
    "uncached_detail_fraction": 0.25,
    "uncached_list_p50_growth": 1.5,
    "checkout_fraction": 0.05,
    "worker_rss_mb": RSS_LIMIT_MB,
    # The catalog of products with variants: its list fractions at least this share of the plain catalog's.
    "variant_list_ratio": 0.8,
}
VARIANT_CATEGORY = "Variant bench"
VARIANT_NOUNS = ("Lamp", "Shirt", "Chair", "Mug", "Jacket", "Desk", "Sofa", "Boot")
VARIANT_SIZES = ("XS", "S", "M", "L", "XL")
VARIANT_COLOURS = ("red", "blue", "green", "black")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- services and processes ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return True
        time.sleep(0.2)
    return False


BENCH_APP_SETTINGS = ("shopcore.orders.rate.checkout_user = 100000000/hour\n"
                      "shopcore.orders.max_pending_quantity = 2000000000\n")


def server_ini(app_section: str, port: int, app_settings: str = BENCH_APP_SETTINGS) -> str:
    """production.ini with its bind on loopback and a free port; the app section replaced if asked,
    else production's own with `app_settings` (ini lines) added.

    Everything else (gunicorn and its worker count, logging, access log) is production's own.
    """
    text = PRODUCTION_INI.read_text(encoding="utf-8")
    sections = re.split(r"(?m)^(?=\[)", text)
    out = []
    for section in sections:
        if section.startswith("[server:main]"):
            if "egg:gunicorn#main" not in section:
                raise SystemExit("bench: production.ini's [server:main] is not gunicorn any more; update bench/run.py")
            section, count = re.subn(r"(?m)^bind\s*=.*$", f"bind = 127.0.0.1:{port}", section)
            if count != 1:
                section = section.rstrip("\n") + f"\nbind = 127.0.0.1:{port}\n\n"
        elif section.startswith("[app:main]"):
            # The load's 16 customers check out hundreds of times a minute and never pay: lift the
            # per-customer checkout limit and unpaid-quantity cap, which would answer them 429 and 409.
            section = app_section or (section.rstrip("\n") + "\n" + app_settings + "\n")
        out.append(section)
    return "".join(out)


def worker_count() -> int:
    match = re.search(r"(?ms)^\[server:main\].*?^workers\s*=\s*(\d+)", PRODUCTION_INI.read_text(encoding="utf-8"))
    return int(match.group(1)) if match else 1


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                status = (entry / "status").read_text()
                if re.search(rf"(?m)^PPid:\s*{self.process.pid}$", status):
                    children.append(int(entry.name))
        return sorted(children)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(name: str, app_section: str, workdir: Path, env: dict, ready_path: str,
                 app_settings: str = BENCH_APP_SETTINGS) -> Server:
    port = free_port()
    ini = workdir / f"{name}.ini"
    ini.write_text(server_ini(app_section, port, app_settings), encoding="utf-8")
    log_path = workdir / f"{name}.log"
    handle = open(log_path, "wb")
    process = subprocess.Popen([str(VENV_BIN / "pserve"), str(ini)], cwd=ROOT, env=env,
                               stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {name} exited at start-up:\n{tail(log_path)}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(server.url + ready_path, timeout=2) as response:
                if response.status == 200 and len(server.workers()) >= worker_count():
                    return server
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"bench: {name} did not answer within 90 s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def run(command: list[str], env: dict, what: str) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bench: {what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


# --- HTTP set-up calls (not measured) ---------------------------------------------------------------

def call(url: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else {})
    except urllib.error.HTTPError as error:
        text = error.read()
        with contextlib.suppress(ValueError):
            return error.code, json.loads(text)
        return error.code, {"raw": text.decode(errors="replace")}


def expect(status_body: tuple[int, dict], *ok: int, what: str) -> dict:
    status, body = status_body
    if status not in ok:
        raise SystemExit(f"bench: {what} answered {status}: {json.dumps(body)[:500]}")
    return body


def log_in(base: str, username: str) -> str:
    body = expect(call(f"{base}/api/auth/login/", "POST", {"username": username, "password": PASSWORD}), 200,
                  what=f"login of {username}")
    return body["access"]


# --- wrk ------------------------------------------------------------------------------------------

def lua_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid Lua string for what the bench writes
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_literal(item) for item in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(str(k))}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "nil"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Options:
    duration: int
    connections: int
    threads: int
    workdir: Path


def wrk(options: Options, base: str, script: str, config: dict, duration: int | None = None,
        threads: int | None = None, connections: int | None = None) -> dict:
    """One wrk run; the script writes its report (JSON) to a file that is read back."""
    threads = threads or options.threads
    connections = connections or options.connections
    run_id = time.monotonic_ns()
    output = options.workdir / f"wrk-{run_id}.json"
    step_log = options.workdir / f"wrk-{run_id}-thread-"
    config = {**config, "output": str(output), "threads": threads, "step_log": str(step_log)}
    config_path = options.workdir / f"wrk-{run_id}.lua"
    config_path.write_text("return " + lua_literal(config) + "\n", encoding="utf-8")
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration or options.duration}s",
               "--timeout", "10s", "-s", str(WRK_SCRIPTS / script), base, "--", str(config_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=(duration or options.duration) + 60)
    if result.returncode != 0 or not output.exists():
        raise SystemExit(f"bench: wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    report = json.loads(output.read_text())
    report["wrk_output"] = result.stdout
    logs = sorted(step_log.parent.glob(step_log.name + "*.log"))
    if logs:
        report["kinds"] = read_step_logs(logs)
        report["responses_by_thread"] = {
            int(path.stem.rsplit("-", 1)[1]): sum(1 for line in path.read_text(errors="replace").splitlines()
                                                  if not line.startswith("#"))
            for path in logs}
    return report


def read_step_logs(paths: list[Path]) -> dict:
    """The per-step lines the sequence script's threads wrote: latencies and statuses by kind (and,
    from mixed.lua, each response's moment: `at_ms`, with its `codes`, in step with `latencies_us`)."""
    kinds: dict = {}
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("#error "):
                _, kind, status, sample = (line.split(" ", 3) + [""])[:4]
                kinds.setdefault(kind, {"latencies_us": [], "statuses": {}}).setdefault("sample_error", f"{status} {sample}")
                continue
            kind, status, elapsed, *moment = line.split(" ")
            stats = kinds.setdefault(kind, {"latencies_us": [], "statuses": {}})
            stats["latencies_us"].append(float(elapsed))
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            if moment:
                stats.setdefault("at_ms", []).append(float(moment[0]))
                stats.setdefault("codes", []).append(int(status))
    return kinds


def merge_reports(reports: list[dict]) -> dict:
    """One report from consecutive slices of a scenario.

    Counts and durations add up; the per-step latencies of the sequence script merge exactly; wrk's
    own p50/p99 of each slice are averaged, weighted by the slice's requests (wrk gives no histogram).
    """
    merged = {
        "duration_us": sum(r["duration_us"] for r in reports),
        "requests": sum(r["requests"] for r in reports),
        "errors": {name: sum(r["errors"][name] for r in reports) for name in reports[0]["errors"]},
        "slices": len(reports),
    }
    weights = [max(r["requests"], 1) for r in reports]
    merged["latency_us"] = {
        name: sum(r["latency_us"][name] * w for r, w in zip(reports, weights)) / sum(weights)
        for name in ("mean", "p50", "p90", "p99")
    }
    merged["latency_us"]["max"] = max(r["latency_us"]["max"] for r in reports)
    kinds: dict = {}
    for report in reports:
        for name, stats in report.get("kinds", {}).items():
            into = kinds.setdefault(name, {"latencies_us": [], "statuses": {}})
            into["latencies_us"].extend(stats["latencies_us"])
            for code, count in stats["statuses"].items():
                into["statuses"][code] = into["statuses"].get(code, 0) + count
            if stats.get("sample_error"):
                into.setdefault("sample_error", stats["sample_error"])
    if kinds:
        merged["kinds"] = kinds
    return merged


@dataclass
class Row:
    scenario: str
    products: int | None
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    fraction: float | None = None
    notes: str = ""
    detail: dict = field(default_factory=dict)


def socket_errors(report: dict) -> int:
    errors = report["errors"]
    return errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]


def row_from_wrk(scenario: str, products: int | None, report: dict, notes: str = "") -> Row:
    seconds = report["duration_us"] / 1e6
    latency = report["latency_us"]
    return Row(scenario, products, report["requests"] / seconds, latency["p50"] / 1000, latency["p99"] / 1000,
               report["errors"]["status"] + socket_errors(report), report["requests"], notes=notes,
               detail={"errors": report["errors"], "latency_us": latency, "duration_s": seconds})


def row_from_kind(scenario: str, products: int | None, report: dict, kind: str, notes: str = "") -> Row:
    """A row for one kind of step of a sequence scenario (the checkouts of add-add-add-checkout)."""
    seconds = report["duration_us"] / 1e6
    stats = report["kinds"][kind]
    latencies = stats["latencies_us"]
    ok = sum(count for code, count in stats["statuses"].items() if int(code) < 400)
    status_errors = sum(sum(count for code, count in kind_stats["statuses"].items() if int(code) >= 400)
                        for kind_stats in report["kinds"].values())
    detail = {"statuses": {name: k["statuses"] for name, k in report["kinds"].items()},
              "sample_errors": {name: k.get("sample_error") for name, k in report["kinds"].items()
                                if k.get("sample_error")},
              "all_requests_per_s": report["requests"] / seconds, "errors": report["errors"], "duration_s": seconds,
              "successful": ok}
    return Row(scenario, products, ok / seconds, percentile(latencies, 0.5) / 1000,
               percentile(latencies, 0.99) / 1000, status_errors + socket_errors(report), len(latencies),
               notes=notes, detail=detail)


# --- checkout verification ---------------------------------------------------------------------------

def settled_count(db: "Database", sql: str) -> int:
    """A count once it stops moving: requests in flight when wrk stopped still finish on the server."""
    previous, deadline = None, time.monotonic() + 15
    while time.monotonic() < deadline:
        current = db.query(sql)[0][0]
        if current == previous:
            return current
        previous = current
        time.sleep(1)
    return previous


def verify_stock(db: "Database", products: list[int], initial: int, orders_made: int, answered_201: int,
                 stops: int) -> dict:
    """Every unit that left the stock is in an order line, no stock is negative, every order is whole."""
    stock_after = dict(db.query("SELECT id, stock FROM catalog_products WHERE id = ANY(%s)", products))
    sold = dict(db.query("SELECT product_id, sum(quantity) FROM orders_lines WHERE product_id = ANY(%s) "
                         "GROUP BY product_id", products))
    incomplete = db.query("SELECT o.id FROM orders_orders o LEFT JOIN orders_lines l ON l.order_id = o.id "
                          "GROUP BY o.id HAVING count(l.id) <> %s", len(products))
    taken = {pid: initial - stock_after[pid] for pid in products}
    in_lines = {pid: int(sold.get(pid, 0)) for pid in products}
    oversold = sum(abs(taken[pid] - in_lines[pid]) for pid in products) + sum(
        1 for pid in products if stock_after[pid] < 0)
    return {
        "orders_in_database": orders_made,
        "checkouts_answered_201": answered_201,
        # A checkout in flight when a slice's time was up commits without wrk seeing its answer:
        # at most one per customer and stop.
        "in_flight_at_stop": orders_made - answered_201,
        "stock_taken": {str(pid): taken[pid] for pid in products},
        "units_in_order_lines": {str(pid): in_lines[pid] for pid in products},
        "orders_not_whole": len(incomplete),
        "oversold_units": oversold,
        "consistent": oversold == 0 and not incomplete and 0 <= orders_made - answered_201 <= CUSTOMERS * stops,
    }


def sell_out_probe(base: str, db: "Database", tokens: list[str], admin: str, product: int, units: int = 20) -> dict:
    """The last units of a product, raced by every customer twice: exactly `units` orders, stock 0."""
    expect(call(f"{base}/api/products/{product}/", "PATCH", {"stock": units}, token=admin), 200,
           what="setting stock for the sell-out probe")
    before = db.query("SELECT count(*) FROM orders_lines WHERE product_id = %s", product)[0][0]
    barrier = threading.Barrier(len(tokens))

    def customer(token: str) -> list[int]:
        statuses = []
        for _ in range(2):
            barrier.wait()
            added, _ = call(f"{base}/api/cart/items/", "POST", {"product": product, "quantity": 1}, token=token)
            status, _ = call(f"{base}/api/orders/checkout/", "POST",
                             {"shipping_address": "1 Bench Street", "payment_method": "credit_card"}, token=token)
            statuses.append(status if added in (200, 201) else added)
            call(f"{base}/api/cart/", "DELETE", token=token)
        return statuses

    with concurrent.futures.ThreadPoolExecutor(len(tokens)) as pool:
        statuses = [status for result in pool.map(customer, tokens) for status in result]
    orders = db.query("SELECT count(*) FROM orders_lines WHERE product_id = %s", product)[0][0] - before
    stock = db.query("SELECT stock FROM catalog_products WHERE id = %s", product)[0][0]
    counts = {str(code): statuses.count(code) for code in sorted(set(statuses))}
    return {"product": product, "units": units, "attempts": len(statuses), "statuses": counts,
            "orders": orders, "final_stock": stock,
            "ok": orders == units and stock == 0 and counts.get("201", 0) == units
            and all(int(code) in (201, 409) for code in counts)}


# --- the database ---------------------------------------------------------------------------------

class Database:
    def __init__(self, admin_url: str, name: str):
        import psycopg

        self.psycopg = psycopg
        self.admin_url = admin_url
        self.name = name
        parts = urllib.parse.urlsplit(admin_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    @property
    def sqlalchemy_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1)

    def recreate(self) -> None:
        self.drop()
        with self.psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str, *params):
        with self.psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


# --- the run --------------------------------------------------------------------------------------

def memory_of(server: Server) -> list[dict]:
    workers = []
    for pid in server.workers():
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            fields = dict(re.findall(r"(?m)^(VmRSS|VmHWM):\s+(\d+) kB", status))
            workers.append({"pid": pid, "rss_mb": int(fields.get("VmRSS", 0)) / 1024,
                            "peak_rss_mb": int(fields.get("VmHWM", 0)) / 1024})
    return workers


def seed(env: dict, products: int) -> float:
    """Grow the catalog with seed-demo (which also ANALYZEs the tables it filled)."""
    started = time.monotonic()
    run([str(VENV_BIN / "shopcore-admin"), str(PRODUCTION_INI), "seed-demo", "--products", str(products), "--quiet"],
        env, f"seed-demo --products {products}")
    return time.monotonic() - started


def shop_environment(db: Database, redis_url: str, workdir: Path) -> dict:
    """The environment production.ini reads, for pserve and shopcore-admin: a throwaway secret, the
    run's database and Redis (also the broker: no worker runs, mail jobs wait there), and an empty
    Prometheus folder. Written to workdir/env.sh too, to start a kept server again by hand."""
    metrics_dir = workdir / "prometheus"
    metrics_dir.mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SHOPCORE_", "DB_", "EMAIL_"))},
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": db.sqlalchemy_url,
        "REDIS_URL": redis_url,
        # The bench runs no worker: mail jobs wait in the bench's own Redis database, flushed at the end.
        "BROKER_URL": redis_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    (workdir / "env.sh").write_text("".join(f"export {name}={shlex.quote(env[name])}\n" for name in (
        "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BROKER_URL", "PROMETHEUS_MULTIPROC_DIR")), encoding="utf-8")
    return env


def wait_for_quiet(load: float | None) -> None:
    """Wait (up to 15 minutes) until the 1-minute load average is below `load`."""
    if load is None:
        return
    deadline = time.monotonic() + 900
    while os.getloadavg()[0] >= load and time.monotonic() < deadline:
        log(f"load average {os.getloadavg()[0]:.2f} >= {load}: waiting for a quieter machine")
        time.sleep(20)


def prepare_shop(env: dict, db: Database, cache, products: int) -> float:
    """A fresh database, migrated, with the admin `bench-admin` and `products` demo products; Redis
    flushed. Returns the seconds seed-demo took."""
    cache.flushdb()
    db.recreate()
    run([str(VENV_BIN / "shopcore-admin"), str(PRODUCTION_INI), "migrate"], env, "migrate")
    run([str(VENV_BIN / "shopcore-admin"), str(PRODUCTION_INI), "create-user", "--username", "bench-admin",
         "--email", "bench-admin@example.com", "--password", PASSWORD, "--admin"], env, "create-user (admin)")
    return seed(env, products)


def sign_up_customers(base: str, count: int = CUSTOMERS) -> list[str]:
    """`count` customers registered and logged in through the API: their access tokens."""
    def sign_up(number: int) -> str:
        username = f"bench-customer-{number:02d}"
        expect(call(f"{base}/api/auth/register/", "POST",
                    {"username": username, "email": f"{username}@example.com", "password": PASSWORD}), 201,
               what=f"register {username}")
        return log_in(base, username)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(sign_up, range(1, count + 1)))
def write_variant_catalog(path: Path, products: int, variants: int) -> None:
    """A CSV for catalog-import: `products` products of `variants` variants each (size x colour)."""
    combinations = [(size, colour) for colour in VARIANT_COLOURS for size in VARIANT_SIZES][:variants]
    if len(combinations) < variants:
        raise SystemExit(f"bench: at most {len(VARIANT_SIZES) * len(VARIANT_COLOURS)} variants per product")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "product", "slug", "category", "description", "price", "stock", "option:size",
                         "option:colour"])
        for number in range(products):
            noun = VARIANT_NOUNS[number % len(VARIANT_NOUNS)]
            for index, (size, colour) in enumerate(combinations):
                writer.writerow([f"VB-{number:06d}-{index:02d}", f"Bench {noun} {number}", f"variant-bench-{number}",
                                 VARIANT_CATEGORY, f"A {noun.lower()} in {len(combinations)} variants.",
                                 f"{10 + number % 400}.{index:02d}", 50 + index, size, colour])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 10)),
                        help="seconds per scenario (default 10, or BENCH_DURATION)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads for the shared scenarios (default 2)")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "1000,10000,100000"),
                        help="catalog sizes, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--variant-products", type=int, default=int(os.environ.get("BENCH_VARIANT_PRODUCTS", 10000)),
                        help="products of the variants scenario, imported with catalog-import (default 10000; 0: none)")
    parser.add_argument("--variants", type=int, default=10, help="variants per product of that scenario (default 10)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL URL allowed to create and drop databases")
    parser.add_argument("--database", default="shopcore_bench", help="the database created and dropped (default shopcore_bench)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
                        help="Redis URL of the database the bench flushes and uses (default DB 12)")
    parser.add_argument("--wait-for-quiet", type=float, metavar="LOAD", default=None,
                        help="first wait (up to 15 minutes) until the 1-minute load average is below LOAD")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    parser.add_argument("--update-readme", action="store_true",
                        help="also put the table into the README's Benchmark section (between its markers)")
    parser.add_argument("--output", default=str(RESULTS), help="folder for latest.json, latest.md and latest.png")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))

    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (make bench installs it: apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="shopcore-bench-"))
    options = Options(args.duration, args.connections, args.threads, workdir)

    import redis

    cache = redis.Redis.from_url(args.redis)
    db = Database(args.postgres, args.database)
    env = shop_environment(db, args.redis, workdir)
    wait_for_quiet(args.wait_for_quiet)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    log(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} on {os.cpu_count()} CPUs; "
        f"work folder {workdir}")
    if load_before[0] > (os.cpu_count() or 1):
        log("warning: the machine is busy; numbers will be noisy (ratios within this run still hold best)")

    servers: list[Server] = []
    rows: list[Row] = []
    ceilings: list[Row] = []
    extra: dict = {}
    try:
        log(f"database {args.database}: create and migrate; Redis {args.redis}: flush")
        extra["seed_seconds"] = {}
        extra["seed_seconds"][sizes[0]] = prepare_shop(env, db, cache, sizes[0])

        log("starting pserve production.ini and the ceiling app under the same gunicorn settings")
        shop = start_server("shopcore", "", workdir, env, "/health")
        servers.append(shop)
        ceiling_app = "[app:main]\nuse = call:ceiling:main\n\n"
        ceiling_env = {**env, "PYTHONPATH": str(BENCH)}
        bare = start_server("ceiling", ceiling_app, workdir, ceiling_env, "/")
        servers.append(bare)
        log(f"shopcore on {shop.url} (workers {shop.workers()}), ceiling on {bare.url} (workers {bare.workers()})")
        extra["workers_at_start"] = {"shopcore": memory_of(shop), "ceiling": memory_of(bare)}

        slices = max(1, min(5, args.duration))
        slice_seconds = max(1, round(args.duration / slices))

        def interleaved(name: str, script: str, config, **kwargs) -> dict:
            """The scenario and the ceiling in alternating slices (5 × 2 s each by default), so a machine
            that gets busier or quieter during the run weighs on both sides of the ratio alike.
            `config` may be a function of the slice number (to move cache-busting counters on)."""
            scenario_slices, ceiling_slices = [], []
            for number in range(slices):
                ceiling_slices.append(wrk(options, bare.url, "get.lua", {"paths": ["/"]}, duration=slice_seconds))
                slice_config = config(number, scenario_slices) if callable(config) else config
                scenario_slices.append(wrk(options, base, script, slice_config, duration=slice_seconds, **kwargs))
            ceiling = row_from_wrk(f"ceiling alongside {name}", None, merge_reports(ceiling_slices),
                                   "bare Pyramid, {} as JSON")
            ceiling.detail["load_average_after"] = os.getloadavg()[0]
            ceilings.append(ceiling)
            return merge_reports(scenario_slices)

        def scenario(row: Row) -> Row:
            row.detail["load_average_after"] = os.getloadavg()[0]
            row.detail["ceiling_requests_per_s"] = ceilings[-1].requests_per_s
            rows.append(row)
            log(f"{row.scenario:<28} {row.products or '':>7} {row.requests_per_s:9,.0f} req/s  p50 {row.p50_ms:7.2f} ms  "
                f"p99 {row.p99_ms:7.2f} ms  errors {row.errors}  (ceiling alongside {ceilings[-1].requests_per_s:,.0f})")
            return row

        base = shop.url
        wrk(options, bare.url, "get.lua", {"paths": ["/"]}, duration=2)  # warm the ceiling's workers
        category = db.query("SELECT id FROM catalog_categories WHERE name = %s", "Home & Kitchen")[0][0]
        list_path = f"/api/products/?category={category}&ordering=price&page=1"
        detail_ids = [row[0] for row in db.query("SELECT id FROM catalog_products ORDER BY id LIMIT 100")]

        # Cached: one list page and 100 details, warmed first; every request is a cache hit.
        wrk(options, base, "get.lua", {"paths": [list_path]}, duration=2)
        scenario(row_from_wrk("cached product list", sizes[0],
                              interleaved("cached product list", "get.lua", {"paths": [list_path]}), f"GET {list_path}"))
        detail_paths = [f"/api/products/{pid}/" for pid in detail_ids]
        wrk(options, base, "get.lua", {"paths": detail_paths}, duration=2)
        scenario(row_from_wrk("cached product detail", sizes[0],
                              interleaved("cached product detail", "get.lua", {"paths": detail_paths}),
                              "GET /api/products/{id}/ over 100 products"))

        # Uncached list: every request carries a distinct max_price above every price, so neither the
        # page, its count, nor the validation memo has seen it; the filter and search are the same.
        uncached_list = f"/api/products/?category={category}&search=lamp&max_price={{n}}"
        offset = [10_000_000]

        def fresh_numbers(config: dict):
            """The config for the next slice, its {n} past every number an earlier slice used."""
            def for_slice(number: int, done: list[dict]) -> dict:
                if done:
                    offset[0] += done[-1]["requests"] + 1000
                return {**config, "n_offset": offset[0]}
            return for_slice

        for index, size in enumerate(sizes):
            if index:
                log(f"seed-demo to {size:,} products")
                extra["seed_seconds"][size] = seed(env, size)
            report = interleaved(f"uncached product list at {size:,}", "get.lua",
                                 fresh_numbers({"paths": [uncached_list]}))
            offset[0] += 1_000_000
            scenario(row_from_wrk("uncached product list", size, report,
                                  "GET /api/products/?category=&search=lamp&max_price=<distinct>"))

        # Uncached detail: each request a product no one asked for yet in this run.
        products_now = sizes[-1]
        fresh_ids = [row[0] for row in db.query(
            "SELECT id FROM catalog_products WHERE is_active AND id > %s ORDER BY id", max(detail_ids))]
        offset[0] = 0
        report = interleaved("uncached product detail", "get.lua",
                             fresh_numbers({"paths": ["/api/products/{id}/"], "ids": fresh_ids}))
        wrapped = offset[0] + report["requests"] > len(fresh_ids)
        scenario(row_from_wrk("uncached product detail", products_now, report,
                              "GET /api/products/{id}/, a new id each time" + (" (ids wrapped)" if wrapped else "")))

        # Customers: register through the API, log in (tokens last 15 minutes: taken here).
        log(f"{CUSTOMERS} customers: register and log in")
        tokens = sign_up_customers(base)
        admin = log_in(base, "bench-admin")
        customer = {"threads": CUSTOMERS, "connections": CUSTOMERS}

        # Cart add: each customer adds one unit of a product in stock, going through the catalog.
        in_stock = [row[0] for row in db.query(
            "SELECT id FROM catalog_products WHERE is_active AND stock >= 100 ORDER BY id LIMIT 2000")]
        add_step = {"kind": "cart_add", "method": "POST", "path": "/api/cart/items/",
                    "body": '{"product": {id}, "quantity": 1}'}
        offset[0] = 0
        report = interleaved("cart add", "sequence.lua",
                             fresh_numbers({"tokens": tokens, "ids": in_stock, "steps": [add_step]}), **customer)
        scenario(row_from_kind("cart add", products_now, report, "cart_add",
                               "POST /api/cart/items/, 16 customers, one connection each"))
        for token in tokens:
            expect(call(f"{base}/api/cart/", "DELETE", token=token), 204, what="emptying a cart")

        # Checkout: 16 customers buying the same three products (the hottest rows there can be).
        hot = in_stock[:3]
        for pid in hot:
            expect(call(f"{base}/api/products/{pid}/", "PATCH", {"stock": HOT_STOCK}, token=admin), 200,
                   what="setting stock for checkout")
        orders_before = db.query("SELECT count(*) FROM orders_orders")[0][0]
        steps = [{"kind": "cart_add", "method": "POST", "path": "/api/cart/items/",
                  "body": json.dumps({"product": pid, "quantity": 1})} for pid in hot]
        steps.append({"kind": "checkout", "method": "POST", "path": "/api/orders/checkout/",
                      "body": json.dumps({"shipping_address": "1 Bench Street, Loopback",
                                          "payment_method": "credit_card"})})
        def resume_cycles(number: int, done: list[dict]) -> dict:
            """Each customer goes on with its cycle in the next slice; one whose next step would be the
            checkout starts the cycle again, since the checkout it sent as time ran out may have
            gone through and emptied its cart (a repeated add only raises a quantity)."""
            starts = [1] * CUSTOMERS
            next_index = [0] * CUSTOMERS
            for report in done:
                for thread, count in report.get("responses_by_thread", {}).items():
                    next_index[thread] = (starts[thread] - 1 + count) % len(steps)
                    starts[thread] = next_index[thread] + 1 if next_index[thread] + 1 < len(steps) else 1
            return {"tokens": tokens, "steps": steps, "start_steps": starts}

        report = interleaved("checkout", "sequence.lua", resume_cycles, **customer)
        checkout = scenario(row_from_kind("checkout (3-line cart)", products_now, report, "checkout",
                                          "add ×3 then POST /api/orders/checkout/, 16 customers"))
        orders_made = settled_count(db, "SELECT count(*) FROM orders_orders") - orders_before
        checkout.detail["verification"] = verify_stock(db, hot, HOT_STOCK, orders_made,
                                                       checkout.detail["statuses"]["checkout"].get("201", 0), slices)
        log(f"checkout verification: {json.dumps(checkout.detail['verification'])}")
        for token in tokens:
            expect(call(f"{base}/api/cart/", "DELETE", token=token), 204, what="emptying a cart")
        checkout.detail["sell_out_probe"] = sell_out_probe(base, db, tokens, admin, in_stock[3])
        log(f"sell-out probe: {json.dumps(checkout.detail['sell_out_probe'])}")

        # Order list: each customer's first page (cached per user).
        wrk(options, base, "get.lua", {"paths": ["/api/orders/"], "tokens": tokens}, duration=2, **customer)
        scenario(row_from_wrk("order list", products_now,
                              interleaved("order list", "get.lua", {"paths": ["/api/orders/"], "tokens": tokens}, **customer),
                              "GET /api/orders/, 16 customers"))

        if args.variant_products:
            # The same two list scenarios on a catalog of products sold in variants, loaded the way a
            # merchant would, with catalog-import: its pages carry every variant of every product.
            log(f"catalog-import: {args.variant_products:,} products x {args.variants} variants")
            variant_csv = workdir / "variants.csv"
            write_variant_catalog(variant_csv, args.variant_products, args.variants)
            started = time.monotonic()
            run([str(VENV_BIN / "shopcore-admin"), str(PRODUCTION_INI), "catalog-import", str(variant_csv), "--quiet"],
                env, "catalog-import (variants)")
            extra["variant_import_seconds"] = time.monotonic() - started
            extra["variant_import_rows"] = args.variant_products * args.variants
            variant_category = db.query("SELECT id FROM catalog_categories WHERE name = %s", VARIANT_CATEGORY)[0][0]
            variant_list = f"/api/products/?category={variant_category}&ordering=price&page=1"
            wrk(options, base, "get.lua", {"paths": [variant_list]}, duration=2)
            scenario(row_from_wrk("cached variant list", args.variant_products,
                                  interleaved("cached variant list", "get.lua", {"paths": [variant_list]}),
                                  f"GET {variant_list}, {args.variants} variants a product"))
            uncached_variants = f"/api/products/?category={variant_category}&search=lamp&max_price={{n}}"
            offset[0] += 1_000_000
            report = interleaved("uncached variant list", "get.lua", fresh_numbers({"paths": [uncached_variants]}))
            scenario(row_from_wrk("uncached variant list", args.variant_products, report,
                                  "GET /api/products/?category=&search=lamp&max_price=<distinct>, "
                                  f"{args.variants} variants a product"))

        extra["workers"] = {"shopcore": memory_of(shop), "ceiling": memory_of(bare)}
    finally:
        for server in servers:
            server.stop()
        if not args.keep:
            with contextlib.suppress(Exception):
                db.drop()
            with contextlib.suppress(Exception):
                cache.flushdb()
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept database {args.database} and {workdir}")

    ceiling_rps = statistics.median(row.requests_per_s for row in ceilings)
    for row in rows:
        row.fraction = row.requests_per_s / row.detail["ceiling_requests_per_s"]
    result = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
        "settings": {"duration_s": args.duration, "connections": args.connections, "threads": args.threads,
                     "workers": worker_count(), "sizes": sizes, "customers": CUSTOMERS},
        "ceiling_requests_per_s": ceiling_rps,
        "ceilings": [row.__dict__ for row in ceilings],
        "rows": [row.__dict__ for row in rows],
        **extra,
    }
    result["targets"] = evaluate(result, rows, sizes)
    write_results(result, Path(args.output))
    if args.update_readme:
        update_readme(table_markdown(result), result)
    return 0


README = ROOT / "README.md"
README_START = "<!-- bench-results: written by `bench/run.py --update-readme` from bench/results/latest.json -->"
README_END = "<!-- end bench-results -->"


def update_readme(markdown: str, result: dict) -> None:
    """Replace what lies between the Benchmark section's markers with this run's table."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        log("README.md has no bench-results markers; left unchanged")
        return
    when = result["started_at"].replace("T", " ").replace("+00:00", " UTC")
    body = f"{README_START}\nLatest run, {when}:\n\n{markdown}\n![make bench chart](bench/results/latest.png)\n"
    README.write_text(text[:start] + body + text[end:], encoding="utf-8")
    log("README.md Benchmark section updated")


def evaluate(result: dict, rows: list[Row], sizes: list[int]) -> list[dict]:
    def find(scenario: str, products: int | None = None) -> Row | None:
        for row in rows:
            if row.scenario == scenario and (products is None or row.products == products):
                return row
        return None

    targets = []

    def target(name: str, value, limit, met: bool, unit: str = "") -> None:
        targets.append({"target": name, "value": value, "limit": limit, "met": met, "unit": unit})

    for scenario in ("cached product list", "cached product detail"):
        row = find(scenario)
        if row:
            target(f"{scenario} ≥ {TARGETS['cached_fraction']} of ceiling", row.fraction, TARGETS["cached_fraction"],
                   row.fraction >= TARGETS["cached_fraction"] and row.errors == 0)
    row = find("uncached product detail")
    if row:
        target(f"uncached product detail ≥ {TARGETS['uncached_detail_fraction']} of ceiling", row.fraction,
               TARGETS["uncached_detail_fraction"], row.fraction >= TARGETS["uncached_detail_fraction"] and row.errors == 0)
    small, large = find("uncached product list", sizes[0]), find("uncached product list", sizes[-1])
    if small and large and len(sizes) > 1:
        growth = large.p50_ms / small.p50_ms
        target(f"uncached list p50 at {sizes[-1]:,} ≤ {TARGETS['uncached_list_p50_growth']}× p50 at {sizes[0]:,}",
               growth, TARGETS["uncached_list_p50_growth"], growth <= TARGETS["uncached_list_p50_growth"], "×")
    row = find("checkout (3-line cart)")
    if row:
        target("checkout: zero errors", row.errors, 0, row.errors == 0)
        verification, probe = row.detail.get("verification", {}), row.detail.get("sell_out_probe", {})
        target("checkout: zero oversell (stock taken = units in orders; last units sold exactly once)",
               verification.get("oversold_units"), 0, bool(verification.get("consistent")) and bool(probe.get("ok")))
        target(f"checkout ≥ {TARGETS['checkout_fraction']} of ceiling", row.fraction, TARGETS["checkout_fraction"],
               row.fraction >= TARGETS["checkout_fraction"])
    for kind in ("cached", "uncached"):
        plain, variants = find(f"{kind} product list"), find(f"{kind} variant list")
        if kind == "uncached" and variants:
            # The plain catalog's size nearest the variant catalog's.
            plain = min((row for row in rows if row.scenario == "uncached product list"),
                        key=lambda row: abs(row.products - variants.products), default=None)
        if plain and variants:
            ratio = variants.fraction / plain.fraction
            target(f"{kind} list with variants ≥ {TARGETS['variant_list_ratio']} × the plain catalog's fraction",
                   ratio, TARGETS["variant_list_ratio"], ratio >= TARGETS["variant_list_ratio"] and variants.errors == 0,
                   "×")
    workers = result.get("workers", {}).get("shopcore", [])
    if workers:
        largest = max(worker["rss_mb"] for worker in workers)
        target(f"each web worker < {RSS_LIMIT_MB} MB resident after the run", largest, RSS_LIMIT_MB,
               largest < RSS_LIMIT_MB, "MB")
    return targets


def table_markdown(result: dict) -> str:
    ceilings = [row["requests_per_s"] for row in result["ceilings"]]
    lines = [
        f"Ceiling (bare Pyramid `{{}}`, same gunicorn), measured in slices alternating with each scenario: median "
        f"**{result['ceiling_requests_per_s']:,.0f} req/s** (from {min(ceilings):,.0f} to {max(ceilings):,.0f}); "
        f"{result['settings']['workers']} workers, {result['settings']['connections']} connections, "
        f"{result['settings']['duration_s']} s per scenario, {result['machine']['cpus']} CPUs, "
        f"load average {result['machine']['load_before'][0]:.2f} before and {result['machine']['load_after'][0]:.2f} after.",
        "",
        "| Scenario | Products | Requests/s | p50 ms | p99 ms | Errors | Ceiling req/s | × ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        products = f"{row['products']:,}" if row["products"] else ""
        lines.append(f"| {row['scenario']} | {products} | {row['requests_per_s']:,.0f} | {row['p50_ms']:.1f} | "
                     f"{row['p99_ms']:.1f} | {row['errors']} | {row['detail']['ceiling_requests_per_s']:,.0f} | "
                     f"{row['fraction']:.3f} |")
    lines += ["", "| Target | Measured | Met |", "|---|---:|:---:|"]
    for target in result["targets"]:
        value = target["value"]
        if target["unit"] == "MB":
            shown = f"{value:.0f} MB"
        else:
            shown = f"{value:.3f}{target['unit']}" if isinstance(value, float) else f"{value}{target['unit']}"
        lines.append(f"| {target['target']} | {shown} | {'yes' if target['met'] else '**no**'} |")
    for row in result["rows"]:
        if row["scenario"].startswith("checkout") and "all_requests_per_s" in row["detail"]:
            all_rps = row["detail"]["all_requests_per_s"]
            lines += ["", f"Checkout counts successful checkouts only; with the three cart adds each one needs, the "
                          f"scenario served {all_rps:,.0f} requests/s ({all_rps / row['detail']['ceiling_requests_per_s']:.3f} "
                          f"of the ceiling)."]
    workers = result.get("workers", {}).get("shopcore", [])
    if workers:
        lines += ["", "Web workers after the run: " + ", ".join(
            f"{w['rss_mb']:.0f} MB resident (peak {w['peak_rss_mb']:.0f} MB)" for w in workers) + "."]
        at_start = result.get("workers_at_start", {}).get("shopcore", [])
        if at_start:
            lines[-1] += " Right after start-up: " + ", ".join(
                f"{w['rss_mb']:.0f} MB (peak {w['peak_rss_mb']:.0f} MB)" for w in at_start) + "."
    return "\n".join(lines) + "\n"


def write_chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = result["rows"]
    labels = [row["scenario"] + (f"\n{row['products']:,} products" if row["scenario"].startswith("uncached product list")
                                 else "") for row in rows]
    fractions = [row["fraction"] for row in rows]
    ys = [len(rows) - 1 - index for index in range(len(rows))]  # the first scenario on top
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 6), sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    bars = left.barh(ys, fractions, color="#4c72b0")
    for bar, row in zip(bars, rows):
        left.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                  f" {row['requests_per_s']:,.0f} req/s", va="center", fontsize=8)
    for limit, style in ((TARGETS["cached_fraction"], "--"), (TARGETS["uncached_detail_fraction"], ":"),
                         (TARGETS["checkout_fraction"], "-.")):
        left.axvline(limit, color="#c44e52", linestyle=style, linewidth=1)
    left.set_yticks(ys)
    left.set_yticklabels(labels)
    left.set_xlabel(f"fraction of the ceiling measured alongside (bare Pyramid, median "
                    f"{result['ceiling_requests_per_s']:,.0f} req/s)")
    left.set_xlim(0, max(1.0, max(fractions) * 1.25))
    left.set_title("Throughput (red lines: targets 0.5, 0.25, 0.05)")
    right.barh([y + 0.2 for y in ys], [row["p50_ms"] for row in rows], height=0.4, label="p50", color="#55a868")
    right.barh([y - 0.2 for y in ys], [row["p99_ms"] for row in rows], height=0.4, label="p99", color="#dd8452")
    right.set_xscale("log")
    right.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    right.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.set_xlabel("latency, ms (log)")
    right.set_title("Latency")
    right.legend(loc="lower right")
    figure.suptitle(f"shopcore make bench — {result['started_at']} — {result['settings']['workers']} gunicorn workers, "
                    f"{result['settings']['connections']} connections, {result['machine']['cpus']} CPUs")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_result_files(result: dict, folder: Path, name: str, markdown: str, chart) -> None:
    """`name`.json (every number), `name`.md (`markdown`) and `name`.png (`chart(result, path)`) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    (folder / f"{name}.md").write_text(markdown, encoding="utf-8")
    chart(result, folder / f"{name}.png")
    print()
    print(markdown)
    print(f"written: {folder / f'{name}.json'}, {folder / f'{name}.md'}, {folder / f'{name}.png'}")


def write_results(result: dict, folder: Path) -> None:
    for row in result["rows"]:
        row["detail"].pop("latencies_us", None)
    write_result_files(result, folder, "latest", table_markdown(result), write_chart)


if __name__ == "__main__":
    sys.exit(main())
