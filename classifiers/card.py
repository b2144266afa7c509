"""Model-card figures computed at training time from out-of-fold (cross-validated) scores.

Everything here sees training rows only: per-source CV metrics, the GermEval decision rules, the
threshold tables that policy defaults are set from, and the corpora listing.
"""

from __future__ import annotations

import numpy as np

from classifiers.corpora import LICENCES, Example, file_digests
from classifiers.evaluation import (
    binary_report,
    choose_germeval_rules,
    germeval_coarse,
    germeval_fine,
    multiclass_report,
    official_macro_f1,
    threshold_table,
)

TOXIC_ATTRIBUTES = ("toxicity", "insult", "profanity", "identity_attack")
# Reader comments: the rows whose score distribution a site's policy thresholds act on.
THRESHOLD_DOMAIN = ("germeval2018", "germeval2019", "germeval2021", "germs_at", "synthetic_de_comments")
THRESHOLD_HEADS = ("toxicity", "propaganda", "spam", "identity_attack", "insult", "threat")


def threshold_tables(
    examples: list[Example],
    oof: dict[str, np.ndarray],
    labelled: dict[str, np.ndarray],
    threat_cue: np.ndarray,
) -> dict[str, list[dict]]:
    """Per head: share flagged, precision and recall at fixed thresholds on comment-domain OOF scores.

    `oof[head]` holds out-of-fold probabilities (NaN where the head had no label), `labelled[head]` the
    0/1 labels (NaN likewise). Threat has no labelled corpus: its table gives the share flagged by
    OOF toxicity x threat cue (as the scorer computes it) and no precision or recall.
    """
    domain = np.array([e.source in THRESHOLD_DOMAIN for e in examples])
    tables: dict[str, list[dict]] = {}
    for head in THRESHOLD_HEADS:
        if head == "threat" and head in oof:
            # The threat head's own labels (the written threats and their hard negatives).
            keep = ~np.isnan(labelled[head]) & ~np.isnan(oof[head])
            tables[head] = threshold_table(labelled[head][keep].astype(int), oof[head][keep])
            continue
        if head == "threat":
            if "toxicity" not in oof:
                continue
            keep = domain & ~np.isnan(oof["toxicity"])
            scores = oof["toxicity"][keep] * threat_cue[keep]
            tables[head] = [
                {"threshold": row["threshold"], "flagged": row["flagged"], "precision": None, "recall": None}
                for row in threshold_table(np.zeros(len(scores), dtype=int), scores)
            ]
            continue
        if head not in oof:
            continue
        keep = domain & ~np.isnan(oof[head])
        if keep.sum() == 0:
            continue
        tables[head] = threshold_table(labelled[head][keep].astype(int), oof[head][keep])
    return tables


def germeval2021_threshold(examples: list[Example], oof: dict[str, np.ndarray]) -> float | None:
    """The toxicity threshold with the best official macro-F1 on GermEval 2021 training rows (OOF)."""
    if "toxicity" not in oof:
        return None
    idx = np.array([i for i, e in enumerate(examples) if e.source == "germeval2021"])
    if len(idx) == 0 or np.isnan(oof["toxicity"][idx]).any():
        return None
    y = [int(examples[i].labels["toxicity"]) for i in idx]
    scores = oof["toxicity"][idx]
    candidates = np.round(np.arange(0.2, 0.71, 0.025), 3)
    return float(max(candidates, key=lambda t: official_macro_f1(y, (scores >= t).astype(int).tolist())))


def transfer_metrics(
    examples: list[Example], scores: dict[str, tuple[np.ndarray, np.ndarray]], rules: dict
) -> dict[str, dict]:
    """Leave-one-corpus-out toxicity figures, at 0.5 and at the corpus's decision threshold.

    `scores[corpus]` holds example indices and calibrated probabilities from a model trained without
    that corpus.
    """
    thresholds = {
        "germeval2018": rules.get("germeval_task1_threshold"),
        "germeval2021": rules.get("germeval2021_task1_threshold"),
    }
    out: dict[str, dict] = {}
    for corpus, (idx, prob) in scores.items():
        y = np.array([examples[i].labels["toxicity"] for i in idx], dtype=int)
        out[corpus] = {"at_0.5": binary_report(y, prob)}
        threshold = thresholds.get(corpus)
        if threshold is not None:
            out[corpus]["at_threshold"] = binary_report(y, prob, threshold)
    return out


def head_metrics(
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


def germeval_rules(examples: list[Example], oof: dict[str, np.ndarray]) -> dict:
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


def corpora_card(
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


def topic_thresholds(examples: list[Example], oof: np.ndarray) -> list[dict]:
    """On the written same-topic comments (out-of-fold): per propaganda threshold, the share of civil
    comments and of narrative endorsements at or above it (what a default hold threshold is chosen on)."""
    rows = [
        i for i, e in enumerate(examples) if e.source == "written_topic_comments" and not np.isnan(oof[i])
    ]
    if not rows:
        return []
    y = np.array([examples[i].labels["propaganda"] for i in rows])
    p = oof[rows]
    out = []
    for t in np.arange(0.3, 0.851, 0.05):
        out.append(
            {
                "threshold": round(float(t), 2),
                "civil_held": round(float((p[y == 0] >= t).mean()), 4),
                "endorsements_held": round(float((p[y == 1] >= t).mean()), 4),
            }
        )
    return out
