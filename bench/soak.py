"""`make soak`: mixed traffic against production.ini, for 10 minutes, at 80 % of the peak it measures first.

Built on bench/run.py's machinery (the database, seeding, `pserve production.ini` under gunicorn, wrk
and its Lua scripts), in one run that is bounded in time and cleans up after itself:

1. a fresh PostgreSQL database (`shopcore_soak`, dropped at the end) and Redis DB 13 (flushed),
   migrated and seeded with 1,000 demo products; `pserve production.ini` on loopback; 16 customers
   registered and logged in through the API;
2. the mix, per customer (one wrk thread and connection each) and cycle of 20 requests: 16 catalog
   reads (80 %: product pages, categories, details of any product, searches), 3 cart adds (15 %) and
   a checkout of that cart (5 %), every checkout buying the same three products (the hottest rows);
3. the peak: the mix as fast as the 16 customers go, for `--peak-seconds` (30), after a warm-up;
4. the soak: the mix paced to `--fraction` (0.8) of that peak, for `--duration` seconds (600), while
   each gunicorn worker's resident memory is read from /proc every `--sample-seconds` (5);
5. the bars: zero errors (no answer of 4xx/5xx, no socket error or timeout), each worker's resident
   memory grown by less than 10 % from the soak's start to its end, and the p99 latency of the last
   minute within 1.5× of the first minute's (a run shorter than 4 minutes compares its first and
   last quarters); then the database is checked as the bench checks it (no oversell, whole orders);
6. results written next to the bench's: bench/results/soak.json, soak.md and soak.png (a chart of
   throughput, latency and worker memory over time).

Run it through `make soak` (which installs wrk and matplotlib); `bench/soak.py --help` lists options.
A short run (`--duration 60`) checks that the harness works; the bars are judged on the 10 minutes,
on a quiet machine.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import run as bench  # bench/run.py: this script's folder is first on sys.path

SOAK_APP_SETTINGS = bench.BENCH_APP_SETTINGS + (
    # The customers log in once, before the peak: their access tokens must outlast the run.
    "shopcore.jwt.access_ttl = 7200\n"
)
CYCLE_BROWSE, CYCLE_ADDS = 16, 3  # + 1 checkout: 80 / 15 / 5 % of the requests
RSS_GROWTH_LIMIT = 0.10
P99_GROWTH_LIMIT = 1.5
CHART_BUCKET_SECONDS = 10


def browse_paths(db: bench.Database) -> list[str]:
    """What browsing customers ask for, spread over the catalog: list pages in each ordering,
    categories, details of any product, searches (each request takes the next one)."""
    categories = [row[0] for row in db.query("SELECT id FROM catalog_categories ORDER BY id")]
    products = [row[0] for row in db.query("SELECT id FROM catalog_products WHERE is_active ORDER BY id")]
    lists = [f"/api/products/?page={page}&ordering={ordering}" for page in range(1, 6)
             for ordering in ("name", "price", "-price", "-created_at")]
    lists += [f"/api/products/?category={category}" for category in categories]
    searches = [f"/api/products/?search={word}" for word in ("lamp", "chair", "desk", "mug", "book", "shirt")]
    details = [f"/api/products/{pid}/" for pid in products]
    paths: list[str] = []
    # Interleaved: two list pages, a category listing, four details, a search... in turn.
    for index in range(max(len(details) // 4, len(lists))):
        paths.append(lists[index % len(lists)])
        paths.append("/api/categories/" if index % 5 == 0 else lists[(index * 7 + 3) % len(lists)])
        paths.extend(details[(index * 4 + k) % len(details)] for k in range(4))
        if index % 3 == 0:
            paths.append(searches[index % len(searches)])
    return paths


def cycle_steps(hot: list[int]) -> list[dict]:
    """A customer's 20 requests: browsing, with the three cart adds among it, then the checkout."""
    adds = [{"kind": "cart_add", "method": "POST", "path": "/api/cart/items/",
             "body": json.dumps({"product": pid, "quantity": 1})} for pid in hot]
    browse = {"kind": "browse", "method": "GET", "path": "/api/products/"}
    steps: list[dict] = []
    per_gap = CYCLE_BROWSE // (CYCLE_ADDS + 1)
    for add in adds:
        steps += [browse] * per_gap + [add]
    steps += [browse] * (CYCLE_BROWSE - per_gap * CYCLE_ADDS)
    steps.append({"kind": "checkout", "method": "POST", "path": "/api/orders/checkout/",
                  "body": json.dumps({"shipping_address": "1 Soak Street, Loopback", "payment_method": "credit_card"})})
    assert len(steps) == CYCLE_BROWSE + CYCLE_ADDS + 1
    return steps


