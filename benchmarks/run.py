"""Throughput and latency of the moderation service, end to end, beside the model alone and the naive design.

    make bench       (= .venv/bin/python benchmarks/run.py)

Prints one table (docs/performance.md explains every row) and writes the figures as JSON. Parts:

1. Model only: the default model's scorer in both profiles (`fast`, `full`), batches of 256 in as
   many forked processes as the load run has workers, and one comment at a time; beside a plain TF-IDF
   + logistic regression baseline trained in the same run. Real comment texts from the training
   corpora, each scored once.
2. Load, through the real stack (benchmarks/stack.py: gunicorn API, RQ worker processes, a Redis and a
   PostgreSQL of its own, or SQLite), in both profiles: an open-loop generator at fixed rates (one
   comment per POST), `?wait` at 5 a second (full profile), and a maximum-throughput run through
   `/api/v1/comments:batch`; accept latency, decision latency (benchmarks/load.py says how it is
   observed), refused and lost comments, worker memory.
3. The naive design in the same stack (benchmarks/naive.py): one RQ job per comment, RQ's forking
   worker, one model call and one transaction per comment.

The model: `--models DIR` (a registry; its newest version). Without it the benchmark uses
var/bench-home/models, training the default model there first (`moderation train`, a few minutes) if
that holds none.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from load import DecisionClock, median, open_loop, percentiles, post_batches  # noqa: E402
from model_only import corpus_texts, parallel_rate, scorer_for, single_latency  # noqa: E402
from naive import JOB, QUEUE  # noqa: E402
from rq import Queue  # noqa: E402
from stack import ROOT, SharedPostgres, Stack, StackOptions, memory  # noqa: E402

from classifiers.registry import Registry  # noqa: E402
from workers.lifeline import die_with_parent  # noqa: E402

DEFAULT_HOME = ROOT / "var" / "bench-home"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Texts:
    """Hands out distinct corpus texts in order (wrapping round only when they run out)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.at = texts, 0

    def take(self, count: int) -> list[str]:
        out = [self.texts[(self.at + i) % len(self.texts)] for i in range(count)]
        self.at = (self.at + count) % len(self.texts)
        return out


