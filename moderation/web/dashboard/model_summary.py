"""What a moderator and an editor need from a model card: when it was trained, on which data under which
licences, and the few figures that say how well it works, each against the version before it.

Model cards grew over time; every figure is looked up along a list of places (newest card layout first)
and is simply missing when no place has it, so an old or hand-made card still renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext

from moderation.domain.policy import DEFAULT_THRESHOLDS

FREE_LICENCES = ("cc-by-4.0", "mit", "cc0")
TRAIN_FREE = "moderation train --licences " + ",".join(FREE_LICENCES)
PROPAGANDA_HOLD = DEFAULT_THRESHOLDS["propaganda"]["hold"] or 0.4

# (key, label, help, higher is better, paths into card["metrics"])
FIGURES: tuple[tuple[str, Any, Any, bool, tuple[tuple[str, ...], ...]], ...] = (
    (
        "germeval_f1",
        lazy_gettext("GermEval 2018 macro-F1"),
        lazy_gettext("Offensive or not, German tweets, cross-validated on training data (1 = perfect)"),
        True,
        (
            ("germeval2018_cv", "task1_at_threshold", "official_macro_f1"),
            ("toxicity", "germeval2018", "official_macro_f1"),
            ("toxicity_macro_f1",),
        ),
    ),
    (
        "toxicity_auc",
        lazy_gettext("Toxicity ROC AUC"),
        lazy_gettext(
            "How well toxic comments rank above civil ones, GermEval 2018 (1 = perfect, 0.5 = chance)"
        ),
        True,
        (("toxicity", "germeval2018", "roc_auc"), ("toxicity", "all", "roc_auc")),
    ),
    (
        "civil_held",
        lazy_gettext("Civil comments held"),
        lazy_gettext(
            "Share of civil comments on the same topics held as propaganda at the default threshold"
        ),
        False,
        (("propaganda_topic_thresholds", f"@{PROPAGANDA_HOLD}", "civil_held"),),
    ),
    (
        "endorsements_held",
        lazy_gettext("Propaganda narratives caught"),
        lazy_gettext("Share of comments endorsing a propaganda narrative held at the default threshold"),
        True,
        (("propaganda_topic_thresholds", f"@{PROPAGANDA_HOLD}", "endorsements_held"),),
    ),
    (
        "threats",
        lazy_gettext("Threats: macro-F1"),
        lazy_gettext("Threat detection on the labelled threat rows, cross-validated"),
        True,
        (("threat", "written_threats", "official_macro_f1"), ("threat", "all", "official_macro_f1")),
    ),
    (
        "propaganda_f1",
        lazy_gettext("Propaganda macro-F1"),
        lazy_gettext("Propaganda in German reader comments, cross-validated"),
        True,
        (("propaganda", "synthetic_de_comments", "official_macro_f1"), ("propaganda_f1",)),
    ),
    (
        "ece",
        lazy_gettext("Calibration error (ECE)"),
        lazy_gettext(
            "How far a score is from the observed share of toxic comments, GermEval 2018 (0 = perfect)"
        ),
        False,
        (("toxicity", "germeval2018", "ece"), ("toxicity", "all", "ece")),
    ),
)

RESTRICTION_LABELS = {
    "non_commercial": lazy_gettext("non-commercial use only"),
    "research_only": lazy_gettext("research use only"),
    "unstated": lazy_gettext("licence not stated"),
}


@dataclass(frozen=True)
class Corpus:
    name: str
    licence: str
    rows: int | None
    restriction: str | None  # None: free for any use with attribution; else a RESTRICTION_LABELS key


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    help: Any
    value: float
    previous: float | None
    higher_is_better: bool

    @property
    def change(self) -> float | None:
        return None if self.previous is None else self.value - self.previous

    @property
    def improved(self) -> bool | None:
        change = self.change
        if change is None or abs(change) < 0.0005:
            return None
        return (change > 0) == self.higher_is_better


@dataclass(frozen=True)
class Summary:
    version: str
    created: datetime | None
    corpora: list[Corpus]
    figures: list[Figure]
    compared_with: str | None
    quick: bool
    licence_filter: list[str] | None

    @property
    def restricted(self) -> list[Corpus]:
        return [c for c in self.corpora if c.restriction]

    def restricted_by(self, restriction: str) -> list[Corpus]:
        return [c for c in self.corpora if c.restriction == restriction]


def restriction_of(licence: str | None) -> str | None:
    token = (licence or "").strip().lower()
    if token in FREE_LICENCES:
        return None
    if "-nc" in token:
        return "non_commercial"
    if "research" in token:
        return "research_only"
    return "unstated"


def _lookup(metrics: Mapping[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = metrics
    for step in path:
        if step.startswith("@") and isinstance(node, list):
            wanted = float(step[1:])
            node = next(
                (
                    r
                    for r in node
                    if isinstance(r, Mapping) and abs(float(r.get("threshold", -1)) - wanted) < 1e-6
                ),
                None,
            )
        elif isinstance(node, Mapping):
            node = node.get(step)
        else:
            return None
        if node is None:
            return None
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node)


def figures_of(card: Mapping[str, Any]) -> dict[str, float]:
    metrics = card.get("metrics")
    if not isinstance(metrics, Mapping):
        return {}
    out = {}
    for key, _label, _help, _higher, paths in FIGURES:
        value = next((v for v in (_lookup(metrics, p) for p in paths) if v is not None), None)
        if value is not None:
            out[key] = value
    return out


def corpora_of(card: Mapping[str, Any]) -> list[Corpus]:
    raw = card.get("corpora") or card.get("training_corpora") or []
    out = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, Mapping):
            name, licence = str(entry.get("name") or "?"), str(entry.get("licence") or "unstated")
            rows = entry.get("rows_used")
            out.append(
                Corpus(name, licence, rows if isinstance(rows, int) else None, restriction_of(licence))
            )
        else:
            out.append(Corpus(str(entry), "unstated", None, "unstated"))
    return out


def _created(card: Mapping[str, Any]) -> datetime | None:
    raw = card.get("created")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def summarize(
    version: str, card: Mapping[str, Any], previous: tuple[str, Mapping[str, Any]] | None
) -> Summary:
    """The summary of `version`, its figures compared with `previous` (version, card) when given."""
    own = figures_of(card)
    before = figures_of(previous[1]) if previous else {}
    figures = [
        Figure(key, label, help_text, own[key], before.get(key), higher)
        for key, label, help_text, higher, _paths in FIGURES
        if key in own
    ]
    parameters = card.get("parameters") if isinstance(card.get("parameters"), Mapping) else {}
    licence_filter = parameters.get("licence_filter") if isinstance(parameters, Mapping) else None
    return Summary(
        version=version,
        created=_created(card),
        corpora=corpora_of(card),
        figures=figures,
        compared_with=previous[0] if previous else None,
        quick=bool(isinstance(parameters, Mapping) and parameters.get("quick")),
        licence_filter=list(licence_filter) if isinstance(licence_filter, list) else None,
    )


def summaries(versions: Sequence[Any]) -> list[Summary]:
    """Summaries of model versions (rows with `version` and `card`, newest first), each compared with the
    version registered before it."""
    out = []
    for index, row in enumerate(versions):
        card = row.card if isinstance(row.card, Mapping) else {}
        older = versions[index + 1] if index + 1 < len(versions) else None
        previous = (older.version, older.card if isinstance(older.card, Mapping) else {}) if older else None
        out.append(summarize(row.version, card, previous))
    return out


def flat_metrics(metrics: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every number in the card's metrics with its path ("toxicity › germeval2018 › ece"), for the folded
    raw table: lists of rows are named by their first field."""
    out: list[tuple[str, Any]] = []
    if isinstance(metrics, Mapping):
        for key in sorted(metrics):
            out.extend(flat_metrics(metrics[key], f"{prefix} › {key}" if prefix else str(key)))
    elif isinstance(metrics, list):
        for index, item in enumerate(metrics):
            name = str(next(iter(item.values()))) if isinstance(item, Mapping) and item else str(index)
            out.extend(flat_metrics(item, f"{prefix} › {name}"))
    elif isinstance(metrics, str) or (isinstance(metrics, int | float) and not isinstance(metrics, bool)):
        out.append((prefix, metrics))
    return out
