"""Learning curve of the site model on a stand-in newsroom archive: GerMS-AT (derStandard.at forum).

Usage: python benchmarks/site_learning_curve.py [--data DIR] [--registry DIR] [--sizes 1000,3000,all]
       [--quick-generic]
       python benchmarks/site_learning_curve.py --cv germs_at|germeval2021 [--registry DIR]

GerMS-AT's train/dev file (5,998 comments, sexism annotated by 4-10 annotators) plays one site's history
of moderator decisions: label 1 ("rejected") when the majority of annotators grades the comment >= 1,
ties dropped (5,827 comments), in file order as time order. The first N labels train; nothing is
subsampled, so there are no seeds to repeat. GerMS-AT's own test split (`bin_maj`, the tie dropped:
1,985 comments) is read only to print the final figures.

Compared on the test split, by ROC AUC:
- generic: the generic model trained WITHOUT GerMS-AT (`train(..., exclude=["germs_at"])`, into
  `--registry` or a temporary registry). Its toxicity and identity_attack scores are both reported; the
  table compares against the one with the higher AUC on the training labels (chosen there, not on test).
- plain: word 1-2-gram + char_wb 2-5-gram TF-IDF (sublinear tf) logistic regression on the site's labels
  only, C chosen by 5-fold stratified CV (ROC AUC) on the training labels.
- site: `classifiers.site.fit_site_model` on the same labels.

Fit seconds are CPU seconds of one process with one thread (the plain figure includes its C search;
the site figure includes its own cross-validation but not the generic scoring of the labels, which the
service does once per retrain and is reported separately). The default data directory is
`../shared/data/germs_at` beside the repository; without it the repository's copies are used
(`classifiers/corpora/germs_at` for train/dev, `heldout/germs_at` for the test split).

`--cv CORPUS` compares the site model's design alternatives instead, by time-ordered cross-validation
on that corpus's training labels only (GerMS-AT train/dev, or GermEval 2021's training file as a
toxicity-like second site), with a generic model trained without that corpus; see `design_cv`. This is
how the design was chosen (docs/site-learning.md); it never reads a test split.
"""

from __future__ import annotations

import os

# One thread for every numeric library: the figures are per core.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline, make_union  # noqa: E402

