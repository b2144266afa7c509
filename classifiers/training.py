"""Train all heads on the corpora, calibrate them on cross-validated scores, save a registry version."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
import skops
from joblib import Parallel, delayed
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from classifiers.augment import catalogue_examples
from classifiers.calibration import Calibration, fit_platt, tweet_style
from classifiers.card import (
    TOXIC_ATTRIBUTES,
    corpora_card,
    germeval2021_threshold,
    germeval_rules,
    head_metrics,
    threshold_tables,
    topic_thresholds,
    transfer_metrics,
)
from classifiers.catalogue import Catalogue, load_catalogue
from classifiers.corpora import LICENCES, Example, load_corpora
from classifiers.encoder import SentenceEncoder
from classifiers.evaluation import binary_report
from classifiers.features import DENSE_NAMES, analyse_cues, analyze, dense_matrix, token_ngrams
from classifiers.langid import detect_language
from classifiers.model import Heads
from classifiers.names import PLACEHOLDER, mask_names
from classifiers.normalize import normalise, shown_text
from classifiers.registry import Registry
from classifiers.stack import (
    DEFAULT_ENCODER_C,
    E5_LANGUAGES,
    ENCODER_C,
    LANGUAGE_C,
    LANGUAGE_HEADS,
    LANGUAGE_WEIGHT,
    META_INPUTS,
    REFINED,
    REFINER_BAND,
    REFINER_C,
    REFINER_INPUTS,
    REFINER_WEIGHT,
    STACKED,
    STANCE_SOURCE,
    LanguageHeads,
    Refiner,
    StackHeads,
    Stance,
    blend,
    fit_dense,
    fit_encoder_head,
    fit_meta,
    fit_stance,
    language_head_source,
    meta_inputs,
    narrative_similarity,
)
from classifiers.validation import cv_groups, group_folds, transfer_splits

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
    "threat": 16.0,
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
COMMENT_DOMAIN = ("synthetic_de_comments", "catalogue", "germeval2021", "germs_at", "written_topic_comments")
# No public corpus labels threats: the threat head learns from the written threats, their hard negatives
# and the civil comments of the public corpora, and is calibrated on all of them. (Calibrated on the
# written threat-or-not rows alone, it called ordinary comments that address the author threats.)
COMMENT_SOURCES = ("germeval2018", "germeval2019", "germeval2021", "germs_at", "davidson_hate_offensive")
# Heads that do not read the name placeholder itself (`classifiers.names`): the propaganda corpora name
# leaders and countries far more often than civil comments do, so the placeholder alone had become a
# propaganda cue (a plain report naming Selenskyj, election talk about Scholz held as propaganda). The
# words around it still count, and so do the narrative cues, which read the names.
NAME_BLIND_HEADS = ("propaganda",)


def placeholder_columns(vocabulary: dict[str, int]) -> np.ndarray:
    """The feature columns of the name placeholder: its word, its character n-grams and the word pairs
    it is part of."""
    keys = {"w:" + PLACEHOLDER, *token_ngrams(PLACEHOLDER)}
    columns = [
        i
        for k, i in vocabulary.items()
        if k in keys or (k.startswith("b:") and PLACEHOLDER in k[2:].split("_"))
    ]
    return np.array(sorted(columns), dtype=np.int64)


def without_columns(X: sp.csr_matrix, columns: np.ndarray) -> sp.csr_matrix:
    """`X` with `columns` set to zero (same shape: the head's coefficients there stay 0)."""
    if len(columns) == 0:
        return X
    keep = np.ones(X.shape[1], dtype=np.float32)
    keep[columns] = 0.0
    return (X @ sp.diags(keep, format="csr")).tocsr()


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
    if head == "threat":
        if "threat" in labels:
            return labels["threat"]
        # Civil reader comments are no threats; toxic ones of other corpora were never asked about it.
        return 0.0 if labels.get("toxicity") == 0.0 and example.source in COMMENT_SOURCES else None
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
) -> tuple[np.ndarray, np.ndarray]:
    coef, intercept = _fit_linear(X[train], y[train], w[train], C)
    return test, np.asarray(X[test] @ coef).ravel() + intercept


