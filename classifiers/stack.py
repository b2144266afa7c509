"""The `full` profile's stacked heads: n-gram logits and sentence-encoder logits combined per attribute.

As the best GermEval 2018 systems combined embeddings with n-grams, each stacked attribute has two base
models, the n-gram head (`classifiers.model.Heads`) and a logistic regression over the sentence
embedding, and a small meta model over their out-of-fold decision values (the same grouped folds),
plus the tweet-style flag and, for propaganda, how close the comment comes to a narrative of the
catalogue (cosine similarity to its example phrases). The meta model is a weighted logistic
regression without class weights, so its output is the calibrated probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

STACKED = ("toxicity", "insult", "profanity", "identity_attack", "threat", "propaganda", "spam")
META_INPUTS = ("ngram", "encoder", "style", "narrative_similarity", "stance")
# The stance model: a multinomial logistic regression over the embedding, trained on the written same-topic
# comments' kinds (endorses, insinuates, reports a claim, debunks, mocks, asks the editors, criticises the
# Kremlin, ...). Its log-odds that a comment takes an endorsing stance is a meta input of propaganda: a
# comment is judged by how it treats a claim, not by the topic it shares with the claim.
STANCE_SOURCE = "written_topic_comments"
STANCE_C = 3.0
ENCODER_C = {"propaganda": 1.0, "threat": 1.0}
DEFAULT_ENCODER_C = 1.0


# Language heads: comments in languages the sentence encoder (USE, 16 languages) does not read, but e5 does,
# get a second reading from e5 for the heads below, averaged with the stack's probability (`LANGUAGE_WEIGHT`
# of the e5 head's). Trained on the comment-domain rows of each head in every language: e5 carries what
# German, English and Russian comments teach across to Ukrainian and Kazakh (chosen on the odd/even split
# of the written Ukrainian and Kazakh comments, docs/models.md).
E5_LANGUAGES = ("uk", "kk")
LANGUAGE_HEADS = ("toxicity", "threat", "identity_attack", "propaganda")
LANGUAGE_C = 1.0
LANGUAGE_WEIGHT = 0.5
# Not comment text (news headlines and disinformation case summaries, meme captions): left out of the
# language heads. Prefixes of the corpus names (`euvsdisinfo_titles_2015_2021`, ...): models before
# `2026.12.07-225950` compared the names whole, which let the EUvsDisinfo rows into the propaganda head;
# leaving them out as meant raised its out-of-fold AUC on the Ukrainian / Kazakh rows, blended, from
# 0.847 / 0.843 to 0.869 / 0.849 (docs/models.md).
LANGUAGE_SKIPPED_SOURCES = ("euvsdisinfo", "semeval2021_task6", "catalogue")


def language_head_source(source: str) -> bool:
    """Whether rows of the corpus `source` train the language heads."""
    return not source.startswith(LANGUAGE_SKIPPED_SOURCES)


@dataclass
class LanguageHeads:
    """Calibrated heads over the e5 embedding, read for comments in `languages` only."""

    languages: list[str]
    names: list[str]
    coef: np.ndarray  # (e5 dim, n_heads) float32
    intercept: np.ndarray  # (n_heads,)
    cal_a: np.ndarray  # (n_heads,): Platt scaling of the decision value
    cal_b: np.ndarray  # (n_heads,)
    weight: float = LANGUAGE_WEIGHT

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        z = embeddings @ self.coef + self.intercept
        return np.asarray(expit(z * self.cal_a + self.cal_b), dtype=np.float64)


@dataclass
class StackHeads:
    names: list[str]
    coef: np.ndarray  # (dim, n_heads) float32: encoder heads
    intercept: np.ndarray  # (n_heads,)
    meta: np.ndarray  # (n_heads, len(META_INPUTS))
    meta_b: np.ndarray  # (n_heads,)
    stance: Stance | None = None
    refiner: Refiner | None = None
    languages: LanguageHeads | None = None

    def encoder_logits(self, embeddings: np.ndarray) -> np.ndarray:
        return embeddings @ self.coef + self.intercept

    def select(self, names: list[str]) -> StackHeads:
        """The stacked heads of `names` (in that order), without the refiner; the stance model is kept
        when one of them weighs it."""
        k = [self.names.index(n) for n in names]
        meta = self.meta[k]
        return StackHeads(
            names=list(names),
            coef=np.ascontiguousarray(self.coef[:, k]),
            intercept=self.intercept[k],
            meta=meta,
            meta_b=self.meta_b[k],
            stance=self.stance if meta.shape[1] > 4 and meta[:, 4].any() else None,
        )

    def stance_values(self, embeddings: np.ndarray) -> np.ndarray:
        if self.stance is None:
            return np.zeros(len(embeddings))
        return self.stance.endorsing_logit(embeddings)

    def probabilities(
        self,
        ngram: np.ndarray,
        encoder: np.ndarray,
        style: np.ndarray,
        similarity: np.ndarray,
        stance: np.ndarray | None = None,
    ) -> np.ndarray:
        """`ngram` and `encoder` (n_texts, n_heads) in this object's head order; the rest per text."""
        z = (
            ngram * self.meta[:, 0]
            + encoder * self.meta[:, 1]
            + style[:, None] * self.meta[:, 2]
            + similarity[:, None] * self.meta[:, 3]
            + self.meta_b
        )
        if stance is not None:
            z = z + stance[:, None] * self.meta[:, 4]
        return expit(z)


