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
from classifiers.catalogue import Catalogue, load_catalogue
from classifiers.corpora import LICENCES, Example, file_digests, load_corpora
from classifiers.evaluation import (
    binary_report,
    choose_germeval_rules,
    germeval_coarse,
    germeval_fine,
    multiclass_report,
)
from classifiers.features import DENSE_NAMES, analyse_cues, analyze, dense_matrix
from classifiers.model import Heads
from classifiers.normalize import normalise
from classifiers.registry import Registry

ProgressFn = Callable[[str], None]

TOXIC_ATTRIBUTES = ("toxicity", "insult", "profanity", "identity_attack")
MIN_TECHNIQUE_POSITIVES = 12
DENSE_SCALE = 3.0
# Regularisation per head family (larger C = weaker regularisation); chosen on CV, see STATUS.md.
HEAD_C = {
    "toxicity": 2.0,
    "insult": 2.0,
    "profanity": 1.0,
    "identity_attack": 2.0,
    "propaganda": 2.0,
    "spam": 1.0,
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
        return labels.get("toxicity")
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
        return labels.get("identity_attack")
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
    for head in head_names:
        raw = [head_label(head, e, p) for e, p in zip(examples, profane, strict=True)]
        rows = np.array([i for i, v in enumerate(raw) if v is not None])
        if len(rows) == 0:
            continue
        y = np.array([raw[i] for i in rows], dtype=int)
        if y.sum() < folds or (len(y) - y.sum()) < folds:
            continue
        w = np.array([examples[i].weight for i in rows])
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
        metrics[head] = _head_metrics(head, rows, y, oof, examples)
        oof_by_head[head] = np.full(len(examples), np.nan)
        oof_by_head[head][rows] = oof
        say(f"head {head}: {len(rows)} rows, {int(y.sum())} positive ({time.perf_counter() - started:.1f}s)")

    heads = Heads(
        names=trained,
        coef=np.vstack(coefs).T.astype(np.float32),
        intercept=np.array(intercepts),
        cal_a=np.array(cal_a),
        cal_b=np.array(cal_b),
        dense_scale=DENSE_SCALE,
    )
    rules = _germeval_rules(examples, oof_by_head)
    if rules:
        metrics["germeval2018_cv"] = rules.pop("metrics")
    now = datetime.now(UTC)
    card = {
        "created": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "catalogue_version": catalogue.version,
        "corpora": _corpora_card(corpora, use_catalogue, examples),
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


def _head_metrics(
    head: str, rows: np.ndarray, y: np.ndarray, oof: np.ndarray, examples: list[Example]
) -> dict:
    report: dict = {"all": binary_report(y, oof)}
    by_source: dict[str, list[int]] = {}
    for k, i in enumerate(rows):
        by_source.setdefault(examples[i].source, []).append(k)
    for source, ks in by_source.items():
        idx = np.array(ks)
        relevant = head in TOXIC_ATTRIBUTES or source in ("synthetic_de_comments", "catalogue")
        if relevant and 0 < y[idx].sum() < len(idx):
            report[source] = binary_report(y[idx], oof[idx])
    return report


def _germeval_rules(examples: list[Example], oof: dict[str, np.ndarray]) -> dict:
    """GermEval Task 1 threshold and Task 2 subtype rule, chosen on out-of-fold scores of GermEval
    2018+2019 training rows, plus the resulting CV figures on the GermEval 2018 rows."""
    heads = ("toxicity", "identity_attack", "insult", "profanity")
    if not all(h in oof for h in heads):
        return {}
    idx = np.array([i for i, e in enumerate(examples) if e.source in ("germeval2018", "germeval2019")])
    if len(idx) == 0 or any(np.isnan(oof[h][idx]).any() for h in heads):
        return {}
    coarse = ["OFFENSE" if examples[i].labels["toxicity"] == 1.0 else "OTHER" for i in idx]
    fine = [examples[i].fine or "OTHER" for i in idx]
    chosen = choose_germeval_rules(coarse, fine, {h: oof[h][idx] for h in heads})
    task1_threshold = chosen["task1"]["threshold"]
    rule = chosen["task2"]["rule"]
    g18 = np.array([examples[i].source == "germeval2018" for i in idx])
    scores18 = {h: oof[h][idx][g18] for h in heads}
    coarse18 = [c for c, keep in zip(coarse, g18, strict=True) if keep]
    fine18 = [f for f, keep in zip(fine, g18, strict=True) if keep]
    return {
        "germeval_task1_threshold": task1_threshold,
        "germeval_task2_rule": rule,
        "note": "chosen on out-of-fold scores of GermEval 2018+2019 training rows",
        "metrics": {
            "task1_at_threshold": multiclass_report(
                coarse18, germeval_coarse(scores18["toxicity"], task1_threshold)
            ),
            "task2": multiclass_report(fine18, germeval_fine(scores18, rule)),
        },
    }


def _corpora_card(
    corpora: dict[str, list[Example]], use_catalogue: bool, examples: list[Example]
) -> list[dict]:
    out = []
    for name, items in corpora.items():
        sources = sorted({e.source for e in items})
        out.append(
            {
                "name": name,
                "licence": items[0].licence if items else LICENCES.get(name, "unstated"),
                "rows_used": len(items),
                "files": {source: file_digests(source) for source in sources},
            }
        )
    if use_catalogue:
        rows = sum(e.source == "catalogue" for e in examples)
        out.append({"name": "catalogue", "licence": "cc0", "rows_used": rows, "files": {}})
    return out
