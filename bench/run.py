"""`make bench`: every measure next to its reference, in one run on one machine, with the targets.

BENCH_SCALE=small|full python -m bench.run [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from datetime import date
from typing import Any

import psutil
from eventsourcing.cryptography import AESCipher
from sqlalchemy import text

from access.keys import KeyStore
from access.people import PeopleStore
from access.signin import SignIn
from bench.aggregates import load_times, long_history
from bench.browser import chromium_present, dashboard_timings
from bench.common import fresh_store, machine, progress_line, table
from bench.outbox import feed_rate, feed_wait_latency, webhook_arrivals
from bench.policy_reads import LISTS, Cast, PanelKeys, choose_cast, http_policy_reads, sql_policy_reads
from bench.portfolio import Portfolio
from bench.projections import runner_rate
from bench.reads import csv_filter, http_reads, pct, sample_ids, sql_reads
from bench.receiver import webhook_receiver
from bench.stack import Stack, running_stack
from bench.write_path import bare_application, http_load, lag_during_load
from bootstrap import open_application
from projections.read_model import ReadModel

SCALES: dict[str, dict[str, Any]] = {
    # A quick look (a few minutes for both stores): the same measures on smaller data, not the targets' sizes.
    # The reads' portfolio is sized in innovations (about fourteen events each, assignments included).
    "small": {
        "innovations": 3_000,
        "write_seconds": 5,
        "read_repeats": 30,
        "clients": 4,
        "runner_events": 3_000,
        "history": 2_000,
    },
    "full": {
        "innovations": 100_000,
        "write_seconds": 30,
        "read_repeats": 300,
        "clients": 4,
        "runner_events": 20_000,
        "history": 10_000,
    },
}
rows: list[list[str]] = []
# The HTTP write peak's target, as a share of the bare Application's rate in the same run.
PEAK_TARGETS = {"sqlite": 0.6, "postgres": 1.5}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def record(
    measure: str, store: str, value: float, unit: str, reference: str, ratio: float | None, target: str, ok: bool | None
) -> None:
    rows.append(
        [
            measure,
            store,
            f"{value:,.1f} {unit}",
            reference,
            "–" if ratio is None else f"{ratio:.2f}",
            target,
            "–" if ok is None else ("pass" if ok else "MISS"),
        ]
    )


def write_path(store: str, scale: dict[str, Any]) -> None:
    seconds, clients = scale["write_seconds"], scale["clients"]
    with fresh_store(store) as url:
        log(f"{store}: bare Application, same mix in-process")
        bare = bare_application(url, seconds)
    with fresh_store(store) as url:
        log(f"{store}: bare Application with encryption at rest (AES-GCM and zlib)")
        encrypted = bare_application(url, seconds, cipher_key=AESCipher.create_key(16))
    record(
        "write mix, encrypted at rest",
        store,
        encrypted.rate,
        "cmd/s",
        f"bare app unencrypted {bare.rate:,.0f} cmd/s",
        encrypted.rate / bare.rate,
        "– (cost reported)",
        None,
    )
    with fresh_store(store) as url, running_stack(url) as stack:
        log(f"{store}: HTTP closed loop with {clients} client processes")
        cpu_before = web_cpu_seconds(stack)
        peak = http_load(stack, clients=clients, seconds=seconds)
        cpu_ms = (web_cpu_seconds(stack) - cpu_before) * 1000 / max(peak.commands, 1)
        ratio = peak.rate / bare.rate
        # The write path's targets: on PostgreSQL, where the library commits each command on its own under a table
        # lock, HTTP with group commit is to beat it; on SQLite, whose commits are cheap, to come within reach of it.
        least = PEAK_TARGETS[store]
        record(
            "write mix, HTTP peak",
            store,
            peak.rate,
            "cmd/s",
            f"bare app {bare.rate:,.0f} cmd/s",
            ratio,
            f"≥ {least:.2f} of bare",
            ratio >= least,
        )
        record(
            "write p50/p95/p99 at peak",
            store,
            peak.percentile(99),
            "ms p99",
            f"p50 {peak.percentile(50):.1f}, p95 {peak.percentile(95):.1f} ms",
            None,
            "–",
            None,
        )
        record(
            "web worker CPU per write at peak",
            store,
            cpu_ms,
            "ms",
            # On SQLite the web process also projects and runs the outbox; on PostgreSQL their workers do.
            "gunicorn workers' CPU / writes" + (", with projections and outbox" if store == "sqlite" else ""),
            None,
            "– (reported)",
            None,
        )
        paced = 0.7 * peak.rate
        log(f"{store}: HTTP paced at 70% of peak ({paced:,.0f} cmd/s)")
        if store == "postgres":
            at70, lags = lag_during_load(stack, clients=clients, seconds=seconds, rate=paced)
            lag99 = pct(lags, 99) if lags else float("nan")
            record(
                "projection lag at 70%",
                store,
                lag99,
                "ms p99",
                f"p50 {pct(lags, 50):.1f} ms, {len(lags)} samples",
                None,
                "p99 < 100 ms",
                lag99 < 100,
            )
        else:
            at70 = http_load(stack, clients=clients, seconds=seconds, total_rate=paced)
        p99 = at70.percentile(99)
        record(
            "write p99 at 70% of peak",
            store,
            p99,
            "ms",
            f"{at70.rate:,.0f} cmd/s; p50 {at70.percentile(50):.1f}, p95 {at70.percentile(95):.1f} ms",
            None,
            "p99 < 50 ms",
            p99 < 50,
        )
        outbox(store, stack, clients=clients, seconds=seconds, rate=paced)


def web_cpu_seconds(stack: Stack) -> float:
    """The CPU time (user and system) the gunicorn workers have used so far."""
    total = 0.0
    for pid in stack.web_pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def outbox(store: str, stack: Stack, *, clients: int, seconds: float, rate: float) -> None:
    """Webhooks under the paced load, then the event feed over the log the load wrote."""
    with webhook_receiver() as receiver:
        log(f"{store}: HTTP paced at 70% of peak ({rate:,.0f} cmd/s) with a webhook endpoint taking every event")
        arrivals = webhook_arrivals(stack, receiver, clients=clients, seconds=seconds, rate=rate)
    p99 = pct(arrivals.latencies_ms, 99)
    record(
        "write to webhook arrival at 70%",
        store,
        p99,
        "ms p99",
        f"p50 {pct(arrivals.latencies_ms, 50):.0f} ms; {arrivals.expected:,} events, {arrivals.undelivered} not "
        f"arrived; writes p99 {arrivals.load.percentile(99):.1f} ms",
        None,
        "p99 < 500 ms",
        p99 < 500 and arrivals.undelivered == 0,
    )
    log(f"{store}: the event feed's long poll, woken by a write")
    waits = feed_wait_latency(stack)
    p95 = pct(waits, 95)
    record(
        "event feed wait, answered after a write",
        store,
        p95,
        "ms p95",
        f"p50 {pct(waits, 50):.0f} ms; {len(waits)} writes, each awaited by a read with wait=10",
        None,
        "< 100 ms",
        p95 < 100 and len(waits) == 20,
    )
    log(f"{store}: the event feed from the start of the log")
    over_http, direct, events = feed_rate(stack)
    record(
        "event feed read rate",
        store,
        over_http,
        "events/s",
        f"store read directly {direct:,.0f} events/s ({events:,} events, pages of 1,000)",
        over_http / direct,
        "– (reported)",
        None,
    )


def reads_and_rebuild(store: str, scale: dict[str, Any]) -> None:
    with fresh_store(store) as url:
        app = open_application(url)
        read_model = ReadModel(app, url)
        # The portfolio's evaluators are people with keys, so their queues can be read over HTTP.
        panel = PanelKeys(KeyStore(read_model.reader, read_model.writer))
        log(f"{store}: generating {scale['innovations']:,} innovations")
        written = Portfolio(app, evaluator_id=panel).generate_innovations(
            scale["innovations"], per_save=200, progress=progress_line("events written")
        )
        log(f"{store}: rebuilding all projections over {written:,} events")
        started = time.perf_counter()
        read_model.rebuild(progress_line("rebuilt"))
        rate = written / (time.perf_counter() - started)
        if store == "postgres":
            log(f"{store}: ProjectionRunner over {scale['runner_events']:,} events")
            reference = runner_rate(url, scale["runner_events"])
            record(
                "rebuild",
                store,
                rate,
                "events/s",
                f"ProjectionRunner {reference:,.0f} events/s",
                rate / reference,
                "≥ 5× ProjectionRunner",
                rate >= 5 * reference,
            )
        else:
            record(
                "rebuild",
                store,
                rate,
                "events/s",
                "47,000 events/s (NOTES, batched)",
                rate / 47_000,
                "≥ 30,000 events/s",
                rate >= 30_000,
            )
        with read_model.reader.connect() as conn:
            innovations = conn.execute(text("SELECT count(*) FROM rm_innovations")).scalar_one()
        ids = sample_ids(read_model)
        csv_query, csv_filters, csv_rows = csv_filter(read_model)
        log(f"{store}: reads over {innovations:,} innovations (CSV of {csv_rows:,} rows: {csv_query})")
        sql = sql_reads(read_model, ids, scale["read_repeats"], csv_filters, list(panel.tokens))
        cast = choose_cast(read_model, panel)
        # An analyst who signs in to the pages, for the dashboard's timings in Chromium.
        people = PeopleStore(read_model.reader, read_model.writer)
        analyst = people.create(actor_id="bench", name="Bench analyst", email=ANALYST_EMAIL, role="analyst")
        SignIn(people).set_password(analyst.id, ANALYST_PASSWORD, actor_id="bench")
        log(f"{store}: policy reads (queue of {cast.pending:,}; provider owning {cast.owned:,} innovations)")
        sql_policy = sql_policy_reads(read_model, cast, scale["read_repeats"])
        with running_stack(url) as stack:
            peak_rss = [0]
            sampling = threading.Event()

            def sample_rss() -> None:
                while not sampling.is_set():
                    for pid in stack.web_pids:
                        with contextlib.suppress(psutil.Error):
                            peak_rss[0] = max(peak_rss[0], psutil.Process(pid).memory_info().rss)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample_rss)
            sampler.start()
            over_http = http_reads(stack, ids, scale["read_repeats"], csv_query, list(panel.tokens))
            policy_http = http_policy_reads(stack, cast, scale["read_repeats"])
            sampling.set()
            sampler.join()
            if chromium_present():
                log(f"{store}: the dashboard in Chromium")
                dashboard(store, dashboard_timings(stack.base, ANALYST_EMAIL, ANALYST_PASSWORD))
            else:
                log(f"{store}: no Chromium (make browser installs it): the dashboard's timings are not measured")
        for name, samples in over_http.items():
            series = ("as-of funnel", "funnel series", "score series")
            target_ms = 1000 if name.startswith("csv") else 100 if name in series else 25
            p95 = pct(samples, 95)
            label = f"read csv ({csv_rows:,} rows)" if name.startswith("csv") else f"read {name}"
            record(
                label,
                store,
                p95,
                "ms p95",
                f"p50 {pct(samples, 50):.1f} ms; SQL p50 {pct(sql[name], 50):.1f} / p95 {pct(sql[name], 95):.1f} ms",
                None,
                f"p95 < {target_ms:,} ms" if not name.startswith("csv") else "< 1,000 ms",
                p95 < target_ms,
            )
        policy_reads(store, cast, policy_http, sql_policy)
        record(
            "gunicorn worker peak RSS during reads",
            store,
            peak_rss[0] / 2**20,
            "MB",
            f"{innovations:,} innovations",
            None,
            "< 250 MB",
            peak_rss[0] < 250 * 2**20,
        )
        log(f"{store}: an innovation with {scale['history']:,} events")
        innovation = long_history(app, scale["history"])
        with_snapshots, from_scratch = load_times(app, innovation, 200)
        p99 = pct(with_snapshots, 99)
        record(
            f"load innovation with {scale['history']:,} events",
            store,
            p99,
            "ms p99",
            f"replay from scratch p50 {pct(from_scratch, 50):.0f} ms",
            None,
            "p99 < 10 ms",
            p99 < 10,
        )
        read_model.close()
        app.close()


ANALYST_EMAIL = "analyst@bench.example.org"
ANALYST_PASSWORD = "a bench analyst's pass phrase"  # noqa: S105 - a throwaway bench database's


def dashboard(store: str, timings: dict[str, list[float]]) -> None:
    """The dashboard in Chromium: the worst of its first views, and the slider's steps at p95."""
    worst = max(timings["first view"])
    record(
        "dashboard first complete view",
        store,
        worst,
        "ms worst",
        f"median {pct(timings['first view'], 50):,.0f} ms of {len(timings['first view'])} loads",
        None,
        "< 1,500 ms",
        worst < 1500,
    )
    for name in ("slider step (funnel)", "slider step (whole view)"):
        samples = timings[name]
        p95 = pct(samples, 95)
        record(
            f"dashboard {name}",
            store,
            p95,
            "ms p95",
            f"p50 {pct(samples, 50):,.0f} ms, {len(samples)} steps"
            + ("; waits 150 ms for the slider to rest" if name.endswith("(whole view)") else ""),
            None,
            "p95 < 300 ms",
            p95 < 300,
        )
    samples = timings["slider step (medians by group)"]
    record(
        "dashboard slider step (medians by group)",
        store,
        pct(samples, 95),
        "ms p95",
        f"p50 {pct(samples, 50):,.0f} ms; every group's median as of the step, filled in after the view",
        None,
        "– (reported)",
        None,
    )


