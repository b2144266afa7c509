from __future__ import annotations

import numpy as np
import pytest

from classifiers.evaluation import (
    binary_report,
    choose_germeval_rules,
    expected_calibration_error,
    germeval_coarse,
    germeval_fine,
    official_macro_f1,
    threshold_table,
)
from classifiers.reporting import policy_table


def test_official_macro_f1_is_harmonic_mean_of_macro_precision_and_recall() -> None:
    y_true = ["OFFENSE", "OFFENSE", "OTHER", "OTHER", "OTHER", "OTHER"]
    y_pred = ["OFFENSE", "OTHER", "OTHER", "OTHER", "OTHER", "OFFENSE"]
    # precision: OFFENSE 1/2, OTHER 3/4 -> 0.625; recall: OFFENSE 1/2, OTHER 3/4 -> 0.625
    assert official_macro_f1(y_true, y_pred) == pytest.approx(0.625)
    y_pred = ["OFFENSE", "OFFENSE", "OFFENSE", "OTHER", "OTHER", "OTHER"]
    precision = (2 / 3 + 1) / 2
    recall = (1 + 3 / 4) / 2
    assert official_macro_f1(y_true, y_pred) == pytest.approx(2 * precision * recall / (precision + recall))


def test_ece_is_zero_when_calibrated_and_large_when_not() -> None:
    assert expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.0)
    assert expected_calibration_error([0, 0, 0, 0], [0.95, 0.95, 0.95, 0.95]) == pytest.approx(0.95)


def test_binary_report_fields() -> None:
    report = binary_report([0, 1, 1, 0], [0.1, 0.9, 0.6, 0.4])
    assert report["official_macro_f1"] == 1.0
    assert report["roc_auc"] == 1.0
    assert set(report) >= {"n", "positives", "sklearn_macro_f1", "ece"}


def test_germeval_rules_are_chosen_to_separate_the_subtypes() -> None:
    scores = {
        "toxicity": np.array([0.1, 0.2, 0.9, 0.8, 0.7, 0.95]),
        "identity_attack": np.array([0.0, 0.1, 0.6, 0.1, 0.1, 0.2]),
        "insult": np.array([0.1, 0.1, 0.7, 0.9, 0.3, 0.8]),
        "profanity": np.array([0.0, 0.0, 0.1, 0.1, 0.2, 0.1]),
    }
    coarse = ["OTHER", "OTHER", "OFFENSE", "OFFENSE", "OFFENSE", "OFFENSE"]
    fine = ["OTHER", "OTHER", "ABUSE", "INSULT", "PROFANITY", "INSULT"]
    chosen = choose_germeval_rules(coarse, fine, scores)
    assert chosen["task1"]["official_macro_f1"] == 1.0
    assert germeval_coarse(scores["toxicity"], chosen["task1"]["threshold"]) == coarse
    assert germeval_fine(scores, chosen["task2"]["rule"]) == fine


def test_threshold_and_policy_tables() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.35, 0.92, 0.45, 0.93, 0.97])
    rows = {r["threshold"]: r for r in threshold_table(y, p, (0.3, 0.95))}
    assert rows[0.3] == {"threshold": 0.3, "flagged": round(5 / 6, 4), "precision": 0.6, "recall": 1.0}
    assert rows[0.95] == {
        "threshold": 0.95,
        "flagged": round(1 / 6, 4),
        "precision": 1.0,
        "recall": round(1 / 3, 4),
    }
    for row in policy_table(y, p, reject=0.9, holds=(0.3, 0.95)):
        assert row["approved"] + row["held"] + row["rejected"] == pytest.approx(1.0, abs=1e-3)
        assert row["rejected"] == 0.5 and row["wrongly_rejected"] == 1
    low, high = policy_table(y, p, reject=0.9, holds=(0.3, 0.95))
    assert (low["approved"], low["missed"]) == (round(1 / 6, 4), 0)
    assert (high["approved"], high["held"], high["missed"]) == (0.5, 0.0, 1)