def responses(report: dict) -> list[tuple[float, float, int]]:
    """Every response of a mixed.lua run as (ms since start, latency µs, status), in time order."""
    out = []
    for stats in report.get("kinds", {}).values():
        out.extend(zip(stats["at_ms"], stats["latencies_us"], stats["codes"]))
    return sorted(out)


def window_stats(items: list[tuple[float, float, int]], seconds: float) -> dict:
    latencies = [latency for _, latency, _ in items]
    return {"requests": len(items), "requests_per_s": len(items) / seconds if seconds else 0.0,
            "errors": sum(1 for _, _, status in items if status >= 400),
            "p50_ms": bench.percentile(latencies, 0.5) / 1000, "p99_ms": bench.percentile(latencies, 0.99) / 1000}


def series(items: list[tuple[float, float, int]], duration: float, bucket: float) -> list[dict]:
    """Throughput, errors and latency per `bucket` seconds, over the run (a last bucket shorter than
    half of one joins the one before it)."""
    out = []
    start = 0.0
    while start < duration:
        end = start + bucket
        if duration - end < bucket / 2:
            end = duration
        inside = [item for item in items if start * 1000 <= item[0] < end * 1000]
        out.append({"from_s": start, "to_s": end, **window_stats(inside, end - start)})
        start = end
    return out


def sample_memory(server: bench.Server, every: float, stop: threading.Event, into: list[dict]) -> None:
    started = time.monotonic()
    while not stop.is_set():
        into.append({"at_s": round(time.monotonic() - started, 1), "workers": bench.memory_of(server),
                     "load_average": os.getloadavg()[0]})
        stop.wait(every)


def memory_growth(samples: list[dict]) -> dict:
    """Each worker's resident memory at the soak's first and last sample (by pid: a restarted worker
    shows up as one that was not there at the start)."""
    first = {worker["pid"]: worker["rss_mb"] for worker in samples[0]["workers"]}
    last = {worker["pid"]: worker["rss_mb"] for worker in samples[-1]["workers"]}
    growth = {str(pid): {"start_mb": first[pid], "end_mb": last[pid], "growth": last[pid] / first[pid] - 1}
              for pid in first if pid in last and first[pid]}
    return {"workers": growth, "restarted": sorted(set(first) ^ set(last))}