# The refiner: a second, larger encoder (multilingual-e5-small) read only where the stack leaves toxicity
# uncertain. Its logistic regression joins the n-gram and USE logits in a second meta model. Chosen on
# leave-one-corpus-out and out-of-fold figures of the training data (docs/models.md): the band keeps
# nearly all of the gain of reading every comment at about half the cost on GermEval-like comments.
REFINED = "toxicity"
REFINER_BAND = (0.25, 0.75)
REFINER_C = 1.0
REFINER_INPUTS = ("ngram", "encoder", "refiner", "style")
# Inside the band the refined probability is averaged with the stack's, half and half: chosen on
# leave-one-corpus-out figures (GermEval 2018 / 2021 as the held-out corpus): AUC 0.808 / 0.706 with the
# refined probability alone, 0.811 / 0.706 averaged, ECE 0.099 / 0.061 against 0.061 / 0.049. The e5
# meta model alone was over-confident on the corpus it was not fitted on.
REFINER_WEIGHT = 0.5


@dataclass
class Refiner:
    """Toxicity re-scored from the e5 embedding where the stack's probability is within `band`."""

    head: str
    band: tuple[float, float]
    coef: np.ndarray  # (e5 dim,) float32
    intercept: float
    meta: np.ndarray  # (len(REFINER_INPUTS),)
    meta_b: float
    # The refined probability's share inside the band; the stack's has the rest (format 6: 1).
    weight: float = 1.0

    def wanted(self, probability: np.ndarray) -> np.ndarray:
        """Which rows the refiner reads: a boolean mask over `probability` (the stack's)."""
        lo, hi = self.band
        return (probability >= lo) & (probability <= hi)

    def probabilities(
        self, ngram: np.ndarray, encoder: np.ndarray, embeddings: np.ndarray, style: np.ndarray
    ) -> np.ndarray:
        refiner = embeddings @ self.coef + self.intercept
        z = np.column_stack([ngram, encoder, refiner, style]) @ self.meta + self.meta_b
        return np.asarray(expit(z), dtype=np.float64)

    def blend(self, stacked: np.ndarray, refined: np.ndarray) -> np.ndarray:
        return blend(self.weight, stacked, refined)


def blend(weight: float, stacked: np.ndarray, refined: np.ndarray) -> np.ndarray:
    """The probability given to a row inside the refiner's band: `weight` of the refined one, the rest
    the stack's."""
    return weight * refined + (1.0 - weight) * stacked


