"""Where the time of one `POST /api/v1/comments` (or of a worker's drain) goes under load, by py-spy.

    .venv/bin/python benchmarks/profile_accept.py --models DIR [--database sqlite|postgresql] [--rate 100]

Starts the benchmark's stack (benchmarks/stack.py), offers `--rate` comments a second for `--seconds`,
and samples every API process (and, with `--workers-too`, every worker) with `py-spy record --idle`
meanwhile, so time spent waiting (for a lock, the database, Redis) is counted as well as CPU time. It
prints the accept and decision latencies of the run and, for the samples taken inside a request, the
share of each frame (inclusive) and of each leaf (where the thread actually was). py-spy must be on
PATH or in the venv (`pip install py-spy`).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import collections  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from load import DecisionClock, open_loop, post_batches  # noqa: E402
from model_only import corpus_texts  # noqa: E402
from run import summarise  # noqa: E402
from stack import SharedPostgres, Stack, StackOptions, children  # noqa: E402

from classifiers.registry import Registry  # noqa: E402

# The frame that marks the samples that count: a request (API), a drain job (worker).
FRAMES = {"api": "full_dispatch_request", "worker": "drain (workers/jobs.py"}


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy not found: pip install py-spy")
    return found


def frame_name(frame: str) -> str:
    """`function (path/to/module.py:123)` -> `function (module.py)`."""
    name, _, where = frame.partition(" (")
    module = where.split(":")[0].rsplit("/", 1)[-1]
    return f"{name} ({module})"


def read_profile(path: Path, marker: str) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """Samples inside `marker`'s frame; inclusive counts per frame and counts per leaf frame."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or marker not in stack:
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")[1:]]  # the first entry is the thread
        total += count
        for name in set(frames):
            inclusive[name] += count
        if frames:
            leaves[frames[-1]] += count
    return total, inclusive, leaves


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=Path, required=True, help="A model registry (its newest version).")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", choices=["fast", "full"], default="fast")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sample-rate", type=int, default=250, help="py-spy samples a second")
    parser.add_argument("--workers-too", action="store_true", help="Sample the worker processes as well.")
    parser.add_argument(
        "--stop-workers",
        action="store_true",
        help="Stop the workers after the warm-up: the API alone, nothing decided (shows what the writes of "
        "the workers cost the API).",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="Instead of the open loop, post this many comments through :batch as fast as the API takes "
        "them (the maximum run), and sample the workers (for `--seconds`) as well.",
    )
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="First post this many comments through :batch and wait for their decisions (a database "
        "that holds comments already, as after the benchmark's maximum run).",
    )
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None, help="Keep the raw profiles in this directory.")
    args = parser.parse_args()

    registry = Registry(args.models)
    version = registry.latest()
    if version is None:
        raise SystemExit(f"no model in {args.models}")
    out = args.out or Path(tempfile.mkdtemp(prefix="profile-accept-"))
    out.mkdir(parents=True, exist_ok=True)
    texts = corpus_texts(seed=7)[: max(args.batch, int(args.rate * args.seconds)) + 100]
    postgres = SharedPostgres(out) if args.database == "postgresql" else None
    stack = Stack(StackOptions(args.database, args.profile, args.models, version), postgres)
    spies: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    try:
        stack.start()
        clock = DecisionClock(stack.redis.port)
        open_loop(stack.port, stack.key, texts[:50], 20, 2.5, "warm")
        if args.prefill:
            _start, _end, filled, _refused = post_batches(
                stack.port, stack.key, texts, args.prefill, "prefill"
            )
            clock.wait_for(filled, 600)
        assert stack.api is not None
        if args.stop_workers:
            for process in stack.workers:
                process.terminate()
                process.wait(timeout=30)
        targets = [("api", pid) for pid in children(stack.api.pid)]
        if args.workers_too or args.batch:
            targets += [("worker", pid) for pid in stack.scoring_workers()]
        for role, pid in targets:
            raw = out / f"{role}-{pid}.txt"
            command = [py_spy(), "record", "--pid", str(pid), "--idle", "--nonblocking", "--format", "raw"]
            command += [
                "--rate",
                str(args.sample_rate),
                "--duration",
                str(int(args.seconds) + 1),
                "-o",
                str(raw),
            ]
            spies.append(
                (role, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), raw)
            )
        time.sleep(1.0)
        if args.batch:
            start, _end, ids, _refused = post_batches(
                stack.port, stack.key, texts[50:], args.batch, f"profile-{int(time.time())}"
            )
            missing = clock.wait_for(ids, 600)
            times = sorted(clock.decided[i] for i in ids if i in clock.decided)
            print(
                f"{len(times)} of {len(ids)} decided ({missing} not) in {times[-1] - start:.1f} s: "
                f"{len(times) / (times[-1] - start):.0f}/s"
            )
        else:
            result = open_loop(
                stack.port, stack.key, texts[50:], args.rate, args.seconds, f"profile-{int(time.time())}"
            )
            figures = summarise(result.sent, clock, 0 if args.stop_workers else 60)
        for _role, spy, _raw in spies:
            spy.wait(timeout=60)
        clock.close()
    finally:
        stack.stop(keep=True)
        if postgres is not None:
            postgres.stop()

    if not args.batch:
        accept, decision = figures["accept_ms"], figures["decision_ms"]
        print(f"{args.database}/{args.profile} at {args.rate:g}/s for {args.seconds:g} s, model {version}")
        print(
            f"accept p50/p95/p99 {accept['p50']:.1f} / {accept['p95']:.1f} / {accept['p99']:.1f} ms; "
            f"decision p50/p95/p99 {decision['p50']:.1f} / {decision['p95']:.1f} / "
            f"{decision['p99']:.1f} ms; refused {figures['refused']}, lost {figures['lost']} of "
            f"{figures['offered']}"
        )
    for role in sorted({r for r, _, _ in spies}):
        total = 0
        inclusive: collections.Counter[str] = collections.Counter()
        leaves: collections.Counter[str] = collections.Counter()
        for r, _spy, raw in spies:
            if r != role or not raw.exists():
                continue
            t, i, leaf = read_profile(raw, FRAMES[role])
            total, inclusive, leaves = total + t, inclusive + i, leaves + leaf
        if not total:
            print(f"\n{role}: no samples inside {FRAMES[role]}")
            continue
        print(f"\n{role}: {total} samples inside {FRAMES[role]}; frames by inclusive share")
        for name, count in inclusive.most_common(args.top):
            print(f"  {100 * count / total:5.1f} %  {name}")
        print(f"{role}: where the threads were (leaf frames)")
        for name, count in leaves.most_common(args.top // 2):
            print(f"  {100 * count / total:5.1f} %  {name}")
    print(f"\nraw profiles: {out}; the stack's logs: {stack.base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