from classifiers import site  # noqa: E402
from classifiers.registry import Registry  # noqa: E402
from classifiers.scoring import Scorer, ScoreResult  # noqa: E402
from classifiers.site import SiteModel, fit_site_model, load_site_model, roc_auc, save_site_model  # noqa: E402
from classifiers.training import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "germs_at"
TRAINDEV = "germeval-competition-traindev.jsonl.gz"
TEST = "germeval-competition-test.jsonl.gz"
TARGETS = "germeval-competition-targets.json.gz"
PLAIN_C = (0.3, 1.0, 3.0, 10.0, 30.0)
GENERIC_ATTRIBUTES = ("toxicity", "identity_attack")
EXCLUDED = "germs_at"
GENERIC_ORDER = site.GENERIC_ATTRIBUTES
Design = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _lines(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _files(data: Path) -> tuple[Path, Path, Path]:
    if (data / TRAINDEV).is_file():
        return data / TRAINDEV, data / TEST, data / TARGETS
    print(f"note: {data} has no {TRAINDEV}; using the repository's copies", file=sys.stderr)
    return (
        ROOT / "classifiers" / "corpora" / "germs_at" / TRAINDEV,
        ROOT / "heldout" / "germs_at" / TEST,
        ROOT / "heldout" / "germs_at" / TARGETS,
    )


def site_history(path: Path) -> tuple[list[str], np.ndarray]:
    """Train/dev comments in file order, rejected = majority of annotators grade >= 1; ties dropped."""
    texts, labels = [], []
    for item in _lines(path):
        grades = [int(a["label"][0]) for a in item["annotations"]]
        positive = sum(g >= 1 for g in grades)
        if 2 * positive == len(grades):
            continue
        texts.append(item["text"])
        labels.append(int(2 * positive > len(grades)))
    return texts, np.array(labels)


def test_split(test_path: Path, targets_path: Path) -> tuple[list[str], np.ndarray]:
    """The test comments with `bin_maj` (a list when the vote is tied: dropped)."""
    with gzip.open(targets_path, "rt", encoding="utf-8") as handle:
        targets = {t["id"]: t["bin_maj"] for t in json.load(handle)}
    texts, labels = [], []
    for item in _lines(test_path):
        label = targets[item["id"]]
        if isinstance(label, list):
            continue
        texts.append(item["text"])
        labels.append(int(label))
    return texts, np.array(labels)


def generic_scorer(registry: Path | None, quick: bool, excluded: str = EXCLUDED) -> Scorer:
    """The newest model in `registry` trained without `excluded`, trained there first if there is none."""
    root = registry or Path(tempfile.mkdtemp(prefix="site-curve-registry-"))
    reg = Registry(root)
    for version in reversed(reg.versions()):
        parameters = reg.card(version).get("parameters", {})
        if parameters.get("excluded_corpora") == [excluded] and bool(parameters.get("quick")) == quick:
            print(f"generic model: {version} in {root} (excludes {excluded})")
            return reg.load(version)
    started = time.perf_counter()
    version = train(root, exclude=[excluded], quick=quick)
    print(
        f"generic model: trained {version} into {root} without {excluded} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return reg.load(version)


def plain_model(texts: Sequence[str], y: np.ndarray, seed: int) -> GridSearchCV:
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    pipeline = Pipeline([("features", features), ("clf", LogisticRegression(solver="liblinear"))])
    search = GridSearchCV(
        pipeline,
        {"clf__C": list(PLAIN_C)},
        scoring="roc_auc",
        cv=StratifiedKFold(5, shuffle=True, random_state=seed),
    )
    return search.fit(list(texts), y)


def _sizes(raw: str, available: int) -> list[int]:
    out = []
    for part in raw.split(","):
        part = part.strip()
        out.append(available if part == "all" else min(int(part), available))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="GerMS-AT folder (see docstring)")
    parser.add_argument("--registry", type=Path, default=None, help="registry for the generic model")
    parser.add_argument("--sizes", default="1000,3000,all", help="label counts (first N), 'all' = every one")
    parser.add_argument("--quick-generic", action="store_true", help="a quick generic model (smoke runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cv",
        choices=("germs_at", "germeval2021"),
        default=None,
        help="instead: compare designs by cross-validation on this corpus's training labels (no test split)",
    )
    args = parser.parse_args(argv)
    if args.cv is not None:
        design_cv(args.cv, args.data, args.registry, args.quick_generic)
        return

    traindev_path, test_path, targets_path = _files(args.data)
    texts, y = site_history(traindev_path)
    test_texts, test_y = test_split(test_path, targets_path)
    print(
        f"site history: {len(texts)} labels ({int(y.sum())} rejected); "
        f"test: {len(test_texts)} ({int(test_y.sum())} rejected)"
    )
    scorer = generic_scorer(args.registry, args.quick_generic)

    started = time.process_time()
    generic = scorer.score(texts)
    test_generic = scorer.score(test_texts)
    scoring_rate = (len(texts) + len(test_texts)) / (time.process_time() - started)
    train_auc = {a: roc_auc(y, [r.values()[a] for r in generic]) for a in GENERIC_ATTRIBUTES}
    test_auc = {a: roc_auc(test_y, [r.values()[a] for r in test_generic]) for a in GENERIC_ATTRIBUTES}
    chosen = max(GENERIC_ATTRIBUTES, key=train_auc.__getitem__)
    print(
        "generic AUC on the training labels: "
        + ", ".join(f"{a} {v:.3f}" for a, v in train_auc.items())
        + f" -> compared against {chosen}"
    )
    print("generic AUC on the test split: " + ", ".join(f"{a} {v:.3f}" for a, v in test_auc.items()))

    rows = []
    last_model = None
    for n in _sizes(args.sizes, len(texts)):
        t0 = time.process_time()
        plain = plain_model(texts[:n], y[:n], args.seed)
        plain_seconds = time.process_time() - t0
        plain_auc = roc_auc(test_y, plain.predict_proba(test_texts)[:, 1])
        t0 = time.process_time()
        model = fit_site_model(texts[:n], y[:n].tolist(), scorer, generic=generic[:n], seed=args.seed)
        site_seconds = time.process_time() - t0
        p = model.predict(test_texts, test_generic, scorer)
        rows.append(
            {
                "n": n,
                "generic": test_auc[chosen],
                "plain": plain_auc,
                "plain_C": plain.best_params_["clf__C"],
                "plain_seconds": plain_seconds,
                "site": roc_auc(test_y, p),
                "site_seconds": site_seconds,
                "site_cv": model.card["metrics"]["cv_auc"],
                "scale": model.card["params"]["generic_scale"],
                "mean_p": float(p.mean()),
            }
        )
        print(f"  {n} labels done", flush=True)
        last_model = model

    print()
    print(f"    {shlex.join(['python', *sys.argv])}")
    print()
    print(
        f"| labels (first N) | generic {chosen} AUC | plain TF-IDF LR AUC | site model AUC | "
        "site fit s | plain fit s (incl. C search) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['generic']:.3f} | {r['plain']:.3f} (C={r['plain_C']:g}) | "
            f"**{r['site']:.3f}** | {r['site_seconds']:.1f} | {r['plain_seconds']:.1f} |"
        )
    print()
    print(
        "site model details: "
        + "; ".join(
            f"{r['n']}: CV AUC {r['site_cv']:.3f}, generic scale {r['scale']}, mean P(reject) on test "
            f"{r['mean_p']:.3f}"
            for r in rows
        )
        + f" (test base rate {test_y.mean():.3f})"
    )
    if last_model is not None:
        _cost(last_model, scorer, test_texts, test_generic, scoring_rate)


def _windows(n: int) -> dict[int, list[np.ndarray]]:
    """Label windows CV runs on: every disjoint 1,000, the first and the last 3,000, and all."""
    out = {1000: [np.arange(s, s + 1000) for s in range(0, n - 999, 1000)]}
    if n >= 3000:
        out[3000] = [np.arange(0, 3000), np.arange(n - 3000, n)]
    out[n] = [np.arange(n)]
    return out


def design_cv(corpus: str, data: Path, registry: Path | None, quick: bool) -> None:
    """Mean per-fold ROC AUC of the designs on time-ordered 5-fold CV within each window of the corpus's
    training labels (contiguous folds, so a fold is one stretch of time; each fold is ranked by one
    model, as a live site is). The generic model is trained without `corpus`. No test split is read."""
    if corpus == "germs_at":
        texts, y = site_history(_files(data)[0])
    else:
        from classifiers.corpora import load_germeval2021

        examples = load_germeval2021()
        texts, y = [e.text for e in examples], np.array([int(e.labels["toxicity"]) for e in examples])
    print(f"{corpus} training labels: {len(texts)} ({int(y.sum())} rejected), in file order")
    scorer = generic_scorer(registry, quick, corpus)
    generic = scorer.score(texts)
    counts = site.hashed_counts(texts)
    generic_idf = site.generic_idf(scorer).astype(np.float32)
    logits = site.generic_logits(generic)

    def linear(X: Any, train_rows: np.ndarray, test_rows: np.ndarray, C: float = site.C) -> np.ndarray:
        model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced")
        return np.asarray(model.fit(X[train_rows], y[train_rows]).decision_function(X[test_rows]))

    def site_idf(rows: np.ndarray) -> np.ndarray:
        df = np.bincount(counts[rows].indices, minlength=counts.shape[1])
        return np.log((1 + len(rows)) / (1 + df)) + 1.0

    def ngrams(idf: str, scale: float) -> Design:
        def run(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
            X = site.tfidf(counts, generic_idf if idf == "generic" else site_idf(tr))
            if scale:
                X = sp.hstack([X, sp.csr_matrix(logits * scale)], format="csr")
            return linear(X, tr, te)

        return run

    def plain(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        features = make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        )
        Xtr = features.fit_transform([texts[i] for i in tr])
        model = LogisticRegression(C=3.0, solver="liblinear").fit(Xtr, y[tr])
        return np.asarray(model.decision_function(features.transform([texts[i] for i in te])))

    def stack(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        X = site.tfidf(counts, generic_idf)
        inner = np.zeros(len(tr))
        for a, b in _blocks(len(tr)):
            inner[b] = linear(X, tr[a], tr[b])
        meta = LogisticRegression(C=1.0, max_iter=1000)
        meta.fit(np.column_stack([inner, logits[tr]]), y[tr])
        return np.asarray(meta.decision_function(np.column_stack([linear(X, tr, te), logits[te]])))

    def shipped(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        model = fit_site_model(
            [texts[i] for i in tr], y[tr].tolist(), scorer, generic=[generic[i] for i in tr]
        )
        return model.predict([texts[i] for i in te], [generic[i] for i in te], scorer)

    designs: dict[str, Design] = {
        "generic toxicity alone": lambda tr, te: logits[te, 0],
        "generic identity_attack alone": lambda tr, te: logits[te, GENERIC_ORDER.index("identity_attack")],
        "plain word+char_wb TF-IDF LR (C=3)": plain,
        "hashed n-grams, site idf": ngrams("site", 0.0),
        "hashed n-grams, generic idf": ngrams("generic", 0.0),
        "+ generic logits x 0.03": ngrams("generic", 0.03),
        "+ generic logits x 0.1": ngrams("generic", 0.1),
        "+ generic logits x 0.3": ngrams("generic", 0.3),
        "stack: OOF n-gram score + generic logits": stack,
        "shipped: scale chosen per site by CV": shipped,
    }
    windows = _windows(len(texts))
    print()
    print(f"    {shlex.join(['python', *sys.argv])}")
    print()
    print("| design | " + " | ".join(f"{n:,} labels" for n in windows) + " |")
    print("|---|" + "---|" * len(windows))
    for name, design in designs.items():
        cells = []
        for size_windows in windows.values():
            aucs = [
                roc_auc(y[w[te]], design(w[tr], w[te])) for w in size_windows for tr, te in _blocks(len(w))
            ]
            cells.append(f"{np.mean(aucs):.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def _blocks(n: int, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    fold = np.minimum(np.arange(n) * k // n, k - 1)
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]


def _cost(
    model: SiteModel, scorer: Scorer, texts: list[str], generic: list[ScoreResult], scoring_rate: float
) -> None:
    """Size on disk, memory of loading it, and scoring speed next to the generic model's."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "site"
        save_site_model(model, directory)
        disk = sum(p.stat().st_size for p in directory.iterdir())
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        loaded = load_site_model(directory)
        held, peak = tracemalloc.get_traced_memory()
        fifty = [loaded] + [load_site_model(directory) for _ in range(49)]
        held_50 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del fifty
    batches = [slice(i, i + 256) for i in range(0, len(texts), 256)]
    site._WORD_CACHE.clear()  # the first pass hashes every word afresh, the second finds them cached
    rates = []
    for _ in range(2):
        t0 = time.process_time()
        for b in batches:
            loaded.predict(texts[b], generic[b], scorer)
        rates.append(len(texts) / (time.process_time() - t0))
    t0 = time.process_time()
    for b in batches:
        scorer.score(texts[b])
    generic_rate = len(texts) / (time.process_time() - t0)
    print(
        f"site model of the last size: {disk / 1e6:.2f} MB on disk (skops + card), "
        f"{(held - before) / 1e6:.2f} MB held after loading (tracemalloc; "
        f"peak {(peak - before) / 1e6:.2f} MB while loading; 50 loaded copies hold "
        f"{(held_50 - before) / 1e6:.1f} MB: they share one idf table); "
        f"predict {rates[0]:,.0f} comments/s per core with an empty word cache, "
        f"{rates[1]:,.0f}/s with it filled, against the generic model's score at {generic_rate:,.0f}/s "
        f"(its caches filled; batches of 256 test texts; it scored the labels and test texts at "
        f"{scoring_rate:,.0f}/s the first time)"
    )


if __name__ == "__main__":
    main()
