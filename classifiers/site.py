"""Per-site models: one newsroom's own moderation standard, learnt from its moderators' decisions.

A site model answers `site_reject`, the calibrated probability that this site's moderators would reject
a comment. It is one logistic regression over two kinds of features:

- the site's own n-grams: the generic model's analyzer (`classifiers.features.analyze`: word unigrams,
  word bigrams, padded char 3-5-grams of each word of the normalised text), hashed into `BUCKETS`
  buckets, sublinear tf times idf, l2-normalised. The idf comes from the generic model's vectoriser
  (its corpora are 20k+ comments, a far better estimate than a site's few thousand labels; n-grams it
  does not know, such as a site's own invented insults, get its largest idf). Hashing keeps the model
  small and makes words the generic model never saw features all the same.
- the generic model's scores for the same comment (`ScoreResult.values()`: toxicity, insult, ...), as
  logits times a scale chosen per site from `GENERIC_SCALES` on cross-validation: what the public
  corpora teach, weighted by what this site's labels say it is worth.
- when the generic model runs the `full` profile, the comment's sentence embedding (the encoder the
  generic model's stacked heads read) times a scale chosen per site from `EMBEDDING_SCALES`, jointly
  with the generic scale: a site's standard (off-topic, meta talk, tone) is often about meaning that
  no single n-gram carries. On time-ordered CV of GerMS-AT's labels it raised the mean per-fold AUC
  from 0.720 / 0.741 / 0.755 to 0.784 / 0.776 / 0.789 at 1,000 / 3,000 / 5,827 labels.

Decision values are Platt-calibrated on out-of-fold values from time-ordered folds (the labels come in
time order; contiguous blocks keep neighbouring comments, often the same thread, together).

The design and the alternatives that lost on cross-validation are in docs/site-learning.md.
This module is pure ML: no service, storage or web code.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
import weakref
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
import skops
import skops.io as sio
from numpy.typing import ArrayLike
from scipy.special import expit
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from classifiers.calibration import fit_platt
from classifiers.encoder import DIM
from classifiers.errors import ModelLoadError
from classifiers.evaluation import expected_calibration_error
from classifiers.features import TOKEN_SCHEMES, TOKENS, token_ngrams
from classifiers.model import check_trusted, load_skops
from classifiers.normalize import normalise
from classifiers.scoring import Scorer, ScoreResult

MODEL_FILE = "site_model.skops"
CARD_FILE = "model_card.json"
FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1 has no embedding coefficients
# 2**18 float32 coefficients are 1 MiB; the idf table is stored as float16 (0.5 MiB).
BUCKETS = 2**18
FEATURES = "analyze-hashed-v1"  # the feature scheme; a change needs a new name (and FORMAT)
C = 1.5
FOLDS = 5
GENERIC_ATTRIBUTES = ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")
# The generic logits are scaled by one of these before the fit (a smaller scale is a stronger prior
# against using them); each site gets the scale with the best cross-validated AUC on its own labels.
GENERIC_SCALES = (0.03, 0.1, 0.3)
EMBEDDING_SCALES = (0.3, 1.0)
_CLIP = 1e-6
MIN_PER_CLASS = 2

_TOKEN = TOKEN_SCHEMES[TOKENS]
_HASHER = FeatureHasher(n_features=BUCKETS, input_type="string", alternate_sign=False, dtype=np.float32)
# Bucket ids of a word's own features ("w:" unigram and char n-grams), as int32 bytes. Shared by every
# site model of the process (hashing does not depend on the model); bounded, emptied when full.
_WORD_CACHE: dict[str, bytes] = {}
_WORD_CACHE_LIMIT = 50_000
_IDF_CACHE: dict[tuple[str, int, int], tuple[object, np.ndarray]] = {}
# Loaded models fitted against the same generic model hold the same idf table: they share one copy.
_SHARED_IDF: weakref.WeakValueDictionary[bytes, np.ndarray] = weakref.WeakValueDictionary()


def _buckets(keys: Sequence[str]) -> np.ndarray:
    """The bucket of each feature string, in order (murmurhash3 as sklearn's FeatureHasher computes it)."""
    if not keys:
        return np.zeros(0, dtype=np.int32)
    ids = _HASHER.transform([[k] for k in keys]).indices
    if len(ids) != len(keys):  # pragma: no cover - one feature per row always gives one entry
        raise RuntimeError("feature hashing lost a feature")
    return np.asarray(ids, dtype=np.int32)


def _word_buckets(words: Sequence[str]) -> list[bytes]:
    cache = _WORD_CACHE
    found = list(map(cache.get, words))
    missing = sorted({w for w, f in zip(words, found, strict=True) if f is None})
    if missing:
        keys = [("w:" + w, *token_ngrams(w)) for w in missing]
        ids = _buckets([k for group in keys for k in group])
        bounds = np.cumsum([0, *map(len, keys)])
        fresh = {w: ids[bounds[i] : bounds[i + 1]].tobytes() for i, w in enumerate(missing)}
        if len(cache) + len(fresh) > _WORD_CACHE_LIMIT:
            cache.clear()
        cache.update(fresh)
        found = [fresh[w] if f is None else f for w, f in zip(words, found, strict=True)]
    return found  # type: ignore[return-value]  # every miss is filled in


def hashed_counts(texts: Sequence[str]) -> sp.csr_matrix:
    """Feature counts of `classifiers.features.analyze` on the normalised texts, hashed into `BUCKETS`."""
    tokens = [_TOKEN.findall(normalise(t).text) for t in texts]
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    flat = [w for words in tokens for w in words]
    per_word = _word_buckets(flat)
    own = np.frombuffer(b"".join(per_word), dtype=np.int32)
    own_doc = np.repeat(np.repeat(np.arange(len(texts)), lengths), [len(b) // 4 for b in per_word])
    bigrams = [f"b:{a}_{b}" for words in tokens for a, b in zip(words, words[1:], strict=False)]
    bigram_doc = np.repeat(np.arange(len(texts)), np.maximum(lengths - 1, 0))
    doc = np.concatenate([own_doc, bigram_doc])
    bucket = np.concatenate([own, _buckets(bigrams)]).astype(np.int64)
    key, counts = np.unique(doc * BUCKETS + bucket, return_counts=True)
    rows = key // BUCKETS
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(texts)))])
    return sp.csr_matrix(
        (counts.astype(np.float32), (key % BUCKETS).astype(np.int32), indptr), shape=(len(texts), BUCKETS)
    )


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, each row scaled to unit length."""
    X = counts.copy()
    X.data = (1.0 + np.log(X.data)) * idf[X.indices].astype(np.float32)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ X)


def generic_idf(scorer: Scorer) -> np.ndarray:
    """Per bucket, the generic model's idf of the n-grams hashed there (float16).

    Where several of its n-grams share a bucket the most common one's (lowest) idf wins; buckets that
    hold none of its n-grams get its largest idf (an n-gram rarer than any it kept).
    """
    vectorizer = scorer.vectorizer
    key = (scorer.version, id(vectorizer), len(vectorizer.vocabulary_))
    cached = _IDF_CACHE.get(key)
    if cached is not None and cached[0] is vectorizer:
        return cached[1]
    vocabulary = vectorizer.vocabulary_
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)
    terms = list(vocabulary)
    term_idf = idf[np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))]
    table = np.full(BUCKETS, idf.max() if len(idf) else 1.0)
    order = np.argsort(-term_idf, kind="stable")  # ascending idf is written last and wins
    table[_buckets([terms[i] for i in order])] = term_idf[order]
    result = table.astype(np.float16)
    _IDF_CACHE.clear()  # one entry: the generic model a process fits against
    _IDF_CACHE[key] = (vectorizer, result)
    return result


def generic_logits(generic: Sequence[ScoreResult]) -> np.ndarray:
    """The generic scores as logits, one column per attribute in `GENERIC_ATTRIBUTES`."""
    values = np.array([[r.values()[a] for a in GENERIC_ATTRIBUTES] for r in generic], dtype=np.float64)
    values = np.clip(values.reshape(len(generic), len(GENERIC_ATTRIBUTES)), _CLIP, 1.0 - _CLIP)
    return np.asarray(np.log(values / (1.0 - values)))


def roc_auc(y: ArrayLike, p: ArrayLike) -> float:
    """ROC AUC; 0.5 when `y` holds one class only (no ranking to judge)."""
    labels = np.asarray(y)
    if len(np.unique(labels)) < 2:
        return 0.5
    return float(roc_auc_score(labels, np.asarray(p)))


@dataclass
class SiteModel:
    """A fitted site model: logit = tfidf(text) @ coef + generic_logits @ generic_coef + intercept,
    then p = sigmoid(cal_a * logit + cal_b). `generic_coef` applies to the generic logits (the scale
    chosen at fitting is folded into it)."""

    coef: np.ndarray  # (BUCKETS,) float32
    generic_coef: np.ndarray  # (len(GENERIC_ATTRIBUTES),) float64
    intercept: float
    cal_a: float
    cal_b: float
    idf: np.ndarray  # (BUCKETS,) float16
    card: dict = field(default_factory=dict)
    # On the sentence embedding (the scale chosen at fitting folded in); empty: the model reads none.
    embedding_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def decision(
        self, texts: Sequence[str], generic: Sequence[ScoreResult], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        if len(generic) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(generic)} generic results")
        if not texts:
            return np.zeros(0)
        X = tfidf(hashed_counts(texts), self.idf)
        site = np.asarray(X @ self.coef, dtype=np.float64)
        out = site + generic_logits(generic) @ self.generic_coef + self.intercept
        if self.embedding_coef.size:
            if embeddings is None or embeddings.shape != (len(texts), self.embedding_coef.size):
                raise ValueError("this site model reads sentence embeddings: give one per text")
            out = out + embeddings @ self.embedding_coef
        return out

    @property
    def reads_embeddings(self) -> bool:
        return bool(self.embedding_coef.size)

    def predict(self, texts: Sequence[str], generic: Sequence[ScoreResult], scorer: Scorer) -> np.ndarray:
        """Calibrated P(reject) per text; `generic` are `scorer`'s results for the same texts.

        `scorer` gives the sentence embeddings when the model reads them (cached by text, so a comment
        the generic model already embedded is not embedded again).
        """
        embeddings = scorer.embeddings(texts) if self.reads_embeddings and len(texts) else None
        decision = self.decision(texts, generic, embeddings)
        return np.asarray(expit(self.cal_a * decision + self.cal_b), dtype=np.float64)


def _folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time-ordered folds: contiguous blocks of rows. Falls back to shuffled stratified folds when a
    training part would miss a class (rejections bunched in time, or very few of them)."""
    n = len(y)
    k = int(min(FOLDS, np.bincount(y, minlength=2).min()))
    block = np.minimum(np.arange(n) * k // n, k - 1)
    if any(len(np.unique(y[block != f])) < 2 for f in range(k)):
        rng = np.random.default_rng(seed)
        block = np.empty(n, dtype=np.int64)
        for label in (0, 1):
            rows = rng.permutation(np.flatnonzero(y == label))
            block[rows] = np.arange(len(rows)) % k
    return [(np.flatnonzero(block != f), np.flatnonzero(block == f)) for f in range(k)]


def _fit_linear(X: sp.csr_matrix, y: np.ndarray) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=200)
    model.fit(X, y)
    return model.coef_.ravel(), float(model.intercept_[0])


