"""Model throughput and latency: our `Scorer` against a plain TF-IDF + logistic regression baseline.

Usage: python benchmarks/bench_scoring.py [--registry DIR] [--version V] [--batch 256] [--repeat 3]
       [--single 500] [--no-baseline]

Both scoring profiles are measured: `fast` (n-gram heads) and, when the model has stacked heads, `full`
(plus the sentence encoder, and e5 on the comments whose toxicity the stack leaves uncertain), the
latter with no embedding cache, so every text is embedded each time (the worst case: a worker sees new
texts). `encoder_only` is USE's share of it; `refiner_only` e5's cost per text it reads, and
`refined_share` how many of the texts it read.

Trains a quick model into a temporary registry when none is given. The baseline (word 1-2-grams +
char_wb 2-5-grams TF-IDF, one liblinear logistic regression for toxicity) is trained in the same run on
the same toxicity training rows; it computes one score, no normalisation, language or spans, so it shows
what the full worker computation costs on top. Texts come from the training corpora (GermEval 2018/2021
training comments and the synthetic set), never from the held-out test splits.

Rates are per core: comments divided by the process's CPU time (one thread), so a busy machine does not
make them look worse; wall-clock rates are reported too.
"""

from __future__ import annotations

import os

# One thread for every numeric library: the figure is per core.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline, make_union  # noqa: E402

from classifiers.corpora import load_corpora, load_germeval2018, load_germeval2021, load_synthetic  # noqa: E402
from classifiers.encoder import E5Encoder, SentenceEncoder  # noqa: E402
from classifiers.model import load_model  # noqa: E402
from classifiers.registry import Registry  # noqa: E402
from classifiers.scoring import Scorer  # noqa: E402
from classifiers.training import train  # noqa: E402


def _texts() -> list[str]:
    texts = [e.text for e in load_germeval2018()[:2000]]
    texts += [e.text for e in load_germeval2021()[:1000]]
    texts += [e.text for e in load_synthetic()]
    return texts


def train_baseline(quick: bool) -> Pipeline:
    """word 1-2 + char_wb 2-5 TF-IDF + logistic regression on every row with a toxicity label."""
    rows = [e for items in load_corpora(quick=quick).values() for e in items if "toxicity" in e.labels]
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=300_000
        ),
    )
    model = Pipeline([("features", features), ("clf", LogisticRegression(C=2.0, solver="liblinear"))])
    model.fit([e.text for e in rows], [int(e.labels["toxicity"]) for e in rows])
    return model


def measure(
    score: Callable[[Sequence[str]], object],
    texts: list[str],
    batch: int,
    repeat: int,
    single: int,
    forget: Sequence[SentenceEncoder] = (),
) -> dict:
    """`forget`: encoders whose in-memory memo of recent texts is emptied before every pass and every
    single call, so each text is embedded each time, as a new comment is."""

    def reset() -> None:
        for encoder in forget:
            encoder.forget_recent()

    score(texts[:batch])  # warm caches
    cpu_rates, wall_rates = [], []
    for _ in range(repeat):
        reset()
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(0, len(texts), batch):
            score(texts[i : i + batch])
        cpu_rates.append(len(texts) / (time.process_time() - cpu))
        wall_rates.append(len(texts) / (time.perf_counter() - wall))
    latencies = []
    for text in texts[:single]:
        reset()
        started = time.perf_counter()
        score([text])
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "comments_per_cpu_second": round(statistics.median(cpu_rates), 1),
        "comments_per_wall_second": round(statistics.median(wall_rates), 1),
        "single_p50_ms": round(latencies[len(latencies) // 2], 3),
        "single_p95_ms": round(latencies[int(len(latencies) * 0.95)], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--version")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--single", type=int, default=500, help="Comments scored one by one for latency.")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.registry or Path(tmp)
        registry = Registry(root)
        version = (
            args.version
            or registry.latest()
            or train(root, quick=True, encoder=SentenceEncoder(), refiner_encoder=E5Encoder())
        )
        fast = Scorer.load(registry.path(version), profile="fast")
        quick = bool(registry.card(version).get("parameters", {}).get("quick", True))
        texts = _texts()
        report: dict = {
            "model_version": version,
            "texts": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
            "batch": args.batch,
            "cpu_count": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "fast": measure(fast.score, texts, args.batch, args.repeat, args.single),
        }
        if fast.stack is not None:
            encoder = SentenceEncoder(None).load()  # no cache: every text embedded every time
            vectorizer, heads, card, stack = load_model(registry.path(version))
            assert stack is not None
            refiner = E5Encoder(None).load()
            full = Scorer(
                vectorizer,
                heads,
                card,
                stack,
                fast.catalogue,
                profile="full",
                encoder=encoder,
                refiner_encoder=refiner,
            )
            both = (encoder, refiner)
            report["full"] = measure(full.score, texts, args.batch, args.repeat, args.single, both)
            report["encoder_only"] = measure(
                encoder.encode, texts, args.batch, args.repeat, args.single, (encoder,)
            )
            if stack.refiner is not None:
                plain = dataclasses.replace(stack, refiner=None)
                without = Scorer(
                    vectorizer, heads, card, plain, fast.catalogue, profile="full", encoder=encoder
                )
                report["full_without_refiner"] = measure(
                    without.score, texts, args.batch, args.repeat, args.single, (encoder,)
                )
                stacked = [r.toxicity for r in without.score(texts)]
                report["refined_share"] = round(float(stack.refiner.wanted(np.asarray(stacked)).mean()), 3)
                # e5 is slow: its own cost on a sample, once.
                report["refiner_only"] = measure(
                    refiner.encode, texts[:256], 64, 1, min(args.single, 50), (refiner,)
                )
        report["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        if not args.no_baseline:
            baseline = train_baseline(quick)
            report["baseline"] = measure(baseline.predict_proba, texts, args.batch, args.repeat, args.single)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