@dataclass
class FittedHead:
    """One head fitted on all rows, with its out-of-fold decision values.

    `transfer` maps a corpus to (row indices, decision values) from a model trained without that corpus.
    """

    coef: np.ndarray
    intercept: float
    oof: np.ndarray
    transfer: dict[str, tuple[np.ndarray, np.ndarray]]


def fit_head(
    X: sp.csr_matrix,
    y: np.ndarray,
    w: np.ndarray,
    C: float,
    splits: list[tuple[np.ndarray, np.ndarray]],
    jobs: int,
    transfer: Sequence[tuple[str, np.ndarray, np.ndarray]] = (),
) -> FittedHead:
    """Fit one head on all rows, plus out-of-fold decision values on `splits` (train, test) and, for
    each (corpus, train, test) in `transfer`, decision values on a corpus left out of training."""
    tasks = [delayed(_fold_scores)(X, y, w, C, tr, te) for tr, te in splits]
    tasks.extend(delayed(_fold_scores)(X, y, w, C, tr, te) for _, tr, te in transfer)
    tasks.append(delayed(_fit_linear)(X, y, w, C))
    # No memmapping: liblinear canonicalises the sparse matrix in place, which read-only maps refuse.
    results = Parallel(n_jobs=jobs, max_nbytes=None)(tasks)
    coef, intercept = results[-1]
    oof = np.zeros(len(y))
    for test, scores in results[: len(splits)]:
        oof[test] = scores
    moved = {name: result for (name, _, _), result in zip(transfer, results[len(splits) : -1], strict=True)}
    return FittedHead(coef, intercept, oof, moved)


def calibrate_head(
    head: str, fitted: FittedHead, y: np.ndarray, w: np.ndarray, style: np.ndarray, domain: np.ndarray
) -> Calibration:
    """Toxicity: style-aware Platt on leave-one-corpus-out values; others: Platt on OOF values.

    `domain` (a boolean mask over the rows) restricts the plain calibration to the target domain.
    """
    if head == "toxicity" and fitted.transfer:
        rows = np.concatenate([test for test, _ in fitted.transfer.values()])
        scores = np.concatenate([values for _, values in fitted.transfer.values()])
        if len(set(y[rows])) == 2:
            return fit_platt(scores, y[rows], w[rows], style[rows])
    mask = domain if len(set(y[domain])) == 2 else np.ones(len(y), bool)
    return fit_platt(fitted.oof[mask], y[mask], w[mask])


def _technique_heads(examples: list[Example], catalogue: Catalogue) -> list[str]:
    counts: dict[str, int] = {}
    for e in examples:
        for t in e.techniques or ():
            counts[t] = counts.get(t, 0) + 1
    return [f"technique:{t}" for t in catalogue.technique_ids if counts.get(t, 0) >= MIN_TECHNIQUE_POSITIVES]


@dataclass
class Base:
    """What the stack needs of one n-gram head: its rows, labels, weights, folds, calibration domain and
    out-of-fold decision values."""

    rows: np.ndarray
    y: np.ndarray
    w: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    domain: np.ndarray
    oof: np.ndarray
    # corpus -> (row positions, decision values of a model trained without that corpus); toxicity only
    transfer: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _transfer_meta(
    base: Base,
    X: np.ndarray,
    style: np.ndarray,
    similarity: np.ndarray,
    stance: np.ndarray,
    head: str,
    C: float,
) -> tuple[np.ndarray, float, dict]:
    """A meta model fitted on leave-one-corpus-out values of both base models (as the n-gram toxicity
    head is calibrated): a corpus unlike the training data (GermEval 2021's talk-show comments) is scored
    less confidently than within-corpus folds suggest. Also reports, per corpus, a meta model fitted on
    the other corpora's values only: an honest figure of how well that calibration carries over."""
    rows = [test for test, _ in base.transfer.values()]
    ngram = [values for _, values in base.transfer.values()]
    encoder = _transfer_values(base, X, C)
    features = [
        meta_inputs(n, e, style[base.rows][t], similarity[base.rows][t], stance[base.rows][t], head)
        for t, n, e in zip(rows, ngram, encoder, strict=True)
    ]
    report: dict = {}
    for k, name in enumerate(base.transfer):
        others = [j for j in range(len(rows)) if j != k]
        if not others:
            continue
        fx = np.vstack([features[j] for j in others])
        fy = np.concatenate([base.y[rows[j]] for j in others])
        fw = np.concatenate([base.w[rows[j]] for j in others])
        a, b = fit_meta(fx, fy, fw)
        p = 1 / (1 + np.exp(-(features[k] @ a + b)))
        report[name] = binary_report(base.y[rows[k]], p)
    meta, meta_b = fit_meta(
        np.vstack(features),
        np.concatenate([base.y[t] for t in rows]),
        np.concatenate([base.w[t] for t in rows]),
    )
    return meta, meta_b, report


