"""Train all heads on the corpora, calibrate them on cross-validated scores, save a registry version."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
import skops
from joblib import Parallel, delayed
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classifiers.augment import catalogue_examples
from classifiers.card import (
    TOXIC_ATTRIBUTES,
    corpora_card,
    germeval2021_threshold,
    germeval_rules,
    head_metrics,
    threshold_tables,
)
from classifiers.catalogue import Catalogue, load_catalogue
from classifiers.corpora import LICENCES, Example, load_corpora
from classifiers.features import DENSE_NAMES, analyse_cues, analyze, dense_matrix
from classifiers.model import Heads
from classifiers.normalize import normalise
from classifiers.registry import Registry

ProgressFn = Callable[[str], None]

MIN_TECHNIQUE_POSITIVES = 12
DENSE_SCALE = 3.0
# Regularisation per head family (larger C = weaker regularisation); chosen on CV, see STATUS.md.
HEAD_C = {
    "toxicity": 2.0,
    "insult": 2.0,
    "profanity": 1.0,
    "identity_attack": 2.0,
    "propaganda": 8.0,
    "spam": 1.0,
}
# Per head and corpus, a factor on the example weight (chosen on CV, see STATUS.md): the synthetic
# German comments are the only in-domain propaganda rows; GerMS-AT's sexism labels are a narrow notion
# of identity attack that otherwise fires on any sentence about states or politics.
HEAD_SOURCE_WEIGHT = {
    "propaganda": {"synthetic_de_comments": 3.0},
    "identity_attack": {"germs_at": 0.5},
}
TECHNIQUE_C = 1.0
# Propaganda is calibrated on reader-comment-like rows only: the English claim and meme corpora that
# make up most of its training rows have a very different base rate and style.
COMMENT_DOMAIN = ("synthetic_de_comments", "catalogue", "germeval2021", "germs_at")
COMMENT_SOURCES = ("germeval2018", "germeval2019", "germeval2021", "germs_at", "davidson_hate_offensive")


def head_label(head: str, example: Example, profane: bool) -> float | None:
    """The training label of one example for one head, or None when the example says nothing about it."""
    labels = example.labels
    if head == "toxicity":
        # GerMS-AT's toxicity is a proxy (sexism severity), not a toxicity annotation; on CV it lowered
        # toxicity quality on GermEval 2018/2021 and the synthetic comments.
        return None if example.source == "germs_at" else labels.get("toxicity")
    if head == "insult":
        if example.fine is not None:
            return float(example.fine in ("INSULT", "ABUSE"))
        if example.source in ("synthetic_de_comments", "davidson_hate_offensive"):
            return labels.get("toxicity")
        return None
    if head == "profanity":
        if example.fine is not None:
            return float(example.fine == "PROFANITY" or (profane and labels.get("toxicity") == 1.0))
        if "toxicity" in labels:
            return float(profane and labels["toxicity"] == 1.0)
        return None
    if head == "identity_attack":
        if example.fine is not None:
            return float(example.fine == "ABUSE")
        if "identity_attack" in labels:
            return labels["identity_attack"]
        # A comment annotated as not toxic is not an identity attack either (civil political talk).
        return 0.0 if labels.get("toxicity") == 0.0 else None
    if head == "propaganda":
        return labels.get("propaganda")
    if head == "spam":
        if "spam" in labels:
            return labels["spam"]
        return 0.0 if example.source in COMMENT_SOURCES else None
    technique = head.removeprefix("technique:")
    if example.techniques is None:
        return None
    return float(technique in example.techniques)


def _fit_linear(X: sp.csr_matrix, y: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=200)
    model.fit(X, y, sample_weight=w)
    return model.coef_.ravel().astype(np.float32), float(model.intercept_[0])


def _fold_scores(
    X: sp.csr_matrix, y: np.ndarray, w: np.ndarray, C: float, train: np.ndarray, test: np.ndarray
):
    coef, intercept = _fit_linear(X[train], y[train], w[train], C)
    return test, np.asarray(X[test] @ coef).ravel() + intercept


def fit_head(
    X: sp.csr_matrix,
    y: np.ndarray,
    w: np.ndarray,
    C: float,
    folds: int,
    seed: int,
    jobs: int,
    calibrate_on: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float, float, np.ndarray]:
    """Fit one head on all rows; Platt-calibrate it on out-of-fold decision values.

    `calibrate_on` (a boolean mask over the rows) restricts the calibration to the target domain.

    Returns coef, intercept, calibration a and b, and the calibrated out-of-fold probabilities.
    """
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    tasks = [delayed(_fold_scores)(X, y, w, C, tr, te) for tr, te in splitter.split(np.zeros(len(y)), y)]
    tasks.append(delayed(_fit_linear)(X, y, w, C))
    # No memmapping: liblinear canonicalises the sparse matrix in place, which read-only maps refuse.
    results = Parallel(n_jobs=jobs, max_nbytes=None)(tasks)
    coef, intercept = results[-1]
    oof = np.zeros(len(y))
    for test, scores in results[:-1]:
        oof[test] = scores
    mask = (
        calibrate_on if calibrate_on is not None and len(set(y[calibrate_on])) == 2 else np.ones(len(y), bool)
    )
    platt = LogisticRegression(C=1e4)
    platt.fit(oof[mask].reshape(-1, 1), y[mask], sample_weight=w[mask])
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    calibrated = 1.0 / (1.0 + np.exp(-(a * oof + b)))
    return coef, intercept, a, b, calibrated


def _technique_heads(examples: list[Example], catalogue: Catalogue) -> list[str]:
    counts: dict[str, int] = {}
    for e in examples:
        for t in e.techniques or ():
            counts[t] = counts.get(t, 0) + 1
    return [f"technique:{t}" for t in catalogue.technique_ids if counts.get(t, 0) >= MIN_TECHNIQUE_POSITIVES]


def new_version(now: datetime) -> str:
    return now.strftime("%Y.%m.%d-%H%M%S")


def train(
    registry_root: Path,
    *,
    licences: Collection[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> str:
    """Train every head, calibrate on CV, save a new version into the registry and return the version."""
    started = time.perf_counter()
    say: ProgressFn = progress or (lambda _msg: None)
    catalogue = load_catalogue()
    corpora = load_corpora(licences=licences, quick=quick, seed=seed, semeval_names=catalogue.semeval_names)
    if not corpora:
        raise ValueError(f"no corpus has a licence in {sorted(licences or [])}")
    examples = [e for items in corpora.values() for e in items]
    use_catalogue = licences is None or "cc0" in licences
    if use_catalogue:
        examples.extend(catalogue_examples(catalogue))
    say(f"loaded {len(examples)} examples from {len(corpora)} corpora")

    norms = [normalise(e.text) for e in examples]
    vectorizer = TfidfVectorizer(
        analyzer=analyze,
        min_df=3 if quick else 2,
        max_features=30_000 if quick else 150_000,
        sublinear_tf=True,
        dtype=np.float32,
    )
    sparse = vectorizer.fit_transform([n.text for n in norms])
    dense = dense_matrix([analyse_cues(n, catalogue) for n in norms]) * DENSE_SCALE
    X = sp.hstack([sparse, sp.csr_matrix(dense)], format="csr", dtype=np.float32)
    say(f"features: {X.shape[1]} columns ({time.perf_counter() - started:.1f}s)")

    profane_words = catalogue.lexicon_words["profanity"]
    profane = [any(t in profane_words for t in n.text.split()) for n in norms]
    head_names = [*TOXIC_ATTRIBUTES, "propaganda", "spam", *_technique_heads(examples, catalogue)]
    folds = 3
    jobs = 1 if quick else 2
    coefs, intercepts, cal_a, cal_b = [], [], [], []
    metrics: dict[str, dict] = {}
    trained: list[str] = []
    oof_by_head: dict[str, np.ndarray] = {}
    labels_by_head: dict[str, np.ndarray] = {}
    for head in head_names:
        raw = [head_label(head, e, p) for e, p in zip(examples, profane, strict=True)]
        rows = np.array([i for i, v in enumerate(raw) if v is not None])
        if len(rows) == 0:
            continue
        y = np.array([raw[i] for i in rows], dtype=int)
        if y.sum() < folds or (len(y) - y.sum()) < folds:
            continue
        factors = HEAD_SOURCE_WEIGHT.get(head, {})
        w = np.array([examples[i].weight * factors.get(examples[i].source, 1.0) for i in rows])
        C = HEAD_C.get(head, TECHNIQUE_C)
        calibrate_on = None
        if head == "propaganda":
            calibrate_on = np.array([examples[i].source in COMMENT_DOMAIN for i in rows])
        coef, intercept, a, b, oof = fit_head(X[rows], y, w, C, folds, seed, jobs, calibrate_on)
        coefs.append(coef)
        intercepts.append(intercept)
        cal_a.append(a)
        cal_b.append(b)
        trained.append(head)
        metrics[head] = head_metrics(head, rows, y, oof, examples)
        oof_by_head[head] = np.full(len(examples), np.nan)
        oof_by_head[head][rows] = oof
        labels_by_head[head] = np.full(len(examples), np.nan)
        labels_by_head[head][rows] = y
        say(f"head {head}: {len(rows)} rows, {int(y.sum())} positive ({time.perf_counter() - started:.1f}s)")

    heads = Heads(
        names=trained,
        coef=np.vstack(coefs).T.astype(np.float32),
        intercept=np.array(intercepts),
        cal_a=np.array(cal_a),
        cal_b=np.array(cal_b),
        dense_scale=DENSE_SCALE,
    )
    rules = germeval_rules(examples, oof_by_head)
    if rules:
        metrics["germeval2018_cv"] = rules.pop("metrics")
    g21 = germeval2021_threshold(examples, oof_by_head)
    if g21 is not None:
        rules["germeval2021_task1_threshold"] = g21
    threat_cue = dense[:, DENSE_NAMES.index("threat_cue")] / DENSE_SCALE
    tables = threshold_tables(examples, oof_by_head, labels_by_head, threat_cue)
    now = datetime.now(UTC)
    card = {
        "created": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "catalogue_version": catalogue.version,
        "corpora": corpora_card(corpora, use_catalogue, examples),
        "licences": sorted({LICENCES.get(name, "unstated") for name in corpora}),
        "parameters": {
            "quick": quick,
            "seed": seed,
            "licence_filter": sorted(licences) if licences is not None else None,
            "features": {
                "analyzer": "classifiers.features.analyze",
                "word_ngrams": [1, 2],
                "char_ngrams": [3, 5],
                "vocabulary": int(sparse.shape[1]),
                "dense": list(DENSE_NAMES),
                "dense_scale": DENSE_SCALE,
            },
            "heads": trained,
            "C": {h: HEAD_C.get(h, TECHNIQUE_C) for h in trained},
            "calibration": f"Platt scaling on {folds}-fold out-of-fold decision values",
            "cv_folds": folds,
        },
        "metrics": metrics,
        "decision_rules": rules,
        "threshold_tables": tables,
        "threshold_tables_note": (
            "Out-of-fold scores of comment-domain training rows (GermEval 2018/2019/2021, GerMS-AT, "
            "synthetic comments) that carry a label for the head; threat has no labelled corpus, so only "
            "the share flagged is given."
        ),
        "metrics_note": "Cross-validated (out-of-fold) figures on training data only; no test split read.",
        "training_seconds": round(time.perf_counter() - started, 1),
        "libraries": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "skops": skops.__version__,
            "numpy": np.__version__,
        },
    }
    version = Registry(registry_root).save(new_version(now), vectorizer, heads, card)
    say(f"saved version {version} ({time.perf_counter() - started:.1f}s)")
    return version