@dataclass
class Stance:
    """How a comment treats a claim, from its embedding: one class per kind of the written same-topic
    comments; `endorsing` marks the kinds that spread a narrative (labelled propaganda)."""

    kinds: list[str]
    endorsing: np.ndarray  # (n_kinds,) bool
    coef: np.ndarray  # (dim, n_kinds) float32
    intercept: np.ndarray  # (n_kinds,)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        z = embeddings @ self.coef + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def endorsing_logit(self, embeddings: np.ndarray) -> np.ndarray:
        p = self.probabilities(embeddings)[:, self.endorsing].sum(axis=1)
        p = np.clip(p, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))


def _fit_stance_model(X: np.ndarray, kinds: np.ndarray, endorsing_kinds: set[str]) -> Stance:
    model = LogisticRegression(C=STANCE_C, max_iter=3000)
    model.fit(X, kinds)
    classes = [str(k) for k in model.classes_]
    return Stance(
        kinds=classes,
        endorsing=np.array([k in endorsing_kinds for k in classes]),
        coef=model.coef_.T.astype(np.float32),
        intercept=model.intercept_.astype(np.float64),
    )


def fit_stance(
    embeddings: np.ndarray,
    kinds: Sequence[str | None],
    endorsing_kinds: set[str],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[Stance | None, np.ndarray]:
    """The stance model on the rows that have a kind, and its endorsing log-odds for every row: out of
    fold on the rows it is trained on (`folds` index those rows), from the full model elsewhere."""
    rows = np.array([i for i, k in enumerate(kinds) if k])
    if len(rows) == 0 or not endorsing_kinds:
        return None, np.zeros(len(embeddings))
    labels = np.array([kinds[i] for i in rows])
    stance = _fit_stance_model(embeddings[rows], labels, endorsing_kinds)
    values = stance.endorsing_logit(embeddings)
    for train, test in folds:
        fold_model = _fit_stance_model(embeddings[rows[train]], labels[train], endorsing_kinds)
        values[rows[test]] = fold_model.endorsing_logit(embeddings[rows[test]])
    return stance, values


def fit_dense(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=500)
    model.fit(X, y, sample_weight=w)
    return model.coef_.ravel().astype(np.float32), float(model.intercept_[0])


def _fold(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    coef, intercept = fit_dense(X[train], y[train], w[train], C)
    return test, X[test] @ coef + intercept


@dataclass
class EncoderHead:
    coef: np.ndarray
    intercept: float
    oof: np.ndarray


def fit_encoder_head(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    C: float,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    jobs: int,
) -> EncoderHead:
    tasks = [delayed(_fold)(X, y, w, C, tr, te) for tr, te in splits]
    tasks.append(delayed(fit_dense)(X, y, w, C))
    results = Parallel(n_jobs=jobs)(tasks)
    coef, intercept = results[-1]
    oof = np.zeros(len(y))
    for test, scores in results[:-1]:
        oof[test] = scores
    return EncoderHead(coef, intercept, oof)


def meta_inputs(
    ngram: np.ndarray,
    encoder: np.ndarray,
    style: np.ndarray,
    similarity: np.ndarray,
    stance: np.ndarray,
    head: str,
) -> np.ndarray:
    if head != "propaganda":
        similarity, stance = np.zeros_like(similarity), np.zeros_like(stance)
    return np.column_stack([ngram, encoder, style, similarity, stance])


def fit_meta(features: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """A weighted logistic regression over the base models' out-of-fold values (no class weights)."""
    used = features.std(axis=0) > 0
    model = LogisticRegression(C=100.0, max_iter=1000)
    model.fit(features[:, used], y, sample_weight=w)
    coef = np.zeros(features.shape[1])
    coef[used] = model.coef_[0]
    return coef, float(model.intercept_[0])


def narrative_similarity(embeddings: np.ndarray, phrases: np.ndarray) -> np.ndarray:
    """Per text, the highest cosine similarity to a catalogue phrase (embeddings are L2-normalised)."""
    if phrases.size == 0 or embeddings.size == 0:
        return np.zeros(len(embeddings))
    return np.asarray((embeddings @ phrases.T).max(axis=1), dtype=np.float64)