def _transfer_values(base: Base, X: np.ndarray, C: float) -> list[np.ndarray]:
    """Per corpus of `base.transfer`, the decision values of a dense head trained without that corpus."""
    values = []
    for test, _ in base.transfer.values():
        train = np.setdiff1d(np.arange(len(base.rows)), test)
        coef, intercept = fit_dense(X[train], base.y[train], base.w[train], C)
        values.append(X[test] @ coef + intercept)
    return values


def fit_refiner(
    examples: list[Example],
    base: Base,
    use: np.ndarray,
    use_oof: np.ndarray,
    style: np.ndarray,
    probability: np.ndarray,
    stack_meta: tuple[np.ndarray, float],
    refiner_encoder: SentenceEncoder,
    jobs: int,
    say: ProgressFn,
) -> tuple[Refiner, np.ndarray, dict]:
    """The e5 refiner of toxicity (`classifiers.stack.Refiner`): a dense head over the e5 embedding on the
    head's rows and folds, and a meta model over the n-gram, USE and e5 values fitted, as toxicity's
    stack meta model, on leave-one-corpus-out values, and only on the rows it will read: those whose
    stacked probability (`stack_meta` over the same values) is within the band. (Fitted on every row,
    it calibrated worse where it is applied: leave-one-corpus-out ECE on GermEval 2018 0.174 against
    0.099, on 2021 0.096 against 0.062.) Inside the band its probability is averaged with the stack's
    (`REFINER_WEIGHT`). Returns it, the out-of-fold probability with the refiner applied where the stack's
    `probability` is in its band, and figures for the card."""
    refiner_encoder.use_seed()
    say(f"embedding {len(base.rows)} texts with {refiner_encoder.name} (shipped and cached by text)")
    E = refiner_encoder.encode([mask_names(examples[i].text) for i in base.rows], progress=say)
    fitted = fit_encoder_head(E, base.y, base.w, REFINER_C, base.splits, jobs)
    rows = [test for test, _ in base.transfer.values()]
    ngram = [values for _, values in base.transfer.values()]
    use_values = _transfer_values(base, use, ENCODER_C.get(REFINED, DEFAULT_ENCODER_C))
    e5_values = _transfer_values(base, E, REFINER_C)
    s = style[base.rows]
    features = [
        np.column_stack([n, u, e, s[t]])
        for t, n, u, e in zip(rows, ngram, use_values, e5_values, strict=True)
    ]
    lo, hi = REFINER_BAND
    stacked = [
        expit(meta_inputs(n, u, s[t], s[t] * 0, s[t] * 0, REFINED) @ stack_meta[0] + stack_meta[1])
        for t, n, u in zip(rows, ngram, use_values, strict=True)
    ]
    inside_transfer = [(p >= lo) & (p <= hi) for p in stacked]

    def fit_on(parts: list[int]) -> tuple[np.ndarray, float]:
        masks = [inside_transfer[j] for j in parts]
        y_in = np.concatenate([base.y[rows[j]][m] for j, m in zip(parts, masks, strict=True)])
        if len(y_in) < 50 or len(set(y_in)) < 2:  # too few uncertain rows (a tiny training set): all rows
            masks = [np.ones(len(rows[j]), bool) for j in parts]
        return fit_meta(
            np.vstack([features[j][m] for j, m in zip(parts, masks, strict=True)]),
            np.concatenate([base.y[rows[j]][m] for j, m in zip(parts, masks, strict=True)]),
            np.concatenate([base.w[rows[j]][m] for j, m in zip(parts, masks, strict=True)]),
        )

    report: dict = {}
    for k, name in enumerate(base.transfer):
        others = [j for j in range(len(rows)) if j != k]
        if not others:
            continue
        a, b = fit_on(others)
        blended = blend(REFINER_WEIGHT, stacked[k], expit(features[k] @ a + b))
        refined_k = np.where(inside_transfer[k], blended, stacked[k])
        report[name] = binary_report(base.y[rows[k]], refined_k)
    meta, meta_b = fit_on(list(range(len(rows))))
    refiner = Refiner(REFINED, REFINER_BAND, fitted.coef, fitted.intercept, meta, meta_b, REFINER_WEIGHT)
    inside = refiner.wanted(probability)
    refined = probability.copy()
    oof_features = np.column_stack([base.oof, use_oof, fitted.oof, s])
    refined[inside] = refiner.blend(probability[inside], expit(oof_features[inside] @ meta + meta_b))
    card = {
        "encoder": refiner_encoder.name,
        "band": list(REFINER_BAND),
        "weight": REFINER_WEIGHT,
        "share_of_rows_refined": round(float(inside.mean()), 4),
        "meta": dict(zip(REFINER_INPUTS, [round(float(v), 4) for v in meta], strict=True)),
        "transfer_meta_from_other_corpora": report,
    }
    return refiner, refined, card