def _validate(texts: Sequence[str], rejected: Sequence[int]) -> np.ndarray:
    if len(texts) != len(rejected):
        raise ValueError(f"{len(texts)} texts but {len(rejected)} labels")
    y = np.asarray(rejected)
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (published) or 1 (rejected)")
    y = y.astype(np.int64)
    counts = np.bincount(y, minlength=2)
    if counts.min() < MIN_PER_CLASS:
        raise ValueError(
            f"a site model needs at least {MIN_PER_CLASS} rejected and {MIN_PER_CLASS} published comments; "
            f"got {int(counts[1])} rejected and {int(counts[0])} published"
        )
    return y


@dataclass
class _Candidate:
    scale: float
    embedding_scale: float
    oof: np.ndarray
    fold_auc: list[float]

    @property
    def cv_auc(self) -> float:
        return float(np.mean(self.fold_auc)) if self.fold_auc else 0.5


def _features(
    site: sp.csr_matrix,
    logits: np.ndarray,
    embeddings: np.ndarray | None,
    scale: float,
    embedding_scale: float,
) -> sp.csr_matrix:
    blocks = [site, sp.csr_matrix(logits * scale)]
    if embeddings is not None:
        blocks.append(sp.csr_matrix(embeddings * embedding_scale))
    return sp.csr_matrix(sp.hstack(blocks, format="csr"))