def empty_carts(base: str, tokens: list[str]) -> None:
    for token in tokens:
        bench.expect(bench.call(f"{base}/api/cart/", "DELETE", token=token), 204, what="emptying a cart")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("SOAK_DURATION", 600)),
                        help="seconds of soak (default 600, or SOAK_DURATION)")
    parser.add_argument("--peak-seconds", type=int, default=30, help="seconds of the peak measurement (default 30)")
    parser.add_argument("--fraction", type=float, default=0.8, help="of the peak to soak at (default 0.8)")
    parser.add_argument("--customers", type=int, default=bench.CUSTOMERS,
                        help=f"customers, one wrk thread and connection each (default {bench.CUSTOMERS})")
    parser.add_argument("--products", type=int, default=1000, help="catalog size (default 1000)")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="seconds between memory samples (default 5)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL URL allowed to create and drop databases")
    parser.add_argument("--database", default="shopcore_soak", help="the database created and dropped (default shopcore_soak)")
    parser.add_argument("--redis", default=os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/13"),
                        help="Redis URL of the database the soak flushes and uses (default DB 13)")
    parser.add_argument("--wait-for-quiet", type=float, metavar="LOAD", default=None,
                        help="first wait (up to 15 minutes) until the 1-minute load average is below LOAD")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    parser.add_argument("--output", default=str(bench.RESULTS), help="folder for soak.json, soak.md and soak.png")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        raise SystemExit("soak: wrk is not installed (make soak installs it: apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="shopcore-soak-"))
    options = bench.Options(args.duration, args.customers, args.customers, workdir)
    customer = {"threads": args.customers, "connections": args.customers}

    import redis

    cache = redis.Redis.from_url(args.redis)
    db = bench.Database(args.postgres, args.database)
    env = bench.shop_environment(db, args.redis, workdir)
    bench.wait_for_quiet(args.wait_for_quiet)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    bench.log(f"soak: load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} on "
              f"{os.cpu_count()} CPUs; work folder {workdir}")
    server = None
    result: dict = {}
    try:
        bench.log(f"database {args.database}: create, migrate, seed {args.products:,} products; Redis {args.redis}")
        seed_seconds = bench.prepare_shop(env, db, cache, args.products)
        server = bench.start_server("shopcore", "", workdir, env, "/health", app_settings=SOAK_APP_SETTINGS)
        base = server.url
        bench.log(f"shopcore on {base} (workers {server.workers()}); {args.customers} customers sign up")
        tokens = bench.sign_up_customers(base, args.customers)
        admin = bench.log_in(base, "bench-admin")
        hot = [row[0] for row in db.query(
            "SELECT id FROM catalog_products WHERE is_active ORDER BY id LIMIT %s", CYCLE_ADDS)]
        for pid in hot:
            bench.expect(bench.call(f"{base}/api/products/{pid}/", "PATCH", {"stock": bench.HOT_STOCK}, token=admin),
                         200, what="setting stock for checkout")
        config = {"tokens": tokens, "steps": cycle_steps(hot), "browse": browse_paths(db)}
        runs = []

        def mixed(seconds: int, rate: float | None = None) -> dict:
            report = bench.wrk(options, base, "mixed.lua", {**config, **({"rate": rate} if rate else {})},
                               duration=seconds, **customer)
            runs.append(report)
            empty_carts(base, tokens)  # the next run starts each customer's cycle afresh
            return report

        bench.log("warm-up: 10 s of the mix")
        mixed(10)
        bench.log(f"peak: the mix as fast as {args.customers} customers go, {args.peak_seconds} s")
        peak = mixed(args.peak_seconds)
        peak_rps = peak["requests"] / (peak["duration_us"] / 1e6)
        target = args.fraction * peak_rps
        bench.log(f"peak {peak_rps:,.0f} req/s; soak at {target:,.0f} req/s for {args.duration} s")

        samples: list[dict] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(server, args.sample_seconds, stop, samples), daemon=True)
        sampler.start()
        try:
            soak = mixed(args.duration, rate=target)
        finally:
            stop.set()
            sampler.join(timeout=10)
        samples.append({"at_s": args.duration, "workers": bench.memory_of(server), "load_average": os.getloadavg()[0]})

        orders = bench.settled_count(db, "SELECT count(*) FROM orders_orders")
        answered = sum(report["kinds"].get("checkout", {}).get("statuses", {}).get("201", 0) for report in runs)
        verification = bench.verify_stock(db, hot, bench.HOT_STOCK, orders, answered, len(runs))
        result = summarize(args, soak, peak, peak_rps, target, samples, verification)
        result.update({"started_at": started_at.isoformat(timespec="seconds"),
                       "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
                       "seed_seconds": seed_seconds})
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            for cleanup in (db.drop, cache.flushdb):
                try:
                    cleanup()
                except Exception as exc:  # a failed clean-up must not hide the run's own error
                    bench.log(f"clean-up: {type(exc).__name__}: {exc}")
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            bench.log(f"kept database {args.database} and {workdir}")
    write_results(result, Path(args.output))
    return 0 if all(bar["met"] for bar in result["bars"]) else 1


