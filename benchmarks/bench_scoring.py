"""Model throughput: comments per second for batched `Scorer.score`, single process, one core.

Usage: python benchmarks/bench_scoring.py [--registry DIR] [--version V] [--batch 256] [--repeat 3]
Trains a quick model into a temporary registry when none is given. Texts come from the training corpora
(GermEval 2018/2021 training comments and the synthetic set), never from the held-out test splits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from classifiers.corpora import load_germeval2018, load_germeval2021, load_synthetic
from classifiers.registry import Registry
from classifiers.training import train


def _texts() -> list[str]:
    texts = [e.text for e in load_germeval2018()[:2000]]
    texts += [e.text for e in load_germeval2021()[:1000]]
    texts += [e.text for e in load_synthetic()]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--version")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.registry or Path(tmp)
        registry = Registry(root)
        version = args.version or registry.latest() or train(root, quick=True)
        scorer = registry.load(version)
        texts = _texts()
        scorer.score(texts[: args.batch])  # warm caches
        rates = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            for i in range(0, len(texts), args.batch):
                scorer.score(texts[i : i + args.batch])
            rates.append(len(texts) / (time.perf_counter() - started))
        report = {
            "model_version": version,
            "texts": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
            "batch": args.batch,
            "comments_per_second": round(statistics.median(rates), 1),
            "runs": [round(r, 1) for r in rates],
            "cpu_count": os.cpu_count(),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
