"""A site's own model: the probability that this site's moderators reject a comment (`site_reject`).

A first, plain design that the service is built against: a logistic regression over hashed word and
character n-grams of the site's labelled comments, stacked with the generic model's scores (a small
logistic regression over the site score, fitted out of fold, and the generic logits). The hashed
features need no vocabulary, so a loaded site model is two small arrays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from classifiers.model import CARD_FILE
from classifiers.scoring import Scorer, ScoreResult

N_FEATURES = 2**18
SITE_C = 2.0
FOLDS = 5
GENERIC = ("toxicity", "insult", "profanity", "threat", "identity_attack", "spam", "propaganda")
ARRAYS_FILE = "site_model.npz"


def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer]:
    common = {"n_features": N_FEATURES, "alternate_sign": False, "lowercase": True, "dtype": np.float32}
    return (
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), norm="l2", **common),
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), norm="l2", **common),
    )


def _features(texts: Sequence[str]) -> np.ndarray:
    word, char = _vectorizers()
    return (word.transform(texts) + char.transform(texts)).tocsr()  # type: ignore[no-any-return]


def _logits(generic: Sequence[ScoreResult]) -> np.ndarray:
    values = np.array([[getattr(r, name) for name in GENERIC] for r in generic], dtype=np.float64)
    values = np.clip(values, 1e-4, 1 - 1e-4)
    return np.log(values / (1 - values))


@dataclass
class SiteModel:
    coef: np.ndarray  # the site head over hashed n-grams (float32, N_FEATURES)
    intercept: float
    meta_coef: np.ndarray  # the stack: [site score, generic logits...]
    meta_intercept: float
    card: dict = field(default_factory=dict)

    def predict(self, texts: Sequence[str], generic: Sequence[ScoreResult], scorer: Scorer) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        site = _features(texts) @ self.coef + self.intercept
        z = np.column_stack([site, _logits(generic)]) @ self.meta_coef + self.meta_intercept
        return 1.0 / (1.0 + np.exp(-z))


def fit_site_model(
    texts: Sequence[str],
    rejected: Sequence[int],
    scorer: Scorer,
    *,
    generic: Sequence[ScoreResult] | None = None,
    seed: int = 0,
) -> SiteModel:
    y = np.asarray(rejected, dtype=int)
    if len(texts) != len(y):
        raise ValueError("texts and labels differ in length")
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        raise ValueError("the labels are all of one kind: a site model needs rejected and approved comments")
    started = time.perf_counter()
    generic = generic if generic is not None else scorer.score(texts)
    X, G = _features(texts), _logits(generic)
    folds = StratifiedKFold(n_splits=max(2, min(FOLDS, int(counts.min()))), shuffle=True, random_state=seed)
    oof = np.zeros(len(y))
    for train, test in folds.split(X, y):
        head = LogisticRegression(C=SITE_C, solver="liblinear").fit(X[train], y[train])
        oof[test] = head.decision_function(X[test])
    meta = LogisticRegression(C=1.0, max_iter=1000).fit(np.column_stack([oof, G]), y)
    head = LogisticRegression(C=SITE_C, solver="liblinear").fit(X, y)
    return SiteModel(
        coef=head.coef_.ravel().astype(np.float32),
        intercept=float(head.intercept_[0]),
        meta_coef=meta.coef_.ravel(),
        meta_intercept=float(meta.intercept_[0]),
        card={
            "kind": "site",
            "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "n_labels": int(len(y)),
            "n_rejected": int(counts[1]),
            "params": {"n_features": N_FEATURES, "site_C": SITE_C, "generic": list(GENERIC)},
            "metrics": {"oof_site_head_auc": round(float(roc_auc_score(y, oof)), 4)},
            "fit_seconds": round(time.perf_counter() - started, 2),
            "libraries": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
            "generic_version": scorer.version,
        },
    )


def save_site_model(model: SiteModel, directory: Path) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(
        directory / ARRAYS_FILE,
        coef=model.coef,
        intercept=np.array([model.intercept]),
        meta_coef=model.meta_coef,
        meta_intercept=np.array([model.meta_intercept]),
    )
    (directory / CARD_FILE).write_text(json.dumps(model.card, indent=2, ensure_ascii=False), encoding="utf-8")


def load_site_model(directory: Path) -> SiteModel:
    directory = Path(directory)
    with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
        model = SiteModel(
            coef=arrays["coef"].astype(np.float32),
            intercept=float(arrays["intercept"][0]),
            meta_coef=arrays["meta_coef"],
            meta_intercept=float(arrays["meta_intercept"][0]),
        )
    model.card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
    return model