def fit_language_heads(
    examples: list[Example],
    bases: dict[str, Base],
    stacked: dict[str, np.ndarray],
    refiner_encoder: SentenceEncoder,
    jobs: int,
    say: ProgressFn,
) -> tuple[LanguageHeads | None, dict]:
    """The language heads (`classifiers.stack.LanguageHeads`): per head of LANGUAGE_HEADS, a logistic
    regression over the e5 embedding on the head's comment-domain rows in every language and its folds,
    Platt-scaled on its out-of-fold values. The card gets, per language of E5_LANGUAGES, the out-of-fold
    AUC on the rows in that language of the stack alone (`stacked`: its out-of-fold probability per
    example), of the e5 head alone and of their blends."""
    refiner_encoder.use_seed()
    names, coefs, intercepts, cal_a, cal_b = [], [], [], [], []
    report: dict[str, Any] = {"languages": list(E5_LANGUAGES), "weight": LANGUAGE_WEIGHT, "heads": {}}
    language = {}
    for head in LANGUAGE_HEADS:
        base = bases.get(head)
        if base is None:
            continue
        kept = np.array([language_head_source(examples[i].source) for i in base.rows])
        if kept.sum() < 50 or len(set(base.y[kept])) < 2:
            continue
        position = np.full(len(base.rows), -1)
        position[kept] = np.arange(int(kept.sum()))
        splits = [(position[tr[kept[tr]]], position[te[kept[te]]]) for tr, te in base.splits]
        rows = base.rows[kept]
        y, w = base.y[kept], base.w[kept]
        say(f"language head {head}: embedding {len(rows)} texts with {refiner_encoder.name} (seed, cache)")
        E = refiner_encoder.encode([mask_names(examples[i].text) for i in rows], progress=say)
        fitted = fit_encoder_head(E, y, w, LANGUAGE_C, splits, jobs)
        a, b = fit_meta(fitted.oof[:, None], y, w)
        names.append(head)
        coefs.append(fitted.coef)
        intercepts.append(fitted.intercept)
        cal_a.append(float(a[0]))
        cal_b.append(b)
        e5 = expit(fitted.oof * a[0] + b)
        stack = stacked[head][rows]
        figures: dict[str, Any] = {"rows": int(len(rows)), "auc_out_of_fold": _auc(y, e5)}
        for lang in E5_LANGUAGES:
            for i in rows:
                if int(i) not in language:
                    language[int(i)] = detect_language(shown_text(examples[int(i)].text))
            mine = np.array([language[int(i)] == lang for i in rows])
            if mine.sum() < 10 or len(set(y[mine])) < 2:
                continue
            figures[lang] = {
                "rows": int(mine.sum()),
                "auc_stack": _auc(y[mine], stack[mine]),
                "auc_e5": _auc(y[mine], e5[mine]),
                **{
                    f"auc_blend_{weight}": _auc(y[mine], blend(weight, stack[mine], e5[mine]))
                    for weight in (0.25, 0.5, 0.75)
                },
            }
        report["heads"][head] = figures
        say(f"language head {head}: {figures}")
    if not names:
        return None, report
    heads = LanguageHeads(
        languages=list(E5_LANGUAGES),
        names=names,
        coef=np.column_stack(coefs).astype(np.float32),
        intercept=np.array(intercepts),
        cal_a=np.array(cal_a),
        cal_b=np.array(cal_b),
        weight=LANGUAGE_WEIGHT,
    )
    return heads, report


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(set(y.tolist())) < 2:
        return None
    return round(float(roc_auc_score(y, p)), 4)