def _cross_validate(
    site: sp.csr_matrix,
    logits: np.ndarray,
    embeddings: np.ndarray | None,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> list[_Candidate]:
    """Out-of-fold decision values and per-fold AUC for each scale in `GENERIC_SCALES` (and, with
    embeddings, each of `EMBEDDING_SCALES`)."""
    out = []
    for scale in GENERIC_SCALES:
        for embedding_scale in EMBEDDING_SCALES if embeddings is not None else (0.0,):
            X = _features(site, logits, embeddings, scale, embedding_scale)
            oof = np.zeros(len(y))
            fold_auc = []
            for train, test in folds:
                coef, intercept = _fit_linear(X[train], y[train])
                oof[test] = np.asarray(X[test] @ coef).ravel() + intercept
                if len(np.unique(y[test])) == 2:
                    fold_auc.append(roc_auc(y[test], oof[test]))
            out.append(_Candidate(scale, embedding_scale, oof, fold_auc))
    return out


def fit_site_model(
    texts: Sequence[str],
    rejected: Sequence[int],
    scorer: Scorer,
    *,
    generic: Sequence[ScoreResult] | None = None,
    seed: int = 0,
    embeddings: np.ndarray | None = None,
) -> SiteModel:
    """Fit a site model on the site's decisions (`rejected`: 1 rejected, 0 published), oldest first.

    `generic` are `scorer`'s results for `texts` (computed here when not given). The model reads sentence
    embeddings when `scorer` runs the full profile (`embeddings`, one row per text, are computed here when
    not given). Raises ValueError when the labels hold fewer than `MIN_PER_CLASS` comments of either class.
    """
    started = time.perf_counter()
    y = _validate(texts, rejected)
    if generic is None:
        generic = scorer.score(list(texts))
    if len(generic) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(generic)} generic results")
    idf = generic_idf(scorer)
    site = tfidf(hashed_counts(texts), idf)
    logits = generic_logits(generic)
    if scorer.profile == "full" and embeddings is None:
        embeddings = scorer.embeddings(list(texts))
    elif scorer.profile != "full":
        embeddings = None
    if embeddings is not None and embeddings.shape[0] != len(texts):
        raise ValueError(f"{len(texts)} texts but {embeddings.shape[0]} embeddings")
    folds = _folds(y, seed)
    candidates = _cross_validate(site, logits, embeddings, y, folds)
    best = max(candidates, key=lambda c: c.cv_auc)  # the first of equals: the smallest scales
    coef, intercept = _fit_linear(_features(site, logits, embeddings, best.scale, best.embedding_scale), y)
    width = BUCKETS + len(GENERIC_ATTRIBUTES)
    calibration = fit_platt(best.oof, y, np.ones(len(y)))
    calibrated = calibration.apply(best.oof)
    card = {
        "kind": "site",
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "generic_version": scorer.version,
        "n_labels": len(y),
        "n_rejected": int(y.sum()),
        "params": {
            "features": FEATURES,
            "buckets": BUCKETS,
            "idf": "the generic model's, hashed; n-grams it does not know get its largest idf",
            "generic_attributes": list(GENERIC_ATTRIBUTES),
            "generic_scale": best.scale,
            "generic_scales_tried": list(GENERIC_SCALES),
            "embeddings": (
                {"encoder": "use-m3", "scale": best.embedding_scale, "scales_tried": list(EMBEDDING_SCALES)}
                if embeddings is not None
                else None
            ),
            "C": C,
            "class_weight": "balanced",
            "folds": len(folds),
            "fold_scheme": "contiguous blocks in label order (time-ordered), else shuffled stratified",
            "calibration": "Platt scaling on out-of-fold decision values",
            "seed": seed,
        },
        "metrics": {
            # Mean of the per-fold AUCs: each fold is scored by one model, as the live site is.
            "cv_auc": round(best.cv_auc, 4),
            "cv_auc_folds": [round(a, 4) for a in best.fold_auc],
            "cv_auc_pooled": round(roc_auc(y, best.oof), 4),
            "cv_auc_by_scales": {f"{c.scale}/{c.embedding_scale}": round(c.cv_auc, 4) for c in candidates},
            "generic_auc": {a: round(roc_auc(y, logits[:, i]), 4) for i, a in enumerate(GENERIC_ATTRIBUTES)},
            "cv_ece": round(expected_calibration_error(y, calibrated), 4),
            "cv_mean_predicted": round(float(calibrated.mean()), 4),
            "base_rate": round(float(y.mean()), 4),
            "note": (
                "out-of-fold figures on the site's own labels (the scale is chosen on them, so cv_auc is "
                "slightly optimistic); generic_auc is the generic score alone on the same labels; the "
                "ECE is in-sample for the Platt map"
            ),
        },
        "fit_seconds": round(time.perf_counter() - started, 2),
        "libraries": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "skops": skops.__version__,
            "numpy": np.__version__,
        },
    }
    return SiteModel(
        coef=coef[:BUCKETS].astype(np.float32),
        generic_coef=coef[BUCKETS:width].astype(np.float64) * best.scale,
        embedding_coef=coef[width:].astype(np.float32) * best.embedding_scale,
        intercept=intercept,
        cal_a=calibration.a,
        cal_b=calibration.b,
        idf=idf,
        card=card,
    )