class LoadAverage:
    """Samples the 1-minute load average every few seconds while the benchmark runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        values = self.samples or [os.getloadavg()[0]]
        return {"min": min(values), "median": round(statistics.median(values), 2), "max": max(values)}


def ensure_model(models: Path | None) -> Path:
    if models is not None:
        return models
    registry = DEFAULT_HOME / "models"
    if Registry(registry).latest() is None:
        log(f"no model in {registry}: training the default model there (a few minutes)")
        env = dict(os.environ, MODERATION_HOME=str(DEFAULT_HOME))
        env.pop("DATABASE_URL", None)
        subprocess.run([sys.executable, "-m", "moderation", "train"], env=env, check=True, cwd=ROOT)
    return registry


# -- part 1: the model alone ---------------------------------------------------------------------------
def model_part(args: argparse.Namespace, registry: Registry, version: str, texts: Texts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sizes = {"fast": args.model_texts_fast, "full": args.model_texts_full}
    for profile in args.profiles:
        scorer = scorer_for(registry, version, profile)
        log(f"model only, {profile}: {sizes[profile]} comments in {args.workers} processes")
        rate = parallel_rate(scorer.score, texts.take(sizes[profile]), args.workers, 256)
        single = single_latency(scorer.score, texts.take(200))
        out[profile] = {"batch_per_s": round(rate), "single": percentiles(single)}
    log("model only: plain TF-IDF + logistic regression baseline (trained now, quick corpora)")
    from bench_scoring import train_baseline

    baseline = train_baseline(quick=True)
    rate = parallel_rate(baseline.predict_proba, texts.take(args.model_texts_fast), args.workers, 256)
    single = single_latency(baseline.predict_proba, texts.take(200))
    out["baseline"] = {"batch_per_s": round(rate), "single": percentiles(single)}
    return out


# -- part 2: load through the stack ----------------------------------------------------------------------
def summarise(sent: list[Any], clock: DecisionClock, settle_s: float) -> dict[str, Any]:
    accepted = [s for s in sent if 200 <= s.status < 300 and s.comment_id]
    missing = clock.wait_for([s.comment_id for s in accepted], settle_s)
    decision = [clock.decided[s.comment_id] - s.due for s in accepted if s.comment_id in clock.decided]
    return {
        "offered": len(sent),
        "accepted": len(accepted),
        "refused": len(sent) - len(accepted),
        "lost": missing,
        "accept_ms": percentiles([s.accept_s for s in accepted]),
        "decision_ms": percentiles(decision),
    }


def max_throughput(stack: Stack, clock: DecisionClock, texts: list[str], run: str) -> dict[str, Any]:
    start, end, ids, refused = post_batches(stack.port, stack.key, texts, len(texts), run)
    missing = clock.wait_for(ids, 300)
    times = sorted(clock.decided[i] for i in ids if i in clock.decided)
    result: dict[str, Any] = {
        "comments": len(texts),
        "accepted": len(ids),
        "refused_batches": refused,
        "lost": missing,
        "accepted_per_s": round(len(ids) / (end - start)),
    }
    if len(times) >= 10:
        result["decided_per_s"] = round(len(times) / (times[-1] - start))
        # Sustained: the middle 80 % of the decisions, without the start-up and the tail.
        low, high = times[len(times) // 10], times[len(times) * 9 // 10]
        result["sustained_per_s"] = round((len(times) * 8 // 10) / max(1e-6, high - low))
    return result


def naive_part(
    stack: Stack, clock: DecisionClock, texts: list[str], run: str, workers: int
) -> dict[str, Any]:
    """Stops the product's workers, stores the comments through the API, then lets the naive workers
    decide them one job each."""
    for process in stack.workers:
        process.terminate()
    for process in stack.workers:
        process.wait(timeout=60)
    _, _, ids, _ = post_batches(stack.port, stack.key, texts, len(texts), run)
    naive = []
    for number in range(workers):
        path = stack.base / f"naive-{number + 1}.log"
        naive.append(
            subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("naive.py"))],
                env=stack.env,
                cwd=ROOT,
                stdout=path.open("wb"),
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        )
    try:
        deadline = time.monotonic() + 300
        while sum("naive worker ready" in stack.log(f"naive-{n + 1}") for n in range(workers)) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in naive):
                raise RuntimeError("naive workers did not start:\n" + stack.log("naive-1")[-3000:])
            time.sleep(0.2)
        queue = Queue(QUEUE, connection=stack.redis_client())
        start = time.time()
        queue.enqueue_many([Queue.prepare_data(JOB, (cid,), result_ttl=0) for cid in ids])
        missing = clock.wait_for(ids, 600)
        times = sorted(clock.decided[i] for i in ids if i in clock.decided)
        rate = round(len(times) / (times[-1] - start)) if times else 0
        return {"comments": len(ids), "lost": missing, "decided_per_s": rate}
    finally:
        for process in naive:
            process.terminate()
        for process in naive:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def load_rounds(
    args: argparse.Namespace, stack: Stack, clock: DecisionClock, texts: Texts, run: str
) -> dict[str, Any]:
    """One round of the load runs on a running stack: open loop at each rate, `?wait` (full), maximum."""
    out: dict[str, Any] = {}
    name, profile = f"{stack.options.database}/{stack.options.profile}", stack.options.profile
    for rate in args.rates_fast if profile == "fast" else args.rates_full:
        log(f"{name}: {rate:g} comments a second for {args.seconds:.0f} s")
        count = int(rate * args.seconds)
        result = open_loop(stack.port, stack.key, texts.take(count), rate, args.seconds, f"{run}-{rate:g}")
        out[f"open_{rate:g}"] = summarise(result.sent, clock, args.settle)
    if profile == "full":
        log(f"{name}: ?wait=5000 at 5 a second")
        count = int(5 * args.seconds)
        result = open_loop(
            stack.port, stack.key, texts.take(count), 5, args.seconds, f"{run}-wait", wait_ms=5000
        )
        waited = [s for s in result.sent if 200 <= s.status < 300]
        out["wait_5"] = {
            "offered": len(result.sent),
            "decided_in_answer": sum(s.decided_in_answer for s in waited),
            "answer_ms": percentiles([s.accept_s for s in waited]),
        }
    count = args.max_fast if profile == "fast" else args.max_full
    log(f"{name}: maximum throughput, {count} comments through :batch")
    out["max"] = max_throughput(stack, clock, texts.take(count), f"{run}-max")
    return out


def after_switch(
    args: argparse.Namespace, stack: Stack, clock: DecisionClock, texts: Texts, run: str
) -> dict[str, Any]:
    """Worker memory after a model switch: a new version promoted, the workers given time to take it up
    (they check every 5 s), a few hundred comments decided with it, then measured as before."""
    version = stack.switch_model()
    log(f"{stack.options.database}/{stack.options.profile}: switched to {version}")

    # Workers look at the active version when they next decide: comments until each has loaded it (and,
    # in a pool, until the pool has replaced each by a fork that shares the new model).
    def switched() -> bool:
        logs = stack.worker_logs()
        if stack.options.pool:
            return logs.count("starting its replacement") >= stack.options.workers
        return logs.count(f"loading model {version}") >= stack.options.workers

    deadline, batch = time.monotonic() + 120, 0
    while time.monotonic() < deadline and not switched():
        post_batches(stack.port, stack.key, texts.take(20), 20, f"{run}-switching-{batch}")
        batch += 1
        time.sleep(1)
    time.sleep(args.switch_settle)
    count = 1000 if stack.options.profile == "fast" else 300
    post_batches(stack.port, stack.key, texts.take(count), count, f"{run}-switch")
    time.sleep(5)
    return {
        "version": version,
        "per_worker": [memory([pid]) for pid in stack.scoring_workers()],
        "all_worker_processes": memory(stack.worker_pids()),
    }


def stack_part(
    args: argparse.Namespace,
    database: str,
    profile: str,
    models: Path,
    version: str,
    postgres: SharedPostgres | None,
    texts: Texts,
) -> dict[str, Any]:
    options = StackOptions(
        database,
        profile,
        models,
        version,
        workers=args.workers,
        api_processes=args.api_processes,
        api_threads=args.api_threads,
        pool=not args.separate_workers,
    )
    stack = Stack(options, postgres)
    out: dict[str, Any] = {}
    run = f"{database}-{profile}-{int(time.time())}"
    try:
        started = time.monotonic()
        stack.start()
        log(f"stack {database}/{profile} up in {time.monotonic() - started:.0f} s")
        clock = DecisionClock(stack.redis.port)
        open_loop(stack.port, stack.key, texts.take(20), 10, 2, run + "-warm")  # warm connections, caches
        rounds = [load_rounds(args, stack, clock, texts, f"{run}-{n}") for n in range(args.repeat)]
        out.update(median_runs(rounds))
        out["rounds"] = len(rounds)
        out["memory"] = {
            "per_worker": [memory([pid]) for pid in stack.scoring_workers()],
            "all_worker_processes": memory(stack.worker_pids()),
        }
        if not args.no_switch:
            out["memory_after_switch"] = after_switch(args, stack, clock, texts, run)
        if not args.no_naive:
            count = args.naive_fast if profile == "fast" else args.naive_full
            log(f"{database}/{profile}: naive design, {count} comments")
            out["naive"] = naive_part(stack, clock, texts.take(count), f"{run}-naive", args.workers)
        clock.close()
    except Exception as exc:
        log(f"stack {database}/{profile} failed: {exc}\n{stack.tail()}")
        out["error"] = str(exc)
    finally:
        stack.stop(keep=args.keep)
    return out


# -- the table -------------------------------------------------------------------------------------------
def table(report: dict[str, Any]) -> str:
    rows = ["| part | database | profile | measurement | figure | target |", "|---|---|---|---|---|---|"]

    def row(part: str, db: str, profile: str, what: str, figure: str, target: str = "") -> None:
        rows.append(f"| {part} | {db} | {profile} | {what} | {figure} | {target} |")

    model = report.get("model", {})
    for profile in ("fast", "full", "baseline"):
        if profile in model:
            m = model[profile]
            name = "TF-IDF+LR" if profile == "baseline" else profile
            row(
                "model only",
                "-",
                name,
                f"batch 256, {report['workers']} processes",
                f"{m['batch_per_s']:,}/s",
            )
            s = m["single"]
            row("model only", "-", name, "one comment p50/p99", f"{s['p50']} / {s['p99']} ms")
    for key, result in report.get("load", {}).items():
        db, profile = key.split("/")
        if "error" in result:
            row("load", db, profile, "error", result["error"][:80])
            continue
        for name, value in result.items():
            if name.startswith("open_"):
                rate = name.split("_", 1)[1]
                a, d = value["accept_ms"], value["decision_ms"]
                targets = {
                    ("fast", "100"): ("<= 20 ms", "<= 250 ms"),
                    ("full", "10"): ("<= 20 ms", "<= 1000 ms"),
                }
                ta, td = targets.get((profile, rate), ("", ""))
                row(
                    "load",
                    db,
                    profile,
                    f"{rate}/s offered: accept p50/p95/p99",
                    f"{a['p50']} / {a['p95']} / {a['p99']} ms",
                    ta,
                )
                row(
                    "load",
                    db,
                    profile,
                    f"{rate}/s offered: decision p50/p95/p99",
                    f"{d['p50']} / {d['p95']} / {d['p99']} ms",
                    td,
                )
                row(
                    "load",
                    db,
                    profile,
                    f"{rate}/s offered: refused / lost",
                    f"{value['refused']} / {value['lost']} of {value['offered']}",
                    "0 / 0",
                )
        if "wait_5" in result:
            w = result["wait_5"]
            row(
                "load",
                db,
                profile,
                "?wait at 5/s: answer p50/p99; decided in answer",
                f"{w['answer_ms']['p50']} / {w['answer_ms']['p99']} ms; "
                f"{w['decided_in_answer']} of {w['offered']}",
                "p50 <= 300 ms",
            )
        if "max" in result:
            m = result["max"]
            model_rate = model.get(profile, {}).get("batch_per_s")
            target = (
                ">= 500/s (goal 1,000)"
                if profile == "fast"
                else (f">= {0.8 * model_rate:,.0f}/s (80 % of model only)" if model_rate else "")
            )
            row(
                "load",
                db,
                profile,
                "max (:batch): decided/s overall (middle 80 %)",
                f"{m.get('decided_per_s', 0):,}/s ({m.get('sustained_per_s', 0):,}/s)",
                target,
            )
            row(
                "load",
                db,
                profile,
                "max (:batch): accepted/s by the API; lost",
                f"{m['accepted_per_s']:,}/s; {m['lost']}",
            )
        if "naive" in result:
            n = result["naive"]
            ratio = (
                (result.get("max", {}).get("decided_per_s", 0) / n["decided_per_s"])
                if n["decided_per_s"]
                else 0
            )
            row(
                "naive",
                db,
                profile,
                "one RQ job per comment, forking Worker: decided/s",
                f"{n['decided_per_s']:,}/s (stack: {ratio:.1f}x)",
                ">= 5x (fast)" if profile == "fast" else "",
            )
        for key, when in (("memory", ""), ("memory_after_switch", ", after a model switch")):
            if key not in result:
                continue
            per = result[key]["per_worker"]
            total = result[key]["all_worker_processes"]
            row(
                "memory",
                db,
                profile,
                f"worker RSS (largest); all worker processes: RSS / PSS / USS{when}",
                f"{max((p['max_rss_mb'] for p in per), default=0)} MB; "
                f"{total['sum_rss_mb']} / {total['sum_pss_mb']} / {total['sum_uss_mb']} MB",
                "<= 600 MB each",
            )
    return "\n".join(rows)


def median_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over repeated rounds (the first round's shape)."""
    good = runs
    if len(good) == 1:
        return good[0]

    def merge(values: list[Any]) -> Any:
        first = values[0]
        if isinstance(first, dict):
            return {k: merge([v[k] for v in values if isinstance(v, dict) and k in v]) for k in first}
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            return type(first)(median(values))
        return first

    return merge(good)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models", type=Path, default=None, help="A model registry (default: var/bench-home/models)."
    )
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--profiles", nargs="+", default=["fast", "full"])
    parser.add_argument("--workers", type=int, default=2, help="Worker processes (and model-only processes).")
    parser.add_argument(
        "--separate-workers",
        action="store_true",
        help="N `moderation worker` processes, each loading the model, instead of one pool of N.",
    )
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--api-threads", type=int, default=8)
    parser.add_argument("--rates-fast", type=float, nargs="+", default=[10, 100, 200])
    parser.add_argument("--rates-full", type=float, nargs="+", default=[10])
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of each open-loop run.")
    parser.add_argument("--settle", type=float, default=60.0, help="Seconds to wait for the last decisions.")
    parser.add_argument("--max-fast", type=int, default=20000, help="Comments of the fast maximum run.")
    parser.add_argument("--max-full", type=int, default=4000, help="Comments of the full maximum run.")
    parser.add_argument("--naive-fast", type=int, default=1500)
    parser.add_argument("--naive-full", type=int, default=400)
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-switch", action="store_true", help="Skip the memory after a model switch.")
    parser.add_argument(
        "--switch-settle", type=float, default=10.0, help="Seconds after the switch was noticed."
    )
    parser.add_argument("--no-model", action="store_true", help="Skip part 1 (the model alone).")
    parser.add_argument("--model-texts-fast", type=int, default=8000, help="Comments, model only, fast.")
    parser.add_argument("--model-texts-full", type=int, default=1200, help="Comments, model only, full.")
    parser.add_argument(
        "--repeat", type=int, default=1, help="Rounds of load runs per stack (the table shows medians)."
    )
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench-results.json")
    parser.add_argument("--keep", action="store_true", help="Keep each stack's directory (logs).")
    args = parser.parse_args()

    models = ensure_model(args.models)
    registry = Registry(models)
    version = registry.latest()
    if version is None:
        raise SystemExit(f"no model in {models}")
    load = LoadAverage()
    texts = Texts(corpus_texts())
    report: dict[str, Any] = {
        "model_version": version,
        "workers": args.workers,
        "api": f"{args.api_processes} processes x {args.api_threads} threads",
        "cpu": platform.processor() or cpu_model(),
        "cores": os.cpu_count(),
        "texts": len(texts.texts),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if not args.no_model:
        report["model"] = model_part(args, registry, version, texts)
    postgres = None
    report["load"] = {}
    try:
        if "postgresql" in args.databases:
            pg_base = Path(tempfile.mkdtemp(prefix="moderation-bench-pg-"))
            postgres = SharedPostgres(pg_base / "pg")
        for database in args.databases:
            for profile in args.profiles:
                result = stack_part(args, database, profile, models, version, postgres, texts)
                report["load"][f"{database}/{profile}"] = result
    finally:
        if postgres is not None:
            postgres.stop()
            shutil.rmtree(pg_base, ignore_errors=True)
    report["load_average_1min"] = load.summary()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(
        f"model {version}; {report['cores']} cores ({report['cpu']}); "
        f"workers {args.workers}; API {report['api']}"
    )
    print(f"load average (1 min) during the run: {report['load_average_1min']}")
    print(table(report))
    print(f"(figures as JSON: {args.json})")
    return 0


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