def fit_stack(
    examples: list[Example],
    bases: dict[str, Base],
    style: np.ndarray,
    encoder: SentenceEncoder,
    catalogue: Catalogue,
    jobs: int,
    say: ProgressFn,
    started: float,
    oof_fast: dict[str, np.ndarray],
    refiner_encoder: SentenceEncoder | None = None,
) -> tuple[StackHeads, dict[str, np.ndarray], dict]:
    """Encoder heads on the same rows and folds as the n-gram heads, then one meta model per head; with
    a `refiner_encoder`, toxicity's refiner too."""
    say(f"embedding {len(examples)} texts with {encoder.name} (cached by text)")
    embeddings = encoder.encode([mask_names(e.text) for e in examples], progress=say)
    phrases = encoder.encode([mask_names(text) for _, _, text in catalogue.example_texts()])
    similarity = narrative_similarity(embeddings, phrases)
    say(f"embedded ({time.perf_counter() - started:.1f}s)")
    stance, stance_values = _fit_stance(examples, embeddings, bases.get("propaganda"))
    refiner: Refiner | None = None
    names, coefs, intercepts, metas, meta_bs = [], [], [], [], []
    oof_full: dict[str, np.ndarray] = {}
    metrics: dict[str, Any] = {}
    for head in STACKED:
        if head not in bases:
            continue
        base = bases[head]
        X = embeddings[base.rows]
        fitted = fit_encoder_head(
            X, base.y, base.w, ENCODER_C.get(head, DEFAULT_ENCODER_C), base.splits, jobs
        )
        features = meta_inputs(
            base.oof, fitted.oof, style[base.rows], similarity[base.rows], stance_values[base.rows], head
        )
        transfer_report = None
        if base.transfer:
            meta, meta_b, transfer_report = _transfer_meta(
                base, X, style, similarity, stance_values, head, ENCODER_C.get(head, DEFAULT_ENCODER_C)
            )
        else:
            # The catalogue's own phrases are trained on and are their own nearest phrase: not in the fit.
            fit_rows = base.domain & np.array([examples[i].source != "catalogue" for i in base.rows])
            if len(set(base.y[fit_rows])) < 2:
                fit_rows = np.ones(len(base.rows), bool)
            meta, meta_b = fit_meta(features[fit_rows], base.y[fit_rows], base.w[fit_rows])
        probability = 1 / (1 + np.exp(-(features @ meta + meta_b)))
        if head == REFINED and refiner_encoder is not None and base.transfer:
            refiner, probability, refiner_card = fit_refiner(
                examples, base, X, fitted.oof, style, probability, (meta, meta_b), refiner_encoder, jobs, say
            )
            metrics["refiner"] = refiner_card
            metrics["refiner"]["out_of_fold"] = head_metrics(head, base.rows, base.y, probability, examples)
        names.append(head)
        coefs.append(fitted.coef)
        intercepts.append(fitted.intercept)
        metas.append(meta)
        meta_bs.append(meta_b)
        oof_full[head] = np.full(len(examples), np.nan)
        oof_full[head][base.rows] = probability
        metrics[head] = head_metrics(head, base.rows, base.y, probability, examples)
        metrics[head]["meta"] = dict(zip(META_INPUTS, [round(float(v), 4) for v in meta], strict=True))
        if transfer_report is not None:
            metrics[head]["transfer_meta_from_other_corpora"] = transfer_report
        say(f"stacked head {head} ({time.perf_counter() - started:.1f}s)")
    languages: LanguageHeads | None = None
    if refiner_encoder is not None:
        languages, metrics["language_heads"] = fit_language_heads(
            examples, bases, oof_full, refiner_encoder, jobs, say
        )
    for head, values in oof_fast.items():
        oof_full.setdefault(head, values)
    stack = StackHeads(
        names=names,
        coef=np.column_stack(coefs).astype(np.float32),
        intercept=np.array(intercepts),
        meta=np.vstack(metas),
        meta_b=np.array(meta_bs),
        stance=stance,
        refiner=refiner,
        languages=languages,
    )
    return stack, oof_full, metrics