def summarize(args, soak: dict, peak: dict, peak_rps: float, target: float, samples: list[dict],
              verification: dict) -> dict:
    duration = soak["duration_us"] / 1e6
    items = responses(soak)
    window = min(60.0, duration / 4)
    first = window_stats([item for item in items if item[0] < window * 1000], window)
    last = window_stats([item for item in items if item[0] >= (duration - window) * 1000], window)
    errors = sum(1 for _, _, status in items if status >= 400) + bench.socket_errors(soak)
    memory = memory_growth(samples)
    largest_growth = max((worker["growth"] for worker in memory["workers"].values()), default=float("nan"))
    p99_growth = last["p99_ms"] / first["p99_ms"] if first["p99_ms"] else float("nan")
    bars = [
        {"bar": "zero errors (4xx/5xx answers, socket errors, timeouts) during the soak", "value": errors,
         "limit": 0, "met": errors == 0},
        {"bar": f"each worker's resident memory grows < {RSS_GROWTH_LIMIT:.0%} over the soak",
         "value": largest_growth, "limit": RSS_GROWTH_LIMIT,
         "met": bool(memory["workers"]) and not memory["restarted"] and largest_growth < RSS_GROWTH_LIMIT},
        {"bar": f"p99 of the last {window:.0f} s ≤ {P99_GROWTH_LIMIT}× p99 of the first {window:.0f} s",
         "value": p99_growth, "limit": P99_GROWTH_LIMIT, "met": p99_growth <= P99_GROWTH_LIMIT},
        {"bar": "no oversell, every order whole (stock taken = units in order lines)",
         "value": verification["oversold_units"], "limit": 0, "met": bool(verification["consistent"])},
    ]
    kinds = {name: {"requests": len(stats["latencies_us"]), "statuses": stats["statuses"],
                    "p50_ms": bench.percentile(stats["latencies_us"], 0.5) / 1000,
                    "p99_ms": bench.percentile(stats["latencies_us"], 0.99) / 1000,
                    **({"sample_error": stats["sample_error"]} if stats.get("sample_error") else {})}
             for name, stats in soak.get("kinds", {}).items()}
    return {
        "settings": {"duration_s": args.duration, "peak_seconds": args.peak_seconds, "fraction": args.fraction,
                     "customers": args.customers, "products": args.products, "workers": bench.worker_count(),
                     "mix": {"browse": CYCLE_BROWSE, "cart_add": CYCLE_ADDS, "checkout": 1}},
        "peak": {"requests_per_s": peak_rps, "requests": peak["requests"], "errors": peak["errors"],
                 "latency_us": peak["latency_us"]},
        "target_requests_per_s": target,
        "soak": {"requests_per_s": len(items) / duration if duration else 0.0, "requests": len(items),
                 "duration_s": duration, "errors": errors, "socket_errors": soak["errors"], "kinds": kinds,
                 "window_s": window, "first_window": first, "last_window": last,
                 "series": series(items, duration, CHART_BUCKET_SECONDS)},
        "memory": {**memory, "samples": samples},
        "verification": verification,
        "bars": bars,
    }


