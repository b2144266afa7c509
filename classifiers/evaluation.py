"""Pure evaluation functions: GermEval's official macro-F1, expected calibration error, report dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import f1_score, roc_auc_score


def official_macro_f1(y_true: Sequence, y_pred: Sequence) -> float:
    """GermEval 2018/2019 official score: harmonic mean of macro-precision and macro-recall.

    This differs from sklearn's macro-F1 (the mean of per-class F1 scores). Classes are those seen in
    either sequence; a class never predicted has precision 0 (as in the official script).
    """
    labels, codes = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]), return_inverse=True)
    n = len(y_true)
    return _official_from_codes(codes[:n], codes[n:], len(labels))


def _official_from_codes(true: np.ndarray, pred: np.ndarray, k: int) -> float:
    confusion = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    confusion = confusion[present][:, present]
    k = len(confusion)
    tp = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0).mean()
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0).mean()
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def expected_calibration_error(y_true: ArrayLike, prob: ArrayLike, bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of |accuracy - confidence| weighted by bin size."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(prob, dtype=float)
    if len(y) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(total)


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin: mean predicted probability, observed positive rate and row count."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "mean_predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                    "n": int(mask.sum()),
                }
            )
    return out


TABLE_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def threshold_table(
    y: np.ndarray, p: np.ndarray, thresholds: Sequence[float] = TABLE_THRESHOLDS
) -> list[dict[str, float]]:
    """Share of rows flagged (score >= threshold), precision and recall at each threshold."""
    rows = []
    positives = max(int(y.sum()), 1)
    for t in thresholds:
        flagged = p >= t
        hits = int((flagged & (y == 1)).sum())
        rows.append(
            {
                "threshold": float(t),
                "flagged": round(float(flagged.mean()), 4),
                "precision": round(hits / int(flagged.sum()), 4) if flagged.any() else 1.0,
                "recall": round(hits / positives, 4),
            }
        )
    return rows


def binary_report(y_true: ArrayLike, prob: ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """Official and sklearn macro-F1, ROC AUC and ECE for a binary task at one threshold."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(prob, dtype=float)
    pred = (p >= threshold).astype(int)
    report = {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "official_macro_f1": round(official_macro_f1(y.tolist(), pred.tolist()), 4),
        "sklearn_macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "ece": round(expected_calibration_error(y, p), 4),
        "threshold": threshold,
    }
    if 0 < y.sum() < len(y):
        report["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
    return report


def multiclass_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    return {
        "n": len(y_true),
        "official_macro_f1": round(official_macro_f1(list(y_true), list(y_pred)), 4),
        "sklearn_macro_f1": round(
            float(f1_score(list(y_true), list(y_pred), average="macro", zero_division=0)), 4
        ),
    }


FINE_LABELS = ("OTHER", "ABUSE", "INSULT", "PROFANITY")


def germeval_coarse(toxicity: ArrayLike, threshold: float) -> list[str]:
    """GermEval Task 1 labels from toxicity probabilities."""
    return ["OFFENSE" if p >= threshold else "OTHER" for p in np.asarray(toxicity, dtype=float)]


def _fine_codes(scores: Mapping[str, ArrayLike], rule: dict[str, float]) -> np.ndarray:
    """0 = OTHER, 1 = ABUSE, 2 = INSULT, 3 = PROFANITY (indices into FINE_LABELS)."""
    toxicity = np.asarray(scores["toxicity"], dtype=float)
    subtypes = np.vstack(
        [
            np.asarray(scores["identity_attack"], dtype=float) * rule["abuse"],
            np.asarray(scores["insult"], dtype=float) * rule["insult"],
            np.asarray(scores["profanity"], dtype=float) * rule["profanity"],
        ]
    )
    return np.where(toxicity < rule["threshold"], 0, np.argmax(subtypes, axis=0) + 1)


def germeval_fine(scores: Mapping[str, ArrayLike], rule: dict[str, float]) -> list[str]:
    """GermEval Task 2 labels: OTHER below the Task 1 threshold, else the strongest weighted subtype.

    `scores` holds arrays for "toxicity", "identity_attack" (ABUSE), "insult" and "profanity"; `rule`
    holds "threshold" and the weights "abuse", "insult", "profanity" (chosen on cross-validation).
    """
    return [FINE_LABELS[c] for c in _fine_codes(scores, rule)]


def choose_germeval_rules(
    y_coarse: Sequence[str], y_fine: Sequence[str], scores: dict[str, ArrayLike]
) -> dict:
    """Pick the Task 1 threshold and the Task 2 subtype weights that maximise the official macro-F1.

    Meant for out-of-fold (cross-validated) scores on training data, never for test data.
    """
    toxicity = np.asarray(scores["toxicity"], dtype=float)
    coarse = np.array([label == "OFFENSE" for label in y_coarse], dtype=int)
    fine = np.array([FINE_LABELS.index(label) for label in y_fine])
    thresholds = np.round(np.arange(0.2, 0.71, 0.025), 3)
    task1 = max((_official_from_codes(coarse, (toxicity >= t).astype(int), 2), float(t)) for t in thresholds)
    best_rule: dict[str, float] = {}
    best_f1 = -1.0
    grid = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
    for t in thresholds:
        for abuse in grid:
            for profanity in (*grid, 4.0, 6.0):
                rule = {"threshold": float(t), "abuse": abuse, "insult": 1.0, "profanity": profanity}
                f1 = _official_from_codes(fine, _fine_codes(scores, rule), 4)
                if f1 > best_f1:
                    best_f1, best_rule = f1, rule
    return {
        "task1": {"threshold": task1[1], "official_macro_f1": round(task1[0], 4)},
        "task2": {"rule": best_rule, "official_macro_f1": round(best_f1, 4)},
    }
