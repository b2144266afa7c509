"""A fixed scoring workload for instruction counts: repeatable where timings drift with the machine.

Usage (valgrind's callgrind counts instructions, not seconds; run it twice and subtract):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.0 .venv/bin/python \
        benchmarks/instructions_scoring.py --registry DIR --passes 0
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.2 .venv/bin/python \
        benchmarks/instructions_scoring.py --registry DIR --passes 2

The difference of the two "Collected" totals, divided by passes x texts, is the instructions the scorer
spends per comment (model loading and the warm-up pass cancel out).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scoring import _texts  # noqa: E402

from classifiers.registry import Registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    texts = _texts()[: args.texts]
    registry = Registry(args.registry)
    version = registry.latest()
    if version is None:
        raise SystemExit(f"no model in {args.registry}")
    scorer = registry.load(version)
    for _ in range(1 + args.passes):  # one warm-up pass fills the word caches
        for i in range(0, len(texts), args.batch):
            scorer.score(texts[i : i + args.batch])
    print(f"scored {len(texts)} texts {1 + args.passes} times with {version}")


if __name__ == "__main__":
    main()