def table_markdown(result: dict) -> str:
    settings, soak = result["settings"], result["soak"]
    lines = [
        f"`make soak` of {result['started_at'].replace('T', ' ').replace('+00:00', ' UTC')}: "
        f"{soak['duration_s']:.0f} s at {result['target_requests_per_s']:,.0f} req/s "
        f"({settings['fraction']:.0%} of the peak of {result['peak']['requests_per_s']:,.0f} req/s measured first over "
        f"{settings['peak_seconds']} s), {settings['customers']} customers, {settings['workers']} gunicorn workers, "
        f"{settings['products']:,} products, {result['machine']['cpus']} CPUs, load average "
        f"{result['machine']['load_before'][0]:.2f} before and {result['machine']['load_after'][0]:.2f} after.",
        "",
        "| Requests | Requests/s | Errors | p50 ms | p99 ms | first / last window p99 ms |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {soak['requests']:,} | {soak['requests_per_s']:,.1f} | {soak['errors']} | "
        f"{bench.percentile([row['p50_ms'] for row in soak['series']], 0.5):.1f} | "
        f"{max((row['p99_ms'] for row in soak['series']), default=float('nan')):.1f} (worst {CHART_BUCKET_SECONDS} s) | "
        f"{soak['first_window']['p99_ms']:.1f} / {soak['last_window']['p99_ms']:.1f} |",
        "",
        "| Kind | Requests | Share | p50 ms | p99 ms | Statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    total = sum(kind["requests"] for kind in soak["kinds"].values()) or 1
    for name, kind in soak["kinds"].items():
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(kind["statuses"].items()))
        lines.append(f"| {name} | {kind['requests']:,} | {kind['requests'] / total:.0%} | {kind['p50_ms']:.1f} | "
                     f"{kind['p99_ms']:.1f} | {statuses} |")
    lines += ["", "| Bar | Measured | Met |", "|---|---:|:---:|"]
    for bar in result["bars"]:
        value = bar["value"]
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        if "memory" in bar["bar"] and isinstance(value, float):
            shown = f"{value:+.1%}"
        lines.append(f"| {bar['bar']} | {shown} | {'yes' if bar['met'] else '**no**'} |")
    workers = result["memory"]["workers"]
    if workers:
        lines += ["", "Workers: " + ", ".join(f"{worker['start_mb']:.0f} → {worker['end_mb']:.0f} MB resident"
                                              for worker in workers.values()) + "."]
    if result["memory"]["restarted"]:
        lines.append(f"Workers restarted during the soak (pids): {result['memory']['restarted']}.")
    return "\n".join(lines) + "\n"


def write_chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["soak"]["series"]
    middle = [(row["from_s"] + row["to_s"]) / 2 for row in rows]
    figure, (rate, latency, memory) = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    rate.plot(middle, [row["requests_per_s"] for row in rows], color="#4c72b0", label="served")
    rate.axhline(result["target_requests_per_s"], color="#c44e52", linestyle="--", linewidth=1,
                 label=f"target ({result['settings']['fraction']:.0%} of the peak)")
    errors = [(x, row["errors"]) for x, row in zip(middle, rows) if row["errors"]]
    if errors:
        rate.scatter([x for x, _ in errors], [0] * len(errors), color="#c44e52", marker="x", label="errors in bucket")
    rate.set_ylabel("requests/s")
    rate.set_ylim(bottom=0)
    rate.legend(loc="lower right")
    rate.set_title(f"Throughput per {CHART_BUCKET_SECONDS} s")
    latency.plot(middle, [row["p50_ms"] for row in rows], color="#55a868", label="p50")
    latency.plot(middle, [row["p99_ms"] for row in rows], color="#dd8452", label="p99")
    latency.set_ylabel("ms")
    latency.set_ylim(bottom=0)
    latency.legend(loc="upper right")
    latency.set_title("Latency (every kind of request)")
    samples = result["memory"]["samples"]
    pids = sorted({worker["pid"] for sample in samples for worker in sample["workers"]})
    for pid in pids:
        points = [(sample["at_s"], worker["rss_mb"]) for sample in samples for worker in sample["workers"]
                  if worker["pid"] == pid]
        memory.plot([x for x, _ in points], [y for _, y in points], label=f"worker {pid}")
    starts = [worker["rss_mb"] for worker in samples[0]["workers"]] if samples else []
    if starts:
        memory.axhline(max(starts) * (1 + RSS_GROWTH_LIMIT), color="#c44e52", linestyle="--", linewidth=1,
                       label=f"+{RSS_GROWTH_LIMIT:.0%} of the largest at the start")
        memory.set_ylim(0, max(starts) * (1 + 2 * RSS_GROWTH_LIMIT))
    memory.set_ylabel("resident MB")
    memory.set_xlabel("seconds into the soak")
    memory.legend(loc="lower right")
    memory.set_title("Web workers' resident memory")
    figure.suptitle(f"shopcore make soak — {result['started_at']} — {result['settings']['customers']} customers, "
                    f"{result['settings']['workers']} gunicorn workers, {result['machine']['cpus']} CPUs")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_results(result: dict, folder: Path) -> None:
    bench.write_result_files(result, folder, "soak", table_markdown(result), write_chart)


if __name__ == "__main__":
    sys.exit(main())
