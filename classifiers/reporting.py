"""Evaluation reports: a model's scores against labelled data, as a JSON-ready dict, a text table and plots.

Two entry points: `evaluate_binary` for any labelled file (read with `read_labelled`), and `run_suite`
for the standard report on the held-out test splits. Both are for reporting a model version once; they
never feed back into training or threshold choice (thresholds come from the model card, chosen on CV).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from classifiers.evaluation import (
    TABLE_THRESHOLDS,
    binary_report,
    germeval_coarse,
    germeval_fine,
    multiclass_report,
    reliability_bins,
    threshold_table,
)
from classifiers.heldout import HELDOUT_DIR, suite
from classifiers.scoring import Scorer, ScoreResult

HEADS = ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")


class LabelledFileError(ValueError):
    """The labelled file cannot be read as asked (format, missing column, no rows)."""


def read_labelled(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and raw label strings from a CSV, TSV (by extension; both with a header row) or JSONL file."""
    suffix = path.suffix.lower()
    content = path.read_text(encoding="utf-8-sig")
    if suffix in (".jsonl", ".ndjson"):
        rows = [json.loads(line) for line in content.splitlines() if line.strip()]
    elif suffix in (".csv", ".tsv", ".txt"):
        delimiter = "," if suffix == ".csv" else "\t"
        rows = list(csv.DictReader(io.StringIO(content), delimiter=delimiter))
    else:
        raise LabelledFileError(f"unsupported file type {suffix!r}: use .csv, .tsv or .jsonl")
    if not rows:
        raise LabelledFileError(f"{path} holds no rows")
    for column in (text_col, label_col):
        if column not in rows[0]:
            raise LabelledFileError(f"no column {column!r} in {path} (found: {', '.join(map(str, rows[0]))})")
    texts = [str(row[text_col] or "") for row in rows]
    labels = [str(row[label_col]).strip() for row in rows]
    return texts, labels


def binarise(labels: Sequence[str], positive: Sequence[str]) -> np.ndarray:
    wanted = {p.strip().casefold() for p in positive}
    return np.array([label.casefold() in wanted for label in labels], dtype=int)


def head_scores(results: Sequence[ScoreResult], head: str) -> np.ndarray:
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; one of {', '.join(HEADS)}")
    return np.array([getattr(r, head) for r in results], dtype=float)


def policy_table(
    y: np.ndarray, p: np.ndarray, reject: float, holds: Sequence[float] = TABLE_THRESHOLDS
) -> list[dict[str, float]]:
    """What a policy would do with these rows: approve below `hold`, reject from `reject`, hold between.

    `missed` counts positives approved, `wrongly_rejected` negatives rejected.
    """
    rows = []
    rejected = p >= reject
    for hold, flag_row in zip(holds, threshold_table(y, p, holds), strict=True):
        approved = (p < hold) & ~rejected  # the policy rejects before it holds or approves
        rows.append(
            {
                "hold": float(hold),
                "reject": float(reject),
                "approved": round(float(approved.mean()), 4),
                "held": round(float((~approved & ~rejected).mean()), 4),
                "rejected": round(float(rejected.mean()), 4),
                "precision": flag_row["precision"],
                "recall": flag_row["recall"],
                "missed": int((approved & (y == 1)).sum()),
                "wrongly_rejected": int((rejected & (y == 0)).sum()),
            }
        )
    return rows


def evaluate_binary(
    y: np.ndarray,
    p: np.ndarray,
    *,
    name: str,
    threshold: float,
    reject: float,
    out_dir: Path | None,
) -> dict:
    """Figures at `threshold` plus threshold/policy tables and calibration bins; plots into `out_dir`."""
    report: dict = binary_report(y, p, threshold)
    if 0 < y.sum() < len(y):
        report["average_precision"] = round(float(average_precision_score(y, p)), 4)
    report["threshold_table"] = threshold_table(y, p)
    report["policy_table"] = policy_table(y, p, reject)
    report["reliability"] = reliability_bins(y, p)
    if out_dir is not None:
        from classifiers.plots import plot_binary  # matplotlib only when plots are asked for

        paths = plot_binary(y, p, out_dir, name, name, report["policy_table"])
        report["plots"] = [path.name for path in paths]
    return report


def run_suite(scorer: Scorer, out_dir: Path | None, *, reject: float, root: Path = HELDOUT_DIR) -> dict:
    """The standard report: GermEval 2018 test Task 1 and 2, GermEval 2021 test Task 1, SemEval-2021
    Task 6 dev (propaganda), at the decision thresholds stored in the model card (chosen on CV)."""
    rules = scorer.card.get("decision_rules") or {}
    if scorer.profile == "full" and scorer.card.get("decision_rules_full"):
        rules = scorer.card["decision_rules_full"]  # chosen on the full profile's own CV scores
    task1_threshold = float(rules.get("germeval_task1_threshold", 0.5))
    g21_threshold = float(rules.get("germeval2021_task1_threshold", 0.5))
    tasks: dict[str, dict] = {}
    for dataset in suite(root):
        results = scorer.score(dataset.texts)
        if dataset.name == "germeval2018_test":
            tox = head_scores(results, "toxicity")
            coarse = dataset.labels["coarse"]
            y = np.array([c == "OFFENSE" for c in coarse], dtype=int)
            task1 = multiclass_report(coarse, germeval_coarse(tox, task1_threshold))
            tasks["germeval2018_task1"] = {
                **task1,
                "threshold": task1_threshold,
                "toxicity": evaluate_binary(
                    y,
                    tox,
                    name="germeval2018_toxicity",
                    threshold=task1_threshold,
                    reject=reject,
                    out_dir=out_dir,
                ),
            }
            if "germeval_task2_rule" in rules:
                scores = {
                    h: head_scores(results, h) for h in ("toxicity", "identity_attack", "insult", "profanity")
                }
                tasks["germeval2018_task2"] = {
                    **multiclass_report(
                        dataset.labels["fine"], germeval_fine(scores, rules["germeval_task2_rule"])
                    ),
                    "rule": rules["germeval_task2_rule"],
                }
        elif dataset.name == "germeval2021_test":
            tox = head_scores(results, "toxicity")
            y = np.array([label == "1" for label in dataset.labels["toxic"]], dtype=int)
            tasks["germeval2021_task1"] = evaluate_binary(
                y, tox, name="germeval2021_toxicity", threshold=g21_threshold, reject=reject, out_dir=out_dir
            )
        else:
            prop = head_scores(results, "propaganda")
            y = np.array([label == "1" for label in dataset.labels["propaganda"]], dtype=int)
            tasks["semeval2021_dev_propaganda"] = evaluate_binary(
                y, prop, name="semeval2021_propaganda", threshold=0.5, reject=reject, out_dir=out_dir
            )
        tasks[next(reversed(tasks))]["source"] = dataset.source
    return tasks


SUMMARY_COLUMNS = ("n", "threshold", "official_macro_f1", "sklearn_macro_f1", "roc_auc", "ece")


def summary_rows(tasks: dict[str, dict]) -> list[dict[str, object]]:
    """One flat row per task for the printed table (nested toxicity figures lifted for GermEval 2018)."""
    rows = []
    for name, task in tasks.items():
        row: dict[str, object] = {"task": name}
        nested = task.get("toxicity", {})
        for column in SUMMARY_COLUMNS:
            row[column] = task.get(column, nested.get(column) if column in ("roc_auc", "ece") else None)
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict[str, object]]) -> str:
    columns = list(rows[0]) if rows else ["task"]
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
