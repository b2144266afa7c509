"""Model cards for dashboard tests, shaped as `moderation train` writes them."""

from __future__ import annotations


def model_card(created: str, germeval_f1: float, civil_held: float) -> dict[str, object]:
    """A model card as `moderation train` writes it (the parts the models page reads), trained on every
    corpus: non-commercial, research-only and unstated licences included."""
    return {
        "created": created,
        "corpora": [
            {"name": "germeval2018", "licence": "cc-by-4.0", "rows_used": 5009},
            {"name": "germeval2019", "licence": "unstated", "rows_used": 3995},
            {"name": "germs_at", "licence": "cc-by-nc-sa-4.0", "rows_used": 5998},
            {"name": "semeval2021_task6", "licence": "research-only", "rows_used": 951},
            {"name": "synthetic_de_comments", "licence": "cc0", "rows_used": 2400},
        ],
        "parameters": {"quick": False, "licence_filter": None},
        "metrics": {
            "germeval2018_cv": {"task1_at_threshold": {"official_macro_f1": germeval_f1, "n": 5009}},
            "toxicity": {"germeval2018": {"official_macro_f1": 0.762, "roc_auc": 0.848, "ece": 0.03}},
            "threat": {"all": {"official_macro_f1": 0.81, "roc_auc": 0.93}},
            "propaganda": {"synthetic_de_comments": {"official_macro_f1": 0.739}},
            "propaganda_topic_thresholds": [
                {"threshold": 0.35, "civil_held": civil_held + 0.04, "endorsements_held": 0.9},
                {"threshold": 0.4, "civil_held": civil_held, "endorsements_held": 0.86},
            ],
        },
    }