def _fit_stance(
    examples: list[Example], embeddings: np.ndarray, propaganda: Base | None
) -> tuple[Stance | None, np.ndarray]:
    """The stance model (`classifiers.stack.Stance`) on the written same-topic comments' kinds, with
    out-of-fold values on those rows from the propaganda head's own folds (so the meta model sees the
    same honest values it will see on new comments)."""
    kinds = [e.group if e.source == STANCE_SOURCE and e.group else None for e in examples]
    endorsing = {
        e.group for e in examples if e.source == STANCE_SOURCE and e.group and e.labels.get("propaganda")
    }
    rows = np.array([i for i, k in enumerate(kinds) if k])
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    if propaganda is not None and len(rows):
        position = {int(r): j for j, r in enumerate(propaganda.rows)}
        fold_of = np.full(len(rows), -1)
        for f, (_, test) in enumerate(propaganda.splits):
            test_rows = {int(propaganda.rows[j]) for j in test}
            for k, r in enumerate(rows):
                if int(r) in test_rows and int(r) in position:
                    fold_of[k] = f
        folds = [
            (np.flatnonzero((fold_of != f) & (fold_of >= 0)), np.flatnonzero(fold_of == f))
            for f in range(len(propaganda.splits))
        ]
    return fit_stance(embeddings, kinds, endorsing, folds)


def profiles_card(
    stack: StackHeads | None, encoder: SentenceEncoder | None, refiner_encoder: SentenceEncoder | None = None
) -> dict:
    fast = {"heads": "n-gram heads (word 1-2-grams, char 3-5-grams, cue features)"}
    if stack is None or encoder is None:
        return {"fast": fast}
    full: dict[str, Any] = {
        "encoder": encoder.name,
        "encoder_package": encoder.package,
        "encoder_licence": encoder.licence,
        "stacked_heads": list(stack.names),
        "meta_inputs": list(META_INPUTS),
        "other_heads": "as in the fast profile",
    }
    if stack.refiner is not None and refiner_encoder is not None:
        full["refiner"] = {
            "head": stack.refiner.head,
            "encoder": refiner_encoder.name,
            "encoder_package": refiner_encoder.package,
            "encoder_licence": refiner_encoder.licence,
            "band": list(stack.refiner.band),
            "weight": stack.refiner.weight,
            "meta_inputs": list(REFINER_INPUTS),
            "reads": (
                f"only comments whose stacked {stack.refiner.head} probability is within the band (their "
                "probability: weight x the refined one + the rest x the stack's); the others keep the "
                "stack's probability"
            ),
        }
    if stack.languages is not None and refiner_encoder is not None:
        full["language_heads"] = {
            "languages": list(stack.languages.languages),
            "heads": list(stack.languages.names),
            "encoder": refiner_encoder.name,
            "encoder_package": refiner_encoder.package,
            "encoder_licence": refiner_encoder.licence,
            "weight": stack.languages.weight,
            "reads": (
                "only comments whose language is one of `languages` (the sentence encoder does not read "
                "them): each head's probability is weight x the e5 head's + the rest x the stack's"
            ),
        }
    return {"fast": fast, "full": full}


def new_version(now: datetime) -> str:
    return now.strftime("%Y.%m.%d-%H%M%S")