def policy_reads(store: str, cast: Cast, over_http: dict[str, list[float]], sql: dict[str, list[float]]) -> None:
    """The queue, and each list by an analyst, a provider and an evaluator: the policy's cost is the ratio of a
    restricted role's p95 to the analyst's (who reads with no condition)."""

    def measured(name: str) -> tuple[float, str]:
        http, db = over_http[name], sql[name]
        detail = f"p50 {pct(http, 50):.1f} ms; SQL p50 {pct(db, 50):.1f} / p95 {pct(db, 95):.1f} ms"
        return pct(http, 95), detail

    p95, detail = measured("queue")
    record(
        f"read evaluator queue ({cast.pending:,} pending)", store, p95, "ms p95", detail, None, "p95 < 25 ms", p95 < 25
    )
    for name in LISTS:
        analyst, detail = measured(f"{name} as analyst")
        record(f"read {name} as analyst", store, analyst, "ms p95", detail, None, "p95 < 25 ms", analyst < 25)
        for role, label in (("provider", f"provider (owns {cast.owned:,})"), ("evaluator", "evaluator")):
            p95, detail = measured(f"{name} as {role}")
            ratio = p95 / analyst
            within = ratio <= 1.5
            target = "≤ 1.5× analyst"
            if role == "provider":
                target, within = f"p95 < 25 ms, {target}", within and p95 < 25
            record(f"read {name} as {label}", store, p95, "ms p95", detail, ratio, target, within)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--only", default="write,reads", help="write, reads or both")
    args = parser.parse_args(argv)
    scale_name = os.environ.get("BENCH_SCALE", "small")
    scale = SCALES[scale_name]
    started = time.perf_counter()
    for store in args.stores.split(","):
        if "write" in args.only:
            write_path(store, scale)
        if "reads" in args.only:
            reads_and_rebuild(store, scale)
    print(f"\nTracker benchmarks, BENCH_SCALE={scale_name}, {date.today().isoformat()}, {machine()}")
    print(f"took {time.perf_counter() - started:,.0f} s; reproduce with: BENCH_SCALE={scale_name} make bench\n")
    print(table(["measure", "store", "value", "reference (same run)", "ratio", "target", "result"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