def save_site_model(model: SiteModel, directory: Path) -> None:
    """Write `site_model.skops` (arrays and numbers only, no pickle) and `model_card.json`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "kind": "site",
        "features": FEATURES,
        "buckets": BUCKETS,
        "coef": np.asarray(model.coef, dtype=np.float32),
        "generic_attributes": list(GENERIC_ATTRIBUTES),
        "generic_coef": np.asarray(model.generic_coef, dtype=np.float64),
        "intercept": float(model.intercept),
        "cal_a": float(model.cal_a),
        "cal_b": float(model.cal_b),
        "idf": np.asarray(model.idf, dtype=np.float16),
        "embedding_coef": np.asarray(model.embedding_coef, dtype=np.float32),
    }
    sio.dump(state, directory / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
    check_trusted(directory / MODEL_FILE)
    (directory / CARD_FILE).write_text(json.dumps(model.card, indent=2, ensure_ascii=False), encoding="utf-8")


def _shared(idf: np.ndarray) -> np.ndarray:
    """One read-only copy of each distinct idf table among the loaded models."""
    key = hashlib.blake2b(idf.tobytes(), digest_size=16).digest()
    found = _SHARED_IDF.get(key)
    if found is not None and found.shape == idf.shape:
        return found
    idf.flags.writeable = False
    _SHARED_IDF[key] = idf
    return idf


def load_site_model(directory: Path) -> SiteModel:
    """Load a site model written by `save_site_model`; ModelLoadError when it is missing or malformed."""
    directory = Path(directory)
    try:
        card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read site model card in {directory}: {exc}") from exc
    state = load_skops(directory / MODEL_FILE)
    try:
        if (
            not isinstance(state, dict)
            or state.get("kind") != "site"
            or state.get("format") not in READABLE_FORMATS
        ):
            raise ModelLoadError(f"{directory / MODEL_FILE} is not a site model of format {READABLE_FORMATS}")
        if state["features"] != FEATURES or int(state["buckets"]) != BUCKETS:
            raise ModelLoadError(f"{directory / MODEL_FILE} uses features this code does not compute")
        if list(state["generic_attributes"]) != list(GENERIC_ATTRIBUTES):
            raise ModelLoadError(f"{directory / MODEL_FILE} was fitted on other generic attributes")
        model = SiteModel(
            coef=np.asarray(state["coef"], dtype=np.float32),
            generic_coef=np.asarray(state["generic_coef"], dtype=np.float64),
            intercept=float(state["intercept"]),
            cal_a=float(state["cal_a"]),
            cal_b=float(state["cal_b"]),
            idf=_shared(np.asarray(state["idf"], dtype=np.float16)),
            card=card,
            embedding_coef=np.asarray(state.get("embedding_coef", np.zeros(0)), dtype=np.float32),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"malformed site model state in {directory}: {exc}") from exc
    if model.coef.shape != (BUCKETS,) or model.idf.shape != (BUCKETS,):
        raise ModelLoadError("site model arrays have the wrong shape")
    if model.generic_coef.shape != (len(GENERIC_ATTRIBUTES),):
        raise ModelLoadError("site model generic coefficients have the wrong shape")
    if model.embedding_coef.ndim != 1 or model.embedding_coef.size not in (0, DIM):
        raise ModelLoadError("site model embedding coefficients have the wrong shape")
    return model