def train(
    registry_root: Path,
    *,
    licences: Collection[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: ProgressFn | None = None,
    catalogue_dir: Path | None = None,
    exclude: Collection[str] | None = None,
    encoder: SentenceEncoder | None = None,
    refiner_encoder: SentenceEncoder | None = None,
) -> str:
    """Train every head, calibrate on CV, save a new version into the registry and return the version.

    Narratives that site editors added in `catalogue_dir` become features and training examples too.
    `exclude` names corpora (directory names in `classifiers/corpora`, e.g. "germs_at") left out of
    training; the model card lists them. With an `encoder`, the `full` profile's stacked heads are
    trained too (`classifiers.stack`); without one the model has only the `fast` profile. With a
    `refiner_encoder` as well (`classifiers.encoder.E5Encoder`), the full profile's toxicity refiner.
    """
    started = time.perf_counter()
    say: ProgressFn = progress or (lambda _msg: None)
    excluded = sorted(set(exclude or ()))
    unknown = set(excluded) - set(LICENCES)
    if unknown:
        raise ValueError(f"unknown corpora to exclude: {sorted(unknown)} (known: {sorted(LICENCES)})")
    catalogue = load_catalogue(catalogue_dir)
    corpora = load_corpora(licences=licences, quick=quick, seed=seed, semeval_names=catalogue.semeval_names)
    # Filtered after loading, so the corpora that stay are sampled exactly as without `exclude`.
    corpora = {
        name: kept
        for name, items in corpora.items()
        if (kept := [e for e in items if e.source not in excluded])
    }
    if not corpora:
        raise ValueError(
            f"no corpus has a licence in {sorted(licences or [])} and is not excluded ({excluded})"
        )
    examples = [e for items in corpora.values() for e in items]
    use_catalogue = licences is None or "cc0" in licences
    if use_catalogue:
        examples.extend(catalogue_examples(catalogue))
    say(f"loaded {len(examples)} examples from {len(corpora)} corpora")
    if excluded:
        say(f"excluded corpora: {', '.join(excluded)}")

    norms = [normalise(e.text) for e in examples]
    vectorizer = TfidfVectorizer(
        analyzer=analyze,
        min_df=3 if quick else 2,
        max_features=30_000 if quick else 150_000,
        sublinear_tf=True,
        dtype=np.float32,
    )
    sparse = vectorizer.fit_transform([mask_names(n.text) for n in norms])
    dense = dense_matrix([analyse_cues(n, catalogue) for n in norms]) * DENSE_SCALE
    X = sp.hstack([sparse, sp.csr_matrix(dense)], format="csr", dtype=np.float32)
    blind = placeholder_columns(vectorizer.vocabulary_)
    say(f"features: {X.shape[1]} columns ({time.perf_counter() - started:.1f}s)")

    profane_words = catalogue.lexicon_words["profanity"]
    profane = [any(t in profane_words for t in n.text.split()) for n in norms]
    head_names = [*TOXIC_ATTRIBUTES, "threat", "propaganda", "spam", *_technique_heads(examples, catalogue)]
    folds = 3
    groups = cv_groups(examples)
    transfer_scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    jobs = 1 if quick else 2
    coefs: list[np.ndarray] = []
    intercepts: list[float] = []
    calibrations: list[Calibration] = []
    style = tweet_style([e.text for e in examples])
    metrics: dict[str, Any] = {}
    trained: list[str] = []
    oof_by_head: dict[str, np.ndarray] = {}
    labels_by_head: dict[str, np.ndarray] = {}
    bases: dict[str, Base] = {}
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
        domain = np.ones(len(rows), bool)
        if head == "propaganda":
            domain = np.array([examples[i].source in COMMENT_DOMAIN for i in rows])
        splits = group_folds([groups[i] for i in rows], y, folds, seed)
        transfer = transfer_splits([examples[i].source for i in rows]) if head == "toxicity" else []
        X_head = without_columns(X[rows], blind) if head in NAME_BLIND_HEADS else X[rows]
        fitted = fit_head(X_head, y, w, C, splits, jobs, transfer)
        calibration = calibrate_head(head, fitted, y, w, style[rows], domain)
        oof = calibration.apply(fitted.oof, style[rows])
        coefs.append(fitted.coef)
        intercepts.append(fitted.intercept)
        calibrations.append(calibration)
        trained.append(head)
        metrics[head] = head_metrics(head, rows, y, oof, examples)
        for name, (test, values) in fitted.transfer.items():
            transfer_scores[name] = (rows[test], calibration.apply(values, style[rows][test]))
        oof_by_head[head] = np.full(len(examples), np.nan)
        oof_by_head[head][rows] = oof
        labels_by_head[head] = np.full(len(examples), np.nan)
        labels_by_head[head][rows] = y
        if head in STACKED:
            bases[head] = Base(rows, y, w, splits, domain, fitted.oof, fitted.transfer)
        say(f"head {head}: {len(rows)} rows, {int(y.sum())} positive ({time.perf_counter() - started:.1f}s)")

    heads = Heads(
        names=trained,
        coef=np.vstack(coefs).T.astype(np.float32),
        intercept=np.array(intercepts),
        cal_a=np.array([c.a for c in calibrations]),
        cal_b=np.array([c.b for c in calibrations]),
        style_a=np.array([c.style_a for c in calibrations]),
        style_b=np.array([c.style_b for c in calibrations]),
        dense_scale=DENSE_SCALE,
    )
    stack = None
    full_rules: dict = {}
    if encoder is not None:
        stack, oof_full, full_metrics = fit_stack(
            examples, bases, style, encoder, catalogue, jobs, say, started, oof_by_head, refiner_encoder
        )
        metrics["full_profile"] = full_metrics
        full_rules = germeval_rules(examples, oof_full)
        if full_rules:
            metrics["full_profile"]["germeval2018_cv"] = full_rules.pop("metrics")
        g21_full = germeval2021_threshold(examples, oof_full)
        if g21_full is not None:
            full_rules["germeval2021_task1_threshold"] = g21_full
    rules = germeval_rules(examples, oof_by_head)
    if rules:
        metrics["germeval2018_cv"] = rules.pop("metrics")
    g21 = germeval2021_threshold(examples, oof_by_head)
    if g21 is not None:
        rules["germeval2021_task1_threshold"] = g21
    if transfer_scores:
        metrics["toxicity_transfer"] = transfer_metrics(examples, transfer_scores, rules)
    threat_cue = dense[:, DENSE_NAMES.index("threat_cue")] / DENSE_SCALE
    tables = threshold_tables(examples, oof_by_head, labels_by_head, threat_cue)
    if "propaganda" in oof_by_head:
        metrics["propaganda_topic_thresholds"] = topic_thresholds(examples, oof_by_head["propaganda"])
        if stack is not None:
            metrics["full_profile"]["propaganda_topic_thresholds"] = topic_thresholds(
                examples, oof_full["propaganda"]
            )
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
            "excluded_corpora": excluded,
            "features": {
                "analyzer": "classifiers.features.analyze",
                "word_ngrams": [1, 2],
                "char_ngrams": [3, 5],
                "vocabulary": int(sparse.shape[1]),
                "dense": list(DENSE_NAMES),
                "dense_scale": DENSE_SCALE,
            },
            "heads": trained,
            "masked_names": "classifiers.names (countries and leaders, de/en/ru): one placeholder word",
            "C": {h: HEAD_C.get(h, TECHNIQUE_C) for h in trained},
            "calibration": (
                f"Platt scaling on {folds}-fold out-of-fold decision values; toxicity on leave-one-"
                "corpus-out "
                "values of GermEval 2018 and 2021, with its own slope and intercept for tweet-style text"
            ),
            "cv_folds": folds,
            "cv_grouping": "classifiers.validation.cv_groups (reply target, blocks of consecutive rows)",
        },
        "metrics": metrics,
        "decision_rules": rules,
        "decision_rules_full": full_rules,
        "profiles": profiles_card(stack, encoder, refiner_encoder),
        "threshold_tables": tables,
        "threshold_tables_note": (
            "Out-of-fold scores of comment-domain training rows (GermEval 2018/2019/2021, GerMS-AT, "
            "synthetic comments) that carry a label for the head; threat has no labelled corpus, so only "
            "the share flagged is given."
        ),
        "metrics_note": (
            "Cross-validated (out-of-fold, grouped folds) figures on training data only; no test split "
            "read. toxicity_transfer: each corpus scored by a model trained without it; toxicity is "
            "calibrated on these same values, so their ECE is in-sample (AUC is not affected)."
        ),
        "training_seconds": round(time.perf_counter() - started, 1),
        "libraries": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "skops": skops.__version__,
            "numpy": np.__version__,
        },
    }
    version = Registry(registry_root).save(new_version(now), vectorizer, heads, card, stack)
    say(f"saved version {version} ({time.perf_counter() - started:.1f}s)")
    return version
